// Property tests of the owed-event decision (src/integration/lifecycle.ts), driven the way the Plug
// reconciler drives it: perform what is owed, plug side first, record each event only after it
// succeeded, and crash (lose the unrecorded work) at random moments. Whatever the sequence of input
// changes, socket changes, crashes and decouplings: every owed event is performed at least once for
// the inputs it is owed for, only the event in flight at a crash is repeated, and no side ever
// performs decoupled or updated without a coupled before it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CouplingRecord } from '../../../src/api/plug.ts';
import {
  hasCoupledSide,
  isCoupled,
  owedCouplingEvents,
  owedDecouplings,
  type Side,
  sides,
} from '../../../src/integration/lifecycle.ts';

type Step =
  | { kind: 'reconcile'; crashAfter: number | undefined }
  | { kind: 'inputs'; hash: string }
  | { kind: 'socket' }
  | { kind: 'decouple'; crashAfter: number | undefined; socketGone: boolean };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('reconcile' as const),
      crashAfter: fc.option(fc.integer({ min: 0, max: 1 }), { nil: undefined }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('inputs' as const), hash: fc.constantFrom('h1', 'h2', 'h3') }),
  },
  {
    weight: 1,
    arbitrary: fc.constant({ kind: 'socket' as const }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('decouple' as const),
      crashAfter: fc.option(fc.integer({ min: 0, max: 1 }), { nil: undefined }),
      socketGone: fc.boolean(),
    }),
  },
);

interface Performed {
  side: Side;
  event: string;
  socketUid: string;
  hash: string | undefined;
}

class Crash extends Error {}

/** A model of the reconciler's use of the decision functions over a persisted record. */
function simulate(steps: Step[]) {
  let persisted: CouplingRecord | undefined;
  let hash = 'h1';
  let socketUid = 's1';
  const performed: Performed[] = [];
  let crashes = 0;
  let ending: { socketGone: boolean } | undefined;
  let sockets = 1;
  const clone = (r: CouplingRecord | undefined) =>
    r ? (JSON.parse(JSON.stringify(r)) as CouplingRecord) : undefined;

  const decouple = (working: CouplingRecord, crashAfter: number | undefined, socketGone: boolean) => {
    let n = 0;
    for (const side of owedDecouplings(working)) {
      if (side === 'socket' && socketGone) {
        working.socket = { event: 'decoupled', skipped: true };
        continue;
      }
      performed.push({ side, event: 'decoupled', socketUid: working.socketUid, hash });
      if (crashAfter === n++) throw new Crash();
      working[side] = { event: 'decoupled', hash };
      persisted = clone(working); // checkpoint after each side
    }
    persisted = undefined;
  };

  for (const s of steps) {
    try {
      if (s.kind === 'inputs') hash = s.hash;
      else if (s.kind === 'socket') {
        // The socket re-created (or the plug re-pointed to another one): a new UID, never an old
        // one. Re-pointing back to the very socket whose decoupling crashed half-way is the one
        // history this decision does not cover (see the report of issue 10).
        socketUid = `s${++sockets}`;
      } else if (s.kind === 'decouple') {
        // The end of the coupling is decided by state that persists (the plug is being deleted,
        // the socket is gone): every reconcile until it completes performs what is still owed.
        ending = { socketGone: s.socketGone };
        if (s.socketGone) socketUid = `s${++sockets}`;
        const working = clone(persisted);
        if (working && hasCoupledSide(working)) decouple(working, s.crashAfter, s.socketGone);
        else persisted = undefined;
        ending = undefined;
      } else if (ending) {
        const working = clone(persisted);
        if (working && hasCoupledSide(working)) decouple(working, s.crashAfter, ending.socketGone);
        else persisted = undefined;
        ending = undefined;
      } else {
        let working = clone(persisted);
        if (working && working.socketUid !== socketUid) {
          if (hasCoupledSide(working)) decouple(working, s.crashAfter, false);
          working = undefined;
        }
        const owed = owedCouplingEvents(working, socketUid, hash);
        const rec: CouplingRecord = working ?? { socketUid, socketName: 'n', socketNamespace: 'ns' };
        let n = 0;
        for (const o of owed) {
          performed.push({ side: o.side, event: o.event, socketUid, hash });
          if (s.crashAfter === n++) throw new Crash();
          rec[o.side] = { event: o.event, hash };
          persisted = clone(rec);
        }
        if (!owed.length) persisted = clone(rec);
      }
    } catch (err) {
      if (!(err instanceof Crash)) throw err;
      crashes++;
    }
  }
  return { persisted, performed, hash, socketUid, crashes };
}

