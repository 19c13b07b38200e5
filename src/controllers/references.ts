// Referenced ConfigMaps, Secrets and vars objects at scale (SPEC.md "Operator"; issue 17).
//
// - Values are read as the owner's ServiceAccount, never with the operator's rights, and kept per
//   (object, ServiceAccount): one tenant never gets a value that another's rights read. Concurrent
//   reads of one (object, ServiceAccount) share one GET (single flight), so 1,000 couplings of one
//   socket read its Secret once.
// - Changes are seen by a metadata-only watch (PartialObjectMetadata) of the object's kind, in the
//   operator's namespaces (one stream per watched namespace, or one cluster-wide), started when a
//   coupling first reads that kind and stopped when none has for `lingerMs`. The operator's own
//   identity needs list/watch on the kind and never receives an object's content.
// - An index from each object to the couplings (plug keys) that read it, with the resourceVersion
//   each saw: a change requeues exactly the couplings whose version differs. Idle couplings are
//   never requeued and send nothing.
// - Where the watch is switched off or refused (403: no list/watch granted on that kind), each
//   referenced (object, ServiceAccount) is polled once per `ttlMs` instead: one GET per object per
//   period, whatever the number of couplings using it. A refused watch is tried again every
//   `watchRetryMs`, so a right granted later is picked up without a restart.
// - A cached value is used while the watch says the object is unchanged, and for at most `ttlMs`
//   (REFERENCE_RESYNC_SECONDS) after it was read: a ServiceAccount whose right was revoked is
//   refused at its next read after that, and memory holds only recently read values.
import { type Identity, identityUser } from '../kube/client.ts';
import { ApiError } from '../kube/errors.ts';
import type { ResourceMapping } from '../kube/mapper.ts';
import { versionOnly } from '../kube/metadata.ts';
import type { Kube } from '../kube/objects.ts';
import type { KubeObject, ObjectRef } from '../kube/types.ts';
import { objectKey } from '../kube/types.ts';
import type { Logger } from '../observe/log.ts';
import type { Metrics } from '../observe/metrics.ts';
import { Informer, stripManagedFields } from '../runtime/informer.ts';
import { isNewerResourceVersion } from '../runtime/store.ts';

/** What a reader saw of an object: its resourceVersion, `absent` (not found) or `failed`. */
export type Seen = string;
const absent: Seen = '';
const failed: Seen = '?';

/** The reads of one resolution, recorded for its coupling by References.track. */
export interface ReferenceReads {
  readonly seen: Map<Reading, Seen>;
}

/** The couplings' reads are tracked per slot: the coupling's inputs and its results are resolved apart. */
export type ReadSlot = 'coupling' | 'results';

/** One kind in one namespace (or cluster-wide), and how its changes are detected (internal). */
export interface Scope {
  readonly key: string;
  readonly mapping: ResourceMapping;
  readonly namespace: string | undefined;
  mode: 'watch' | 'poll';
  informer: Informer<KubeObject> | undefined;
  abort: AbortController | undefined;
  readings: number;
  idleSince: number | undefined;
  retryWatchAt: number | undefined;
  /** Refusals in a row (reset once a watch syncs): the retry delay doubles with them. */
  refusals: number;
  warned: boolean;
}

/** One object as read by one identity, and the couplings that read it that way (internal to References). */
export interface Reading {
  readonly key: string;
  readonly ref: string;
  readonly target: ObjectRef;
  readonly as: Identity;
  readonly scope: Scope;
  /** Coupling (plug key) -> what it saw at its last resolution. */
  readonly seen: Map<string, Seen>;
  value: { obj: KubeObject | undefined; seen: Seen; at: number } | undefined;
  inflight: Promise<KubeObject | undefined> | undefined;
  nextPollAt: number;
  usedAt: number;
}

