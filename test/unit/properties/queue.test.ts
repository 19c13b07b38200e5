// Property tests of the work queue (src/runtime/queue.ts) under random interleavings of adds,
// delayed adds, rate-limited adds, hand-outs, completions and time: a key is never handed to two
// workers at once, no add is ever lost (each is followed by a hand-out of its key that starts after
// it), and the per-key backoff stays within its bounds.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExponentialBackoff, WorkQueue } from '../../../src/runtime/queue.ts';
import { FakeClock } from '../../support/fake-clock.ts';

type Op =
  | { op: 'add' | 'rateLimited' | 'forget'; key: number }
  | { op: 'addAfter'; key: number; ms: number }
  | { op: 'get' }
  | { op: 'done'; pick: number }
  | { op: 'advance'; ms: number };

const key = fc.integer({ min: 0, max: 4 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constantFrom('add' as const, 'rateLimited' as const, 'forget' as const), key }),
  fc.record({ op: fc.constant('addAfter' as const), key, ms: fc.integer({ min: 0, max: 2000 }) }),
  fc.constant({ op: 'get' as const }),
  fc.record({ op: fc.constant('done' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 3000 }) }),
);

const flush = () => new Promise<void>((r) => setImmediate(r));

describe('work queue (properties)', () => {
  it('never hands a key to two workers, and every add is followed by a hand-out of its key', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
        const clock = new FakeClock();
        const q = new WorkQueue<string>({ clock, limiter: new ExponentialBackoff<string>(5, 1000) });
        const inHand: string[] = [];
        /** Keys added (now or by a timer) with no hand-out started since. */
        const owed = new Set<string>();
        /** Delayed adds not yet due: they become owed when the clock passes them. */
        const due: Array<{ key: string; at: number }> = [];
        let waiting = 0;
        const take = (k: string | undefined) => {
          waiting--;
          if (k === undefined) return;
          expect(inHand, `key ${k} handed out while a worker holds it`).not.toContain(k);
          inHand.push(k);
          owed.delete(k);
        };
        // One pending delay per key: an earlier time replaces a later one (and a later one is ignored).
        const delay = (k: string, ms: number) => {
          const at = clock.now() + ms;
          const i = due.findIndex((d) => d.key === k);
          if (i >= 0 && due[i]!.at <= at) return;
          if (i >= 0) due.splice(i, 1);
          due.push({ key: k, at });
        };
        const settleDue = () => {
          for (let i = due.length - 1; i >= 0; i--) {
            if (due[i]!.at <= clock.now()) {
              owed.add(due[i]!.key);
              due.splice(i, 1);
            }
          }
        };
        for (const o of ops) {
          switch (o.op) {
            case 'add':
              q.add(`k${o.key}`);
              owed.add(`k${o.key}`);
              break;
            case 'addAfter':
              q.addAfter(`k${o.key}`, o.ms);
              if (o.ms <= 0) {
                owed.add(`k${o.key}`);
                const i = due.findIndex((d) => d.key === `k${o.key}`);
                if (i >= 0) due.splice(i, 1);
              } else delay(`k${o.key}`, o.ms);
              break;
            case 'rateLimited': {
              const before = q.numRequeues(`k${o.key}`);
              q.addRateLimited(`k${o.key}`);
              const wait = Math.min(1000, 5 * 2 ** before);
              delay(`k${o.key}`, wait);
              break;
            }
            case 'forget':
              q.forget(`k${o.key}`);
              expect(q.numRequeues(`k${o.key}`)).toBe(0);
              break;
            case 'get':
              waiting++;
              void q.get().then(take);
              break;
            case 'done':
              if (inHand.length) {
                const [k] = inHand.splice(o.pick % inHand.length, 1);
                q.done(k!);
              }
              break;
            case 'advance':
              clock.advance(o.ms);
              settleDue();
              break;
          }
          await flush();
        }
        // Drain: let time pass, finish what is in hand, and keep workers asking until quiet.
        for (let round = 0; round < 50; round++) {
          clock.advance(10_000);
          settleDue();
          await flush();
          while (inHand.length) q.done(inHand.pop()!);
          await flush();
          if (waiting === 0) {
            waiting++;
            void q.get().then(take);
            await flush();
          }
          if (owed.size === 0 && q.len() === 0 && q.delayed() === 0 && inHand.length === 0) break;
        }
        expect([...owed], 'adds never followed by a hand-out').toEqual([]);
        q.shutdown();
        await flush();
      }),
      { numRuns: 1000 },
    );
  });

  it('backoff grows from the base, doubling, never beyond the cap, and restarts after forget', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.array(fc.boolean(), { maxLength: 80 }),
        (base, max, forgets) => {
          const b = new ExponentialBackoff<string>(base, max);
          let failures = 0;
          let last = 0;
          for (const forget of forgets) {
            if (forget) {
              b.forget('k');
              failures = 0;
              last = 0;
              continue;
            }
            const w = b.when('k');
            expect(w).toBe(Math.min(max, base * 2 ** failures));
            expect(w).toBeGreaterThanOrEqual(Math.min(base, max));
            expect(w).toBeLessThanOrEqual(max);
            expect(w).toBeGreaterThanOrEqual(last);
            expect(Number.isFinite(w)).toBe(true);
            last = w;
            failures++;
            expect(b.numRequeues('k')).toBe(failures);
          }
        },
      ),
    );
  });
});