describe('owed lifecycle events (properties)', () => {
  it('after any history, a clean reconcile leaves nothing owed and both sides coupled for the current inputs', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        // Two clean passes: the first may finish a decoupling in progress, the second couples again.
        const clean = { kind: 'reconcile', crashAfter: undefined } as const;
        const { persisted, hash, socketUid } = simulate([...steps, clean, clean]);
        expect(persisted?.socketUid).toBe(socketUid);
        expect(owedCouplingEvents(persisted, socketUid, hash)).toEqual([]);
        expect(isCoupled(persisted)).toBe(true);
        for (const side of sides) expect(persisted?.[side]?.hash).toBe(hash);
      }),
      { numRuns: 2000 },
    );
  });

  it('per side and coupling, events follow coupled (updated)* decoupled: never a decoupled or updated without a coupled', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const { performed } = simulate(steps);
        for (const side of sides) {
          // An event repeated after a crash (the one in flight) is the same event again: collapse
          // consecutive duplicates, then the sequence must read coupled (updated)* decoupled ...
          const mine = performed.filter((x) => x.side === side);
          const collapsed = mine.filter((p, i) => i === 0 || !sameEvent(p, mine[i - 1]!));
          let coupled = false;
          for (const p of collapsed) {
            if (p.event === 'coupled') coupled = true;
            else {
              expect(coupled, `${side} ${p.event} without a coupled before it`).toBe(true);
              if (p.event === 'decoupled') coupled = false;
            }
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('the socket side of a coupling is only ever performed after its plug side, for the same inputs', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const { performed } = simulate(steps);
        performed.forEach((p, i) => {
          if (p.side !== 'socket' || p.event === 'decoupled') return;
          const before = performed.slice(0, i);
          expect(
            before.some(
              (q) =>
                q.side === 'plug' &&
                q.socketUid === p.socketUid &&
                q.hash === p.hash &&
                q.event !== 'decoupled',
            ),
          ).toBe(true);
        });
      }),
      { numRuns: 2000 },
    );
  });

  it('only a crash repeats an event: consecutive repeats of one side are at most the crashes', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const { performed, crashes } = simulate(steps);
        let repeats = 0;
        for (const side of sides) {
          const mine = performed.filter((x) => x.side === side);
          for (let i = 1; i < mine.length; i++) if (sameEvent(mine[i]!, mine[i - 1]!)) repeats++;
        }
        expect(repeats).toBeLessThanOrEqual(crashes);
      }),
      { numRuns: 2000 },
    );
  });

  it('a decoupled is owed exactly by the sides that performed a coupled or updated and were not skipped', () => {
    const sideRecord = fc.option(
      fc.record(
        {
          event: fc.constantFrom('coupled', 'updated', 'decoupled'),
          hash: fc.constantFrom('h1', 'h2'),
          skipped: fc.boolean(),
        },
        { requiredKeys: ['event'] },
      ),
      { nil: undefined },
    );
    fc.assert(
      fc.property(sideRecord, sideRecord, (plug, socket) => {
        const rec: CouplingRecord = {
          socketUid: 's',
          socketName: 'n',
          socketNamespace: 'ns',
          ...(plug ? { plug } : {}),
          ...(socket ? { socket } : {}),
        };
        const coupledSide = (r: typeof plug) =>
          r !== undefined && !r.skipped && (r.event === 'coupled' || r.event === 'updated');
        expect(owedDecouplings(rec)).toEqual(sides.filter((s) => coupledSide(s === 'plug' ? plug : socket)));
        expect(isCoupled(rec)).toBe(coupledSide(plug) && coupledSide(socket));
        expect(hasCoupledSide(rec)).toBe(coupledSide(plug) || coupledSide(socket));
        // what is owed for coupling: coupled for a side not coupled, updated for a stale hash
        for (const o of owedCouplingEvents(rec, 's', 'h1')) {
          const r = o.side === 'plug' ? plug : socket;
          expect(o.event).toBe(coupledSide(r) ? 'updated' : 'coupled');
        }
        expect(owedCouplingEvents(rec, 'other', 'h1')).toEqual([
          { side: 'plug', event: 'coupled' },
          { side: 'socket', event: 'coupled' },
        ]);
      }),
      { numRuns: 1000 },
    );
  });
});

/** The same event again (a decoupled is the same whatever inputs it saw). */
function sameEvent(a: Performed, b: Performed): boolean {
  return a.event === b.event && a.socketUid === b.socketUid && (a.event === 'decoupled' || a.hash === b.hash);
}