export interface ReferencesOptions {
  kube: Kube;
  log: Logger;
  metrics?: Metrics;
  /** The operator's namespaces (undefined: all, watched cluster-wide). */
  namespaces: string[] | undefined;
  /** Watch metadata (true) or only poll (false: the operator has no list/watch). */
  watch: boolean;
  /** How long a value is reused at most, and the polling period where there is no watch. */
  ttlMs: number;
  /** Requeues a coupling (its plug key). */
  enqueue: (key: string) => void;
  /** A watch no coupling needs any more is stopped after this long (default 5 minutes). */
  lingerMs?: number;
  /** A refused watch is tried again after this long (default 5 minutes). */
  watchRetryMs?: number;
  /** Polls in flight at most. */
  maxPolls?: number;
  now?: () => number;
}

/** Errors that mean "this operator cannot watch that kind there": poll instead. */
function watchRefused(err: unknown): boolean {
  return err instanceof ApiError && [403, 404, 405, 406].includes(err.status);
}

function seenOf(obj: KubeObject | undefined): Seen {
  return obj ? (obj.metadata.resourceVersion ?? failed) : absent;
}

/** A kind's resource as kubectl names it: `secrets`, `leases.coordination.k8s.io`. */
function resourceName(m: Pick<ResourceMapping, 'group' | 'resource'>): string {
  return m.group ? `${m.resource}.${m.group}` : m.resource;
}

function refKey(m: Pick<ResourceMapping, 'group' | 'resource'>, namespace: string | undefined, name: string) {
  return `${m.group}/${m.resource}/${namespace ?? ''}/${name}`;
}

export interface ReferenceStats {
  readings: number;
  couplings: number;
  cachedValues: number;
  scopes: Array<{
    resource: string;
    namespace: string | undefined;
    mode: 'watch' | 'poll';
    synced: boolean;
    readings: number;
    relists: number;
    restarts: number;
  }>;
}

export class References {
  private readonly opts: ReferencesOptions;
  private readonly readings = new Map<string, Reading>();
  private readonly byRef = new Map<string, Set<Reading>>();
  private readonly scopes = new Map<string, Scope>();
  private readonly couplings = new Map<string, Partial<Record<ReadSlot, Reading[]>>>();
  private readonly stopped = new AbortController();
  private polling = 0;
  private readonly now: () => number;

  constructor(opts: ReferencesOptions) {
    this.opts = opts;
    this.now = opts.now ?? (() => Date.now());
  }

  private get lingerMs() {
    return this.opts.lingerMs ?? 300_000;
  }

  /** A new record of reads, for one resolution. */
  session(): ReferenceReads {
    return { seen: new Map() };
  }

  /**
   * Reads an object as `as`: from the cache while it is current, else by joining a read in flight,
   * else by a GET as `as`. Returns undefined when it does not exist. Errors (403, NoKindMatch...)
   * are the API server's, unchanged. The read is recorded in `reads`.
   */
  async read(
    target: ObjectRef & { namespace: string },
    as: Identity,
    reads: ReferenceReads,
    signal?: AbortSignal,
  ): Promise<KubeObject | undefined> {
    const m = await this.opts.kube.mapping(target.apiVersion, target.kind);
    const r = this.reading(m, target, as);
    const now = this.now();
    r.usedAt = now;
    if (this.fresh(r, now)) {
      this.opts.metrics?.referenceReads.inc({ source: 'cache' });
      reads.seen.set(r, r.value!.seen);
      return r.value!.obj;
    }
    const joined = r.inflight !== undefined;
    try {
      const obj = await untilAborted(r.inflight ?? this.fetch(r), signal);
      this.opts.metrics?.referenceReads.inc({ source: joined ? 'shared' : 'api' });
      reads.seen.set(r, seenOf(obj));
      return obj;
    } catch (err) {
      reads.seen.set(r, failed);
      throw err;
    }
  }

