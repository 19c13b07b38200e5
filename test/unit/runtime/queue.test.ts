import { describe, expect, it } from 'vitest';
import { ExponentialBackoff, WorkQueue } from '../../../src/runtime/queue.ts';
import { FakeClock } from '../../support/fake-clock.ts';

describe('WorkQueue', () => {
  it('hands keys out in FIFO order and holds each waiting key once', async () => {
    const q = new WorkQueue<string>();
    q.add('a');
    q.add('b');
    q.add('a');
    q.add('c');
    expect(q.len()).toBe(3);
    expect([await q.get(), await q.get(), await q.get()]).toEqual(['a', 'b', 'c']);
  });

  it('never hands one key to two workers: an add during processing is queued again on done()', async () => {
    const q = new WorkQueue<string>();
    q.add('a');
    const k = await q.get();
    expect(k).toBe('a');
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(0); // held back while processing
    let second: string | undefined;
    void q.get().then((v) => {
      second = v;
    });
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done('a');
    await Promise.resolve();
    expect(second).toBe('a'); // exactly once more
    q.done('a');
    expect(q.len()).toBe(0);
  });

  it('does not requeue a key on done() when it was not added meanwhile', async () => {
    const q = new WorkQueue<string>();
    q.add('a');
    await q.get();
    q.done('a');
    expect(q.len()).toBe(0);
    expect(q.isProcessing('a')).toBe(false);
  });

  it('wakes a waiting worker when a key arrives', async () => {
    const q = new WorkQueue<string>();
    const p = q.get();
    q.add('x');
    expect(await p).toBe('x');
    expect(q.isProcessing('x')).toBe(true);
  });

  it('delays addAfter, and an earlier time for the same key wins', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock });
    q.addAfter('a', 1000);
    q.addAfter('a', 5000); // later: ignored
    q.addAfter('a', 200); // sooner: replaces
    expect(clock.pending()).toBe(1);
    clock.advance(199);
    expect(q.len()).toBe(0);
    clock.advance(1);
    expect(q.len()).toBe(1);
    clock.advance(10_000);
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe('a');
  });

  it('backs off exponentially per key and forget() resets it', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock, limiter: new ExponentialBackoff(5, 1000) });
    const delays: number[] = [];
    for (let i = 0; i < 10; i++) {
      const before = clock.now();
      q.addRateLimited('a');
      // find when it lands
      for (let waited = 0; q.len() === 0; waited++) {
        if (waited > 2000) throw new Error('the key never became due');
        clock.advance(1);
      }
      delays.push(clock.now() - before);
      q.done((await q.get())!);
    }
    expect(delays).toEqual([5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
    expect(q.numRequeues('a')).toBe(10);
    q.forget('a');
    expect(q.numRequeues('a')).toBe(0);
  });

  it('keeps backoffs of different keys apart', () => {
    const b = new ExponentialBackoff<string>(10, 10_000);
    b.when('a');
    b.when('a');
    expect(b.when('a')).toBe(40);
    expect(b.when('b')).toBe(10);
  });

  it('backs a key off on the schedule its failure names; another schedule starts over at its base', () => {
    const b = new ExponentialBackoff<string>(5, 1000);
    const slow = { name: 'slow', baseMs: 60_000, maxMs: 600_000 };
    expect([1, 2, 3, 4, 5, 6].map(() => b.when('a', slow))).toEqual([
      60_000, 120_000, 240_000, 480_000, 600_000, 600_000,
    ]);
    expect(b.numRequeues('a')).toBe(6);
    // A different failure (the controller's own schedule) counts from its base again...
    expect(b.when('a')).toBe(5);
    expect(b.when('a')).toBe(10);
    // ...and so does the slow one when it comes back.
    expect(b.when('a', slow)).toBe(60_000);
    b.forget('a');
    expect(b.numRequeues('a')).toBe(0);
    expect(b.when('a', slow)).toBe(60_000);
  });

  it('caps the backoff even after very many failures', () => {
    const b = new ExponentialBackoff<string>(5, 60_000);
    let last = 0;
    for (let i = 0; i < 2000; i++) last = b.when('a');
    expect(last).toBe(60_000);
  });

  it('on shutdown resolves waiting getters with undefined and hands out nothing more', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock });
    const waiting = q.get();
    q.shutdown();
    expect(await waiting).toBeUndefined();
    q.add('a');
    q.addAfter('b', 10);
    expect(clock.pending()).toBe(0);
    expect(await q.get()).toBeUndefined();
  });

  it('under concurrent workers processes every key, none twice at once, and loses nothing', async () => {
    const q = new WorkQueue<number>();
    const active = new Set<number>();
    const processed = new Map<number, number>();
    let overlap = 0;
    const worker = async () => {
      for (;;) {
        const k = await q.get();
        if (k === undefined) return;
        if (active.has(k)) overlap++;
        active.add(k);
        await new Promise((r) => setImmediate(r));
        processed.set(k, (processed.get(k) ?? 0) + 1);
        active.delete(k);
        q.done(k);
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 200; i++) q.add(i % 50);
      await new Promise((r) => setImmediate(r));
    }
    // drain
    while (q.len() > 0 || q.processingCount() > 0) await new Promise((r) => setImmediate(r));
    q.shutdown();
    await Promise.all(workers);
    expect(overlap).toBe(0);
    expect([...processed.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});
