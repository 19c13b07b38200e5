// A work queue with client-go / controller-runtime semantics:
// - stingy: a key waiting in the queue is held once, however often it is added;
// - never two workers on one key: a key added while it is processed is held back (dirty) and
//   queued again when its worker calls done();
// - delays: addAfter(key, ms) queues the key later; adding a key that is already waiting can only
//   make it due sooner;
// - rate limiting: addRateLimited(key) waits the per-key exponential backoff; forget(key) resets it.
//   A failure may name its own schedule (addRateLimited(key, schedule)): a key then backs off on
//   that schedule, and switching schedules starts it over (a different failure, a fresh count).
// The clock is injected so tests step time instead of sleeping.

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** An exponential retry schedule: base·2^failures, capped at max. */
export interface RetrySchedule {
  /** Names the schedule: a key moving to another schedule starts counting again. */
  name: string;
  baseMs: number;
  maxMs: number;
}

export interface RateLimiter<K> {
  /**
   * How long to wait before the key's next retry (and count the failure), on `schedule` when the
   * failure names one, else on the limiter's own.
   */
  when(key: K, schedule?: RetrySchedule): number;
  /** Clears the key's failures. */
  forget(key: K): void;
  numRequeues(key: K): number;
}

/**
 * Per-key exponential backoff: base * 2^failures, capped (client-go: 5 ms .. 1000 s). A failure on
 * another schedule than the key's last one starts that schedule at its base.
 */
export class ExponentialBackoff<K> implements RateLimiter<K> {
  private readonly failures = new Map<K, { n: number; schedule: string }>();
  private readonly own: RetrySchedule;

  constructor(baseMs = 5, maxMs = 1_000_000) {
    this.own = { name: '', baseMs, maxMs };
  }

  when(key: K, schedule: RetrySchedule = this.own): number {
    const prev = this.failures.get(key);
    const n = prev && prev.schedule === schedule.name ? prev.n : 0;
    this.failures.set(key, { n: n + 1, schedule: schedule.name });
    // 2^n overflows to Infinity for large n, and min() caps it.
    return Math.min(schedule.maxMs, schedule.baseMs * 2 ** n);
  }

  forget(key: K): void {
    this.failures.delete(key);
  }

  numRequeues(key: K): number {
    return this.failures.get(key)?.n ?? 0;
  }
}

/** A FIFO of keys with O(1) push and shift. */
class Fifo<K> {
  private items: K[] = [];
  private head = 0;
  push(k: K): void {
    this.items.push(k);
  }
  shift(): K | undefined {
    if (this.head >= this.items.length) return undefined;
    const k = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return k;
  }
  get length(): number {
    return this.items.length - this.head;
  }
}

export class WorkQueue<K> {
  /** Keys in `queue`, or held back while processing: the set that makes adds stingy. */
  private readonly dirty = new Set<K>();
  /** Keys handed to a worker and not yet done(). Invariant: a key in `queue` is never here. */
  private readonly processing = new Set<K>();
  private readonly queue = new Fifo<K>();
  private readonly waiting = new Map<K, { at: number; handle: unknown }>();
  private readonly getters: Array<(k: K | undefined) => void> = [];
  private shuttingDown = false;
  private readonly clock: Clock;
  readonly limiter: RateLimiter<K>;
  private readonly onDepth: ((depth: number) => void) | undefined;

  constructor(opts: { clock?: Clock; limiter?: RateLimiter<K>; onDepth?: (depth: number) => void } = {}) {
    this.clock = opts.clock ?? realClock;
    this.limiter = opts.limiter ?? new ExponentialBackoff<K>();
    this.onDepth = opts.onDepth;
  }

  add(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // queued again by done()
    this.enqueue(key);
  }

  private enqueue(key: K): void {
    const getter = this.getters.shift();
    if (getter) {
      this.dirty.delete(key);
      this.processing.add(key);
      getter(key);
    } else {
      this.queue.push(key);
    }
    this.onDepth?.(this.queue.length);
  }

  /** Adds the key after `ms`; an earlier pending time for the same key wins. */
  addAfter(key: K, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.cancelWaiting(key);
      this.add(key);
      return;
    }
    const at = this.clock.now() + ms;
    const existing = this.waiting.get(key);
    if (existing && existing.at <= at) return;
    if (existing) this.clock.clearTimeout(existing.handle);
    const handle = this.clock.setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, ms);
    this.waiting.set(key, { at, handle });
  }

  private cancelWaiting(key: K): void {
    const w = this.waiting.get(key);
    if (w) {
      this.clock.clearTimeout(w.handle);
      this.waiting.delete(key);
    }
  }

  addRateLimited(key: K, schedule?: RetrySchedule): void {
    this.addAfter(key, this.limiter.when(key, schedule));
  }

  forget(key: K): void {
    this.limiter.forget(key);
  }

  numRequeues(key: K): number {
    return this.limiter.numRequeues(key);
  }

  /** The next key (marked processing), or undefined once the queue shuts down. */
  get(): Promise<K | undefined> {
    // Shutting down means no new work, even if keys are queued (they are re-derived on restart).
    if (this.shuttingDown) return Promise.resolve(undefined);
    const k = this.queue.shift();
    if (k !== undefined) {
      this.dirty.delete(k);
      this.processing.add(k);
      this.onDepth?.(this.queue.length);
      return Promise.resolve(k);
    }
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Marks the key's processing finished; a key added meanwhile is queued again now. */
  done(key: K): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) this.enqueue(key);
  }

  /** Keys waiting to be handed out (informational). */
  len(): number {
    return this.queue.length;
  }

  /** Keys waiting for a delay to pass (informational). */
  delayed(): number {
    return this.waiting.size;
  }

  isProcessing(key: K): boolean {
    return this.processing.has(key);
  }

  processingCount(): number {
    return this.processing.size;
  }

  /** Stops handing out keys; pending get() calls resolve undefined; delayed adds are dropped. */
  shutdown(): void {
    this.shuttingDown = true;
    for (const w of this.waiting.values()) this.clock.clearTimeout(w.handle);
    this.waiting.clear();
    for (const g of this.getters.splice(0)) g(undefined);
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }
}