  /** Records what a coupling (plug key) read in one slot: its changes requeue the coupling. */
  track(coupling: string, slot: ReadSlot, reads: ReferenceReads): void {
    const entry = this.couplings.get(coupling) ?? {};
    const prev = entry[slot] ?? [];
    const other = (slot === 'coupling' ? entry.results : entry.coupling) ?? [];
    const next: Reading[] = [];
    for (const [read, seen] of reads.seen) {
      const r = this.live(read);
      r.seen.set(coupling, seen);
      next.push(r);
    }
    for (const r of prev) if (!next.includes(r) && !other.includes(r)) this.unsee(r, coupling);
    if (next.length) entry[slot] = next;
    else delete entry[slot];
    if (entry.coupling || entry.results) this.couplings.set(coupling, entry);
    else this.couplings.delete(coupling);
  }

  /** The coupling is gone (its Plug was deleted). */
  forget(coupling: string): void {
    const entry = this.couplings.get(coupling);
    if (!entry) return;
    for (const r of [...(entry.coupling ?? []), ...(entry.results ?? [])]) this.unsee(r, coupling);
    this.couplings.delete(coupling);
  }

  /** A coupling no longer reads `r`; the last one to go drops it (a resolution still running re-adds it). */
  private unsee(r: Reading, coupling: string): void {
    r.seen.delete(coupling);
    if (r.seen.size === 0 && !r.inflight && this.readings.get(r.key) === r) this.drop(r);
  }

  /** Runs the housekeeping (polls, expiry, stopping unused watches) until the signal aborts. */
  async start(signal: AbortSignal): Promise<void> {
    const timer = setInterval(() => this.sweep(), 1000);
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    clearInterval(timer);
    this.stopped.abort();
    for (const s of this.scopes.values()) s.abort?.abort();
  }

  stats(): ReferenceStats {
    let cachedValues = 0;
    for (const r of this.readings.values()) if (r.value) cachedValues++;
    return {
      readings: this.readings.size,
      couplings: this.couplings.size,
      cachedValues,
      scopes: [...this.scopes.values()].map((s) => ({
        resource: resourceName(s.mapping),
        namespace: s.namespace,
        mode: s.mode,
        synced: s.informer?.hasSynced() ?? false,
        readings: s.readings,
        relists: s.informer?.relists ?? 0,
        restarts: s.informer?.restarts ?? 0,
      })),
    };
  }

  /** The reading of an object by an identity, created on first use (and its kind's watch started). */
  private reading(m: ResourceMapping, target: ObjectRef & { namespace: string }, as: Identity): Reading {
    const namespace = m.namespaced ? target.namespace : undefined;
    const ref = refKey(m, namespace, target.name);
    const key = `${ref}|${identityUser(as) ?? ''}`;
    const existing = this.readings.get(key);
    if (existing) return existing;
    const now = this.now();
    const r: Reading = {
      key,
      ref,
      target: {
        apiVersion: target.apiVersion,
        kind: target.kind,
        name: target.name,
        namespace: target.namespace,
      },
      as,
      scope: this.scope(m, namespace),
      seen: new Map(),
      value: undefined,
      inflight: undefined,
      nextPollAt: now + this.period(),
      usedAt: now,
    };
    this.add(r);
    return r;
  }

  private add(r: Reading): void {
    this.readings.set(r.key, r);
    let set = this.byRef.get(r.ref);
    if (!set) {
      set = new Set();
      this.byRef.set(r.ref, set);
    }
    set.add(r);
    r.scope.readings++;
    r.scope.idleSince = undefined;
    // A scope stopped for want of readings starts again.
    if (!this.scopes.has(r.scope.key)) {
      this.scopes.set(r.scope.key, r.scope);
      if (r.scope.mode === 'watch') this.startWatch(r.scope);
    }
  }

  private drop(r: Reading): void {
    this.readings.delete(r.key);
    const set = this.byRef.get(r.ref);
    set?.delete(r);
    if (set?.size === 0) this.byRef.delete(r.ref);
    r.scope.readings--;
  }

