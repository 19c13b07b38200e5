// Kubernetes Events on the objects the operator manages (kubectl describe shows them).
// Recording never blocks a reconcile: events go through a small queue sent in the background.
// The same Warning (object, reason, message) within a window is sent once, so a failure retried with
// backoff does not flood the API server. Callers never put secret values in messages.
import { hostname } from 'node:os';
import type { Logger } from '../observe/log.ts';
import type { KubeClient } from './client.ts';
import type { KubeObject } from './types.ts';

export type EventType = 'Normal' | 'Warning';

export interface RecordedEvent {
  involved: { apiVersion: string; kind: string; name: string; namespace: string; uid: string };
  type: EventType;
  reason: string;
  message: string;
}

const component = 'integration-operator';

export class EventRecorder {
  private readonly client: KubeClient;
  private readonly log: Logger;
  private readonly queue: RecordedEvent[] = [];
  private readonly recent = new Map<string, number>();
  private readonly windowMs: number;
  private readonly concurrency: number;
  private active = 0;
  private readonly instance = hostname();
  private idleWaiters: Array<() => void> = [];
  /** Events sent (for tests and metrics). */
  sent = 0;
  private seq = 0;

  constructor(opts: { client: KubeClient; log: Logger; dedupeWindowMs?: number; concurrency?: number }) {
    this.client = opts.client;
    this.log = opts.log;
    this.windowMs = opts.dedupeWindowMs ?? 5 * 60_000;
    this.concurrency = opts.concurrency ?? 4;
  }

  record(obj: KubeObject, type: EventType, reason: string, message: string): void {
    const m = obj.metadata;
    if (!m.name || !m.namespace || !m.uid) return;
    const ev: RecordedEvent = {
      involved: {
        apiVersion: obj.apiVersion ?? '',
        kind: obj.kind ?? '',
        name: m.name,
        namespace: m.namespace,
        uid: m.uid,
      },
      type,
      reason,
      message: message.length > 1024 ? `${message.slice(0, 1023)}…` : message,
    };
    // Warnings repeat while a failing step is retried with backoff: send each once per window.
    // Normal events are transitions, each worth recording.
    if (type === 'Warning') {
      const key = `${m.uid}\u0000${reason}\u0000${ev.message}`;
      const now = Date.now();
      const last = this.recent.get(key);
      if (last !== undefined && now - last < this.windowMs) return;
      this.recent.set(key, now);
      if (this.recent.size > 20_000) this.prune(now);
    }
    this.queue.push(ev);
    this.pump();
  }

  private prune(now: number): void {
    for (const [k, t] of this.recent) if (now - t >= this.windowMs) this.recent.delete(k);
  }

  private pump(): void {
    while (this.active < this.concurrency && this.queue.length) {
      const ev = this.queue.shift()!;
      this.active++;
      void this.send(ev).finally(() => {
        this.active--;
        this.pump();
        if (this.active === 0 && this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    }
  }

  private async send(ev: RecordedEvent): Promise<void> {
    const now = new Date();
    const ts = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
    try {
      await this.client.request({
        method: 'POST',
        path: `/api/v1/namespaces/${encodeURIComponent(ev.involved.namespace)}/events`,
        body: {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: {
            // client-go's naming (name.<nanoseconds in hex>), made unique within this process by a
            // counter: two events on one object in the same millisecond must not collide.
            name: `${ev.involved.name}.${(BigInt(now.getTime()) * 1_000_000n + BigInt(this.seq++ % 1_000_000)).toString(16)}`,
            namespace: ev.involved.namespace,
          },
          involvedObject: { ...ev.involved },
          reason: ev.reason,
          message: ev.message,
          type: ev.type,
          source: { component },
          reportingComponent: component,
          reportingInstance: this.instance,
          firstTimestamp: ts,
          lastTimestamp: ts,
          count: 1,
        },
      });
      this.sent++;
    } catch (err) {
      // Events are best effort: a namespace being deleted refuses them, for example.
      this.log.debug('could not record an event', { err, reason: ev.reason, object: ev.involved.name });
    }
  }

  /** Resolves when every queued event has been sent (tests, graceful shutdown). */
  flush(): Promise<void> {
    if (this.active === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }
}
