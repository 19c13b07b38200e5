// The socket's own Events about its couplings (SocketCoupled, SocketUpdated, SocketDecoupled).
//
// The Plug reconciler owns each coupling and reports it on the plug; the provider looks at the
// socket. One Event per coupling on the socket would double the writes of a plain coupling and
// bury a socket with 1,000 plugs under 1,000 Events, so the Socket reconciler (whose passes are
// coalesced to one per second per socket) reports what changed since its last look, in one Event
// per kind of change: "coupled 37 plugs: app/a, app/b, ... and 27 more".
//
// What changed is read from the plugs' records of the socket side (status.lifecycle.coupling.socket):
// a plug that appears coupled is `coupled`, one whose socket-side record moved on to an `updated`
// is `updated`, one that left is `decoupled`. Only events this process's operator performed since
// it started are news: a restart or the adoption of couplings made by the Go operator (records
// without an inputs hash) report nothing.
import type { KubeObject } from '../kube/types.ts';

export interface CouplingNews {
  coupled: string[];
  updated: string[];
  decoupled: string[];
}

interface Seen {
  /** namespace/name of the plug. */
  key: string;
  /** `event@at` of the socket side's last performed event; '' when not performed by us. */
  sig: string;
}

interface SocketSideRecord {
  event?: string;
  at?: string;
  hash?: string;
}

function socketSide(p: KubeObject): SocketSideRecord | undefined {
  const st = p.status as { lifecycle?: { coupling?: { socket?: SocketSideRecord } } } | undefined;
  return st?.lifecycle?.coupling?.socket;
}

/** How many plug names an Event lists. */
const namesListed = 10;

export class CouplingNewsTracker {
  readonly #seen = new Map<string, Map<string, Seen>>();
  readonly #since: number;

  /** `since`: when this operator started (records performed before it are not news). */
  constructor(since: Date) {
    this.#since = since.getTime();
  }

  /**
   * Compares the plugs coupled to a socket now with the last look at that socket, remembers them,
   * and returns the names of the plugs whose coupling changed.
   */
  look(socketUid: string, coupled: readonly KubeObject[]): CouplingNews {
    const prev = this.#seen.get(socketUid);
    const next = new Map<string, Seen>();
    const news: CouplingNews = { coupled: [], updated: [], decoupled: [] };
    for (const p of coupled) {
      const uid = p.metadata.uid ?? '';
      const key = `${p.metadata.namespace}/${p.metadata.name}`;
      const rec = socketSide(p);
      const ours = Boolean(rec?.hash && rec.at) && (rec?.event === 'coupled' || rec?.event === 'updated');
      const sig = ours ? `${rec!.event}@${rec!.at}` : '';
      next.set(uid, { key, sig });
      if (!ours) continue;
      const before = prev?.get(uid);
      if (before?.sig === sig) continue;
      // First look at this socket since the start: only what was performed since then is news.
      if (!prev && Date.parse(rec!.at!) < this.#since) continue;
      if (rec!.event === 'updated' && (before || !prev)) news.updated.push(key);
      else news.coupled.push(key);
    }
    if (prev) for (const [uid, s] of prev) if (!next.has(uid)) news.decoupled.push(s.key);
    this.#seen.set(socketUid, next);
    return news;
  }

  /** Drops what is remembered of a socket (it is gone). */
  forget(socketUid: string): void {
    this.#seen.delete(socketUid);
  }
}

/** "coupled 3 plugs: a/x, a/y, b/z" (at most ten names, then "and N more"). */
export function newsMessage(verb: string, keys: readonly string[]): string {
  const sorted = [...keys].sort();
  const shown = sorted.slice(0, namesListed).join(', ');
  const more = sorted.length > namesListed ? ` and ${sorted.length - namesListed} more` : '';
  return `${verb} ${sorted.length} plug${sorted.length === 1 ? '' : 's'}: ${shown}${more}`;
}
