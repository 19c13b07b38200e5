import { describe, expect, it } from 'vitest';
import { objectKey } from '../../../src/kube/types.ts';
import { silentLogger } from '../../../src/observe/log.ts';
import { Controller, retryScheduleOf } from '../../../src/runtime/controller.ts';
import { FakeClock } from '../../support/fake-clock.ts';

/** Lets the workers run what is due (they await the queue and the reconciler). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

class SlowRetry extends Error {
  readonly retrySchedule = { name: 'slow', baseMs: 60_000, maxMs: 600_000 };
}

describe('Controller', () => {
  it('retries a failure on the schedule the error names, and retryNow() restarts it', async () => {
    const clock = new FakeClock();
    const attempts: number[] = [];
    let fail: () => Error = () => new SlowRetry('the API server refused the object');
    const c = new Controller({
      name: 'test',
      log: silentLogger,
      clock,
      reconcile: async () => {
        attempts.push(clock.now());
        throw fail();
      },
    });
    const stop = new AbortController();
    const running = c.start(stop.signal);
    const key = objectKey('ns', 'a');
    c.enqueue(key);
    await settle();
    // Stepped 1 s at a time: a retry comes exactly when its step is due, never earlier.
    while (clock.now() < 1_600_000) {
      clock.advance(1000);
      await settle();
    }
    // 0, +1 min, +2 min, +4 min, +8 min, +10 min (capped)
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
    expect(gaps).toEqual([60_000, 120_000, 240_000, 480_000, 600_000]);

    // A spec change: tried at once, and the next failure waits the base again.
    c.retryNow(key);
    await settle();
    const changedAt = attempts.at(-1)!;
    expect(changedAt).toBe(clock.now());
    clock.advance(60_000);
    await settle();
    expect(attempts.at(-1)! - changedAt).toBe(60_000);

    // An error without a schedule backs off on the controller's own (5 ms doubling).
    fail = () => new Error('plain');
    clock.advance(120_000);
    await settle();
    const plainAt = attempts.at(-1)!;
    clock.advance(5);
    await settle();
    expect(attempts.at(-1)! - plainAt).toBe(5);
    stop.abort();
    await running;
  });

  it('reads a retry schedule only from a well-formed retrySchedule property', () => {
    expect(retryScheduleOf(new SlowRetry('x'))).toEqual({ name: 'slow', baseMs: 60_000, maxMs: 600_000 });
    expect(retryScheduleOf(new Error('x'))).toBeUndefined();
    expect(retryScheduleOf(Object.assign(new Error('x'), { retrySchedule: { name: 'x' } }))).toBeUndefined();
    expect(retryScheduleOf(undefined)).toBeUndefined();
  });
});