  /** The live reading for a recorded one (dropped meanwhile: recorded again). */
  private live(r: Reading): Reading {
    const current = this.readings.get(r.key);
    if (current) return current;
    this.add(r);
    return r;
  }

  private scope(m: ResourceMapping, namespace: string | undefined): Scope {
    // Namespaced kinds: one stream per watched namespace, or one for all namespaces.
    const ns = m.namespaced && this.opts.namespaces ? namespace : undefined;
    const key = `${m.group}/${m.resource}@${ns ?? '*'}`;
    const existing = this.scopes.get(key);
    if (existing) return existing;
    const s: Scope = {
      key,
      mapping: m,
      namespace: ns,
      mode: this.opts.watch ? 'watch' : 'poll',
      informer: undefined,
      abort: undefined,
      readings: 0,
      idleSince: undefined,
      retryWatchAt: undefined,
      refusals: 0,
      warned: false,
    };
    this.scopes.set(key, s);
    if (s.mode === 'watch') this.startWatch(s);
    return s;
  }

  private startWatch(s: Scope): void {
    const abort = new AbortController();
    const informer = new Informer<KubeObject>({
      client: this.opts.kube.client,
      resource: s.mapping,
      namespaces: s.namespace ? [s.namespace] : undefined,
      log: this.opts.log,
      metadataOnly: true,
      transform: versionOnly,
      onError: (err) => this.watchFailed(s, informer, err),
    });
    const changed = (o: KubeObject, seen: Seen) =>
      this.changed(refKey(s.mapping, o.metadata.namespace, o.metadata.name ?? ''), seen);
    informer.addHandler({
      onAdd: (o) => changed(o, seenOf(o)),
      onUpdate: (_old, o) => changed(o, seenOf(o)),
      onDelete: (o) => changed(o, absent),
    });
    s.mode = 'watch';
    s.informer = informer;
    s.abort = abort;
    s.retryWatchAt = undefined;
    informer.start(AbortSignal.any([abort.signal, this.stopped.signal])).catch((err: unknown) => {
      this.opts.log.error('metadata watch stopped', { err, scope: s.key });
    });
  }

  /**
   * A refused list or watch: poll from now on, and try watching again later. Refusals also happen
   * for a moment while an API server starts (its authorizer not ready yet): the first retry comes
   * after 5 s, doubling up to `watchRetryMs` while the refusals go on; changes made meanwhile are
   * found by the polls, and by the next watch's initial list.
   */
  private watchFailed(s: Scope, informer: Informer<KubeObject>, err: unknown): void {
    if (s.informer !== informer || !watchRefused(err)) return;
    s.abort?.abort();
    s.informer = undefined;
    s.abort = undefined;
    s.mode = 'poll';
    const now = this.now();
    s.refusals++;
    s.retryWatchAt = now + Math.min(this.opts.watchRetryMs ?? 300_000, 5_000 * 2 ** (s.refusals - 1));
    // Poll soon: changes made since the values were read are no longer reported.
    for (const r of this.readings.values()) {
      if (r.scope === s) r.nextPollAt = Math.min(r.nextPollAt, now + Math.random() * 1000);
    }
    if (!s.warned && s.refusals >= 3) {
      s.warned = true;
      const where = s.namespace ? `in namespace ${s.namespace}` : 'cluster-wide';
      this.opts.log.warn(
        `cannot watch the metadata of ${resourceName(s.mapping)} ${where}: polling each referenced object every ${Math.round(this.opts.ttlMs / 1000)} s instead (grant the operator list and watch on them: chart value referenceWatch)`,
        { err },
      );
    }
  }

  /** An object changed (or appeared, or went): requeue the couplings that saw another version. */
  private changed(ref: string, seen: Seen): void {
    for (const r of this.byRef.get(ref) ?? []) this.notify(r, seen);
  }

  private notify(r: Reading, seen: Seen): void {
    const v = r.value;
    if (v && v.seen !== seen && !isNewerResourceVersion(v.seen, seen)) r.value = undefined;
    for (const [coupling, s] of r.seen) if (s !== seen) this.opts.enqueue(coupling);
  }

