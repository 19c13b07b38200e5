// Which lifecycle events a coupling owes, from its record in the Plug's status. Pure.
//
// The record holds, per side, the last event performed and the hash of the inputs it saw. An
// event is owed when the record says it was not performed for the current inputs; it is recorded
// only after it succeeded, so a crash repeats at most the event in flight (at-least-once), and a
// `decoupled` is only ever owed by a side that performed a `coupled` (or `updated`).
import type { CouplingRecord, SideRecord } from '../api/plug.ts';

export const sides = ['plug', 'socket'] as const;
export type Side = (typeof sides)[number];
export type CouplingEvent = 'coupled' | 'updated';

export interface OwedEvent {
  side: Side;
  event: CouplingEvent;
}

function isCoupledRecord(r: SideRecord | undefined): boolean {
  return r !== undefined && !r.skipped && (r.event === 'coupled' || r.event === 'updated');
}

/** The events owed to couple (or update) the plug with the socket of `socketUid`, plug side first. */
export function owedCouplingEvents(
  record: CouplingRecord | undefined,
  socketUid: string,
  hash: string,
): OwedEvent[] {
  if (!record || record.socketUid !== socketUid) {
    return [
      { side: 'plug', event: 'coupled' },
      { side: 'socket', event: 'coupled' },
    ];
  }
  const owed: OwedEvent[] = [];
  for (const side of sides) {
    const r = record[side];
    if (!isCoupledRecord(r)) owed.push({ side, event: 'coupled' });
    else if (r!.hash !== hash) owed.push({ side, event: 'updated' });
  }
  return owed;
}

/** True when both sides performed their coupling (the plug counts as coupled). */
export function isCoupled(record: CouplingRecord | undefined): boolean {
  return record !== undefined && isCoupledRecord(record.plug) && isCoupledRecord(record.socket);
}

/** Sides that performed a coupling and so owe a `decoupled`, plug side first. */
export function owedDecouplings(record: CouplingRecord | undefined): Side[] {
  if (!record) return [];
  return sides.filter((s) => isCoupledRecord(record[s]));
}

/** True when some side ever performed a coupling event with this record. */
export function hasCoupledSide(record: CouplingRecord | undefined): boolean {
  return owedDecouplings(record).length > 0;
}
