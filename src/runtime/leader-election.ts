// Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules:
// - a lease held by another identity is considered expired only when its record has not changed
//   for leaseDuration as observed by OUR clock (no trust in other machines' clocks);
// - writes are guarded by resourceVersion (409 = someone else won the race);
// - the leader renews every retryPeriod and gives up (stops leading) when it could not renew
//   within renewDeadline; leaseDuration > renewDeadline > retryPeriod * 1.2 (default 15 s / 10 s / 2 s);
// - on graceful shutdown the lease is released so a standby takes over at once.
import type { KubeClient } from '../kube/client.ts';
import { abortableDelay } from '../kube/client.ts';
import { isConflict, isNotFound } from '../kube/errors.ts';
import type { Logger } from '../observe/log.ts';
import type { Clock } from './queue.ts';
import { realClock } from './queue.ts';

export interface LeaseRecord {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface LeaseStore {
  get(): Promise<{ record: LeaseRecord; resourceVersion: string } | undefined>;
  create(record: LeaseRecord): Promise<void>;
  /** Throws an error for which `isConflict` is true when resourceVersion is stale. */
  update(record: LeaseRecord, resourceVersion: string): Promise<void>;
}

export interface LeaderElectorOptions {
  identity: string;
  store: LeaseStore;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  clock?: Clock;
  /** Wall-clock time for the record's timestamps (informational only). */
  wallNow?: () => Date;
  log: Logger;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function validateTimings(leaseMs: number, renewMs: number, retryMs: number): void {
  if (!(leaseMs > renewMs))
    throw new Error('leader election: leaseDuration must be greater than renewDeadline');
  if (!(renewMs > retryMs * 1.2))
    throw new Error('leader election: renewDeadline must exceed retryPeriod * 1.2');
}

function sameRecord(a: LeaseRecord | undefined, b: LeaseRecord | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

export class LeaderElector {
  readonly identity: string;
  private readonly store: LeaseStore;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  private readonly clock: Clock;
  private readonly wallNow: () => Date;
  private readonly log: Logger;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private observedRecord: LeaseRecord | undefined;
  private observedVersion: string | undefined;
  private observedTime = 0;
  private leading = false;

  constructor(opts: LeaderElectorOptions) {
    this.identity = opts.identity;
    this.store = opts.store;
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    validateTimings(this.leaseDurationMs, this.renewDeadlineMs, this.retryPeriodMs);
    this.clock = opts.clock ?? realClock;
    this.wallNow = opts.wallNow ?? (() => new Date());
    this.log = opts.log;
    this.sleep = opts.sleep ?? abortableDelay;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** One attempt to acquire or renew. True when we hold the lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.clock.now();
    const wall = microTime(this.wallNow());
    const existing = await this.store.get();
    if (!existing) {
      const record: LeaseRecord = {
        holderIdentity: this.identity,
        leaseDurationSeconds: Math.round(this.leaseDurationMs / 1000),
        acquireTime: wall,
        renewTime: wall,
        leaseTransitions: 0,
      };
      try {
        await this.store.create(record);
      } catch (err) {
        if (isConflict(err)) return false; // AlreadyExists: someone created it first
        throw err;
      }
      this.observedRecord = record;
      this.observedTime = now;
      return true;
    }
    const current = existing.record;
    // Any write to the Lease (a renewal) changes its resourceVersion: that is what "the record
    // changed" means, whatever the timestamps inside say.
    if (existing.resourceVersion !== this.observedVersion || !sameRecord(current, this.observedRecord)) {
      this.observedRecord = current;
      this.observedVersion = existing.resourceVersion;
      this.observedTime = now;
    }
    const holder = current.holderIdentity ?? '';
    const durationMs = (current.leaseDurationSeconds ?? this.leaseDurationMs / 1000) * 1000;
    if (holder !== '' && holder !== this.identity && this.observedTime + durationMs > now) {
      return false; // held by another and not expired by our clock
    }
    const ours = holder === this.identity;
    const record: LeaseRecord = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.round(this.leaseDurationMs / 1000),
      acquireTime: ours && current.acquireTime ? current.acquireTime : wall,
      renewTime: wall,
      leaseTransitions: (current.leaseTransitions ?? 0) + (ours ? 0 : 1),
    };
    try {
      await this.store.update(record, existing.resourceVersion);
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
    this.observedRecord = record;
    this.observedVersion = undefined; // our write's version is unknown until the next read
    this.observedTime = now;
    return true;
  }

  private async attempt(): Promise<boolean> {
    try {
      return await this.tryAcquireOrRenew();
    } catch (err) {
      this.log.warn('leader election: lease request failed', { err });
      return false;
    }
  }

  /**
   * Blocks until this instance leads (resolves true) or the signal aborts (false).
   */
  async acquire(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      if (await this.attempt()) {
        this.leading = true;
        this.log.info('leader election: acquired the lease', { identity: this.identity });
        return true;
      }
      try {
        await this.sleep(this.retryPeriodMs * (1 + Math.random() * 0.2), signal);
      } catch {
        return false;
      }
    }
    return false;
  }

  /**
   * Renews until the signal aborts (then releases the lease and resolves 'stopped') or a renewal
   * could not succeed within renewDeadline (resolves 'lost': the caller must stop leading at once).
   */
  async hold(signal: AbortSignal): Promise<'stopped' | 'lost'> {
    while (!signal.aborted) {
      const deadline = this.clock.now() + this.renewDeadlineMs;
      let renewed = false;
      while (!signal.aborted && this.clock.now() < deadline) {
        if (await this.attempt()) {
          renewed = true;
          break;
        }
        try {
          await this.sleep(this.retryPeriodMs, signal);
        } catch {
          break;
        }
      }
      if (signal.aborted) break;
      if (!renewed) {
        this.leading = false;
        this.log.error('leader election: could not renew the lease within the deadline: stepping down', {
          identity: this.identity,
        });
        return 'lost';
      }
      try {
        await this.sleep(this.retryPeriodMs, signal);
      } catch {
        break;
      }
    }
    await this.release();
    return 'stopped';
  }

  /** Gives the lease up (holder cleared, 1 s duration) so a standby can take over immediately. */
  async release(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    try {
      const existing = await this.store.get();
      if (!existing || existing.record.holderIdentity !== this.identity) return;
      const wall = microTime(this.wallNow());
      await this.store.update(
        { ...existing.record, holderIdentity: '', leaseDurationSeconds: 1, renewTime: wall },
        existing.resourceVersion,
      );
      this.log.info('leader election: released the lease', { identity: this.identity });
    } catch (err) {
      this.log.warn('leader election: could not release the lease', { err });
    }
  }
}

interface LeaseObject {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseRecord;
}

/** A LeaseStore backed by a coordination.k8s.io/v1 Lease object. */
export function kubeLeaseStore(client: KubeClient, namespace: string, name: string): LeaseStore {
  const base = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  return {
    async get() {
      try {
        const lease = await client.request<LeaseObject>({
          method: 'GET',
          path: `${base}/${encodeURIComponent(name)}`,
          timeoutMs: 5_000,
        });
        return { record: lease.spec ?? {}, resourceVersion: lease.metadata.resourceVersion ?? '' };
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async create(record) {
      await client.request({
        method: 'POST',
        path: base,
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: record,
        },
        timeoutMs: 5_000,
      });
    },
    async update(record, resourceVersion) {
      await client.request({
        method: 'PUT',
        path: `${base}/${encodeURIComponent(name)}`,
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace, resourceVersion },
          spec: record,
        },
        timeoutMs: 5_000,
      });
    },
  };
}
