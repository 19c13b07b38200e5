// A controller: a work queue of keys and N workers running a reconciler, with controller-runtime's
// contract. The reconciler re-reads state by key (level-triggered) and returns:
// - normally (or `{}`): done, the key's backoff is forgotten;
// - `{ requeueAfterMs }`: done for now, look again after that delay (polling, not an error);
// - throws: the key is retried with per-key exponential backoff (the controller's, or the schedule
//   the error names in `retrySchedule`: e.g. minutes for a failure only a spec change can clear,
//   seconds doubling to minutes for a failing service that must not be hammered);
// - throws TerminalError: recorded and not retried (bad input that only a spec change can fix;
//   the change itself re-queues the key through the watch).
import type { ObjectKey } from '../kube/types.ts';
import type { Logger } from '../observe/log.ts';
import type { Metrics } from '../observe/metrics.ts';
import { type Clock, ExponentialBackoff, type RetrySchedule, WorkQueue } from './queue.ts';

export type { RetrySchedule };

export type ReconcileResult = { requeueAfterMs?: number } | undefined;

export interface ReconcileRequest {
  key: ObjectKey;
  signal: AbortSignal;
}

export type Reconciler = (req: ReconcileRequest) => Promise<ReconcileResult | undefined>;

export class TerminalError extends Error {
  override name = 'TerminalError';
  readonly code = 'Terminal';
}

/** The retry schedule a thrown error names (`err.retrySchedule`), if any. */
export function retryScheduleOf(err: unknown): RetrySchedule | undefined {
  const s = (err as { retrySchedule?: Partial<RetrySchedule> } | null | undefined)?.retrySchedule;
  if (!s || typeof s.name !== 'string' || typeof s.baseMs !== 'number' || typeof s.maxMs !== 'number')
    return undefined;
  return { name: s.name, baseMs: s.baseMs, maxMs: s.maxMs };
}

export interface ControllerOptions {
  name: string;
  reconcile: Reconciler;
  /** Concurrent reconciles (never two on one key). */
  workers?: number;
  log: Logger;
  metrics?: Metrics;
  /** Backoff bounds for errors. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** The queue's clock (tests step it). */
  clock?: Clock;
}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue<ObjectKey>;
  private readonly opts: ControllerOptions;
  private running = 0;

  constructor(opts: ControllerOptions) {
    this.opts = opts;
    this.name = opts.name;
    this.queue = new WorkQueue<ObjectKey>({
      ...(opts.clock ? { clock: opts.clock } : {}),
      limiter: new ExponentialBackoff<ObjectKey>(opts.backoffBaseMs ?? 5, opts.backoffMaxMs ?? 300_000),
      onDepth: (d) => opts.metrics?.queueDepth.set({ controller: opts.name }, d),
    });
  }

  enqueue(key: ObjectKey): void {
    this.queue.add(key);
  }

  enqueueAfter(key: ObjectKey, ms: number): void {
    this.queue.addAfter(key, ms);
  }

  /**
   * Forgets the key's failures and queues it now: for a change that may have fixed what failed (a
   * new spec), so it is looked at at once and a next failure backs off from the start again.
   */
  retryNow(key: ObjectKey): void {
    this.queue.forget(key);
    this.queue.add(key);
  }

  /** Reconciles in flight right now. */
  get active(): number {
    return this.running;
  }

  /**
   * Runs the workers until the signal aborts, then stops handing out keys and waits for the
   * reconciles in flight (they get the aborted signal and should wind down promptly).
   */
  async start(signal: AbortSignal): Promise<void> {
    const onAbort = () => this.queue.shutdown();
    signal.addEventListener('abort', onAbort, { once: true });
    const workers = Array.from({ length: Math.max(1, this.opts.workers ?? 3) }, () => this.worker(signal));
    await Promise.all(workers);
    signal.removeEventListener('abort', onAbort);
  }

  private async worker(signal: AbortSignal): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      this.running++;
      try {
        await this.processItem(key, signal);
      } finally {
        this.running--;
        this.queue.done(key);
      }
    }
  }

  private async processItem(key: ObjectKey, signal: AbortSignal): Promise<void> {
    const { log, metrics, name } = this.opts;
    const started = performance.now();
    let outcome: 'success' | 'requeue' | 'error' | 'terminal' = 'success';
    try {
      const res = await this.opts.reconcile({ key, signal });
      this.queue.forget(key);
      if (res?.requeueAfterMs !== undefined && res.requeueAfterMs >= 0) {
        outcome = 'requeue';
        this.queue.addAfter(key, res.requeueAfterMs);
      }
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof TerminalError) {
        outcome = 'terminal';
        this.queue.forget(key);
        log.warn('reconcile failed terminally: not retrying until the object changes', {
          controller: name,
          key,
          err,
        });
      } else {
        outcome = 'error';
        const schedule = retryScheduleOf(err);
        this.queue.addRateLimited(key, schedule);
        log.info('reconcile failed: retrying with backoff', {
          controller: name,
          key,
          err,
          attempt: this.queue.numRequeues(key),
          ...(schedule ? { schedule: schedule.name } : {}),
        });
      }
    } finally {
      metrics?.reconciles.inc({ controller: name, result: outcome });
      metrics?.reconcileDuration.observe({ controller: name }, (performance.now() - started) / 1000);
    }
  }
}