  /** A value may be used: read within the period, and the watch (when there is one) knows no newer version. */
  private fresh(r: Reading, now: number): boolean {
    const v = r.value;
    if (!v || now - v.at >= this.opts.ttlMs) return false;
    const s = r.scope;
    if (s.mode !== 'watch' || !s.informer?.hasSynced()) return true;
    const current =
      s.informer.store.get(objectKey(s.mapping.namespaced ? r.target.namespace : undefined, r.target.name))
        ?.metadata.resourceVersion ?? absent;
    return current === v.seen || isNewerResourceVersion(v.seen, current);
  }

  /** One GET as the reading's identity, shared by everyone who asks meanwhile. */
  private fetch(r: Reading): Promise<KubeObject | undefined> {
    const p = (async () => {
      try {
        const obj = await this.opts.kube.get(r.target, { as: r.as, signal: this.stopped.signal });
        const kept = obj ? stripManagedFields(obj) : undefined;
        r.value = { obj: kept, seen: seenOf(kept), at: this.now() };
        return kept;
      } catch (err) {
        r.value = undefined;
        throw err;
      } finally {
        r.inflight = undefined;
        r.nextPollAt = this.now() + this.period();
      }
    })();
    // A caller that gave up (its signal aborted) leaves the read to finish on its own.
    p.catch(() => undefined);
    r.inflight = p;
    return p;
  }

  private period(): number {
    return Math.round(this.opts.ttlMs * (0.8 + Math.random() * 0.4));
  }

  /** Where there is no watch: one GET per (object, identity) per period; a change requeues its couplings. */
  private poll(r: Reading): void {
    this.polling++;
    this.opts.metrics?.referencePolls.inc();
    this.fetch(r)
      .then(
        (obj) => this.notify(r, seenOf(obj)),
        (err: unknown) => {
          // A right taken away is news for the couplings (they report Forbidden); anything else
          // (the API server restarting, a timeout) is tried again at the next period.
          if (err instanceof ApiError && (err.status === 403 || err.status === 401)) this.notify(r, failed);
          else this.opts.log.debug('poll of a referenced object failed', { err, ref: r.ref });
        },
      )
      .finally(() => {
        this.polling--;
      });
  }

  private sweep(): void {
    const now = this.now();
    const maxPolls = this.opts.maxPolls ?? 8;
    // Readings no coupling recorded (a resolution that failed before recording, say) are dropped
    // after a while: a resolution records its reads when it ends, which can take long (apparatus).
    const grace = Math.max(this.opts.ttlMs, 60_000);
    for (const r of this.readings.values()) {
      if (r.value && now - r.value.at >= this.opts.ttlMs) r.value = undefined;
      if (r.seen.size === 0) {
        if (!r.inflight && now - r.usedAt > grace) this.drop(r);
        continue;
      }
      if (r.scope.mode === 'poll' && !r.inflight && r.nextPollAt <= now && this.polling < maxPolls)
        this.poll(r);
    }
    const modes = { watch: 0, poll: 0 };
    for (const s of this.scopes.values()) {
      if (s.refusals && s.informer?.hasSynced()) s.refusals = 0;
      if (s.readings === 0) {
        s.idleSince ??= now;
        if (now - s.idleSince >= this.lingerMs) {
          s.abort?.abort();
          this.scopes.delete(s.key);
          continue;
        }
      } else if (
        s.mode === 'poll' &&
        this.opts.watch &&
        s.retryWatchAt !== undefined &&
        s.retryWatchAt <= now
      ) {
        this.startWatch(s);
      }
      modes[s.mode]++;
    }
    this.opts.metrics?.referenceScopes.set({ mode: 'watch' }, modes.watch);
    this.opts.metrics?.referenceScopes.set({ mode: 'poll' }, modes.poll);
  }
}

/** Awaits a shared promise, giving up (for this caller only) when its signal aborts. */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
