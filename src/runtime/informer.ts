// List + watch into a Store, and tell handlers what changed.
//
// Owned here rather than taken from @kubernetes/client-node because its informer stops for good on
// any error other than 410 (kubernetes-client/javascript #795, #1496, #589; measured: after an API
// server restart it delivered nothing more). This loop never gives up: it re-watches from the last
// resourceVersion after an error (exponential backoff with jitter, honouring Retry-After), relists
// after 410 Gone, asks for bookmarks so a quiet watch keeps a fresh resourceVersion, paginates the
// list, and sets a server-side timeout so streams are renewed.
import type { KubeClient } from '../kube/client.ts';
import { abortableDelay } from '../kube/client.ts';
import { ApiError, isGone } from '../kube/errors.ts';
import { type ResourceMapping, resourcePath } from '../kube/mapper.ts';
import { metadataListAccept, metadataWatchAccept } from '../kube/metadata.ts';
import type { KubeList, KubeObject } from '../kube/types.ts';
import { keyOf } from '../kube/types.ts';
import type { Logger } from '../observe/log.ts';
import { isNewerResourceVersion, Store } from './store.ts';

export interface EventHandler<T> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

export interface InformerOptions<T extends KubeObject> {
  client: KubeClient;
  resource: Pick<ResourceMapping, 'group' | 'version' | 'resource' | 'namespaced' | 'kind'>;
  /** Namespaces to watch; undefined = all (cluster-wide list/watch). */
  namespaces?: string[] | undefined;
  labelSelector?: string;
  /** Applied to every object before it is stored (e.g. drop managedFields to save memory). */
  transform?: (obj: KubeObject) => T;
  log: Logger;
  pageSize?: number;
  /**
   * List and watch metadata only (PartialObjectMetadata): enough to see that an object changed
   * (its resourceVersion) without receiving its content.
   */
  metadataOnly?: boolean;
  /**
   * Told of every failed list or watch (after which the informer retries by itself). An owner that
   * cannot use the informer without a right (403) can stop it here.
   */
  onError?: (err: unknown) => void;
}

const lastApplied = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * Drops what the operator never reads but can be large: metadata.managedFields, and kubectl's
 * last-applied-configuration annotation (a second copy of the whole object).
 */
export function stripManagedFields<T extends KubeObject>(obj: KubeObject): T {
  const m = obj.metadata;
  if (!m || (!m.managedFields && !(m.annotations && lastApplied in m.annotations))) return obj as T;
  const { managedFields: _, ...metadata } = m;
  if (metadata.annotations && lastApplied in metadata.annotations) {
    const { [lastApplied]: _drop, ...annotations } = metadata.annotations;
    metadata.annotations = annotations;
  }
  return { ...obj, metadata } as T;
}

export class Informer<T extends KubeObject> {
  readonly store = new Store<T>();
  readonly kind: string;
  private readonly opts: InformerOptions<T>;
  private readonly handlers: EventHandler<T>[] = [];
  private syncedStreams = 0;
  private readonly streams: Array<string | undefined>;
  private syncWaiters: Array<() => void> = [];
  /** Counts (re)starts of list/watch after errors, for tests and metrics. */
  restarts = 0;
  relists = 0;

  constructor(opts: InformerOptions<T>) {
    this.opts = opts;
    this.kind = opts.resource.kind;
    this.streams = opts.resource.namespaced && opts.namespaces?.length ? [...opts.namespaces] : [undefined];
  }

  addHandler(h: EventHandler<T>): void {
    this.handlers.push(h);
  }

  hasSynced(): boolean {
    return this.syncedStreams >= this.streams.length;
  }

  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.hasSynced()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.syncWaiters.push(resolve);
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  }

  /** Runs until the signal aborts. Never rejects for API errors: it retries. */
  async start(signal: AbortSignal): Promise<void> {
    await Promise.all(this.streams.map((ns) => this.runStream(ns, signal)));
  }

  /**
   * Records an object the operator itself just wrote (write-through), so the next reconcile does not
   * act on a stale copy. Ignored unless newer than what the store holds. Handlers are told, as for a
   * watch event; the watch event for the same resourceVersion is then a no-op.
   */
  observe(raw: KubeObject): void {
    const obj = this.transform(raw);
    const old = this.store.get(keyOf(obj));
    // Only ever refresh an object the cache holds: the watch may already have delivered its
    // deletion (the answer to a finalizer removal can arrive after the DELETED event), and an
    // observe() must never bring a deleted object back.
    if (!old || old.metadata.uid !== obj.metadata.uid) return;
    if (!isNewerResourceVersion(obj.metadata.resourceVersion, old.metadata.resourceVersion)) return;
    this.store.upsert(obj);
    this.emitUpdate(old, obj);
  }

  private transform(raw: KubeObject): T {
    return this.opts.transform ? this.opts.transform(raw) : stripManagedFields<T>(raw);
  }

  private path(namespace: string | undefined): string {
    return resourcePath(this.opts.resource, namespace);
  }

  private async runStream(namespace: string | undefined, signal: AbortSignal): Promise<void> {
    const log = this.opts.log.child({ informer: this.kind, ...(namespace ? { namespace } : {}) });
    let rv: string | undefined;
    let synced = false;
    let backoffMs = 250;
    while (!signal.aborted) {
      try {
        if (rv === undefined) {
          rv = await this.relist(namespace, signal);
          this.relists++;
          if (!synced) {
            synced = true;
            this.markSynced();
          }
        }
        const startedAt = Date.now();
        await this.opts.client.watch<KubeObject>(
          this.path(namespace),
          {
            resourceVersion: rv,
            allowWatchBookmarks: true,
            // Renew streams every 5-10 minutes, spread so informers do not reconnect together.
            timeoutSeconds: 300 + Math.floor(Math.random() * 300),
            labelSelector: this.opts.labelSelector,
          },
          (ev) => {
            const next = ev.object?.metadata?.resourceVersion;
            if (ev.type === 'BOOKMARK') {
              if (next) rv = next;
              return;
            }
            this.apply(ev.type, ev.object);
            if (next) rv = next;
          },
          signal,
          this.opts.metadataOnly ? { accept: metadataWatchAccept } : {},
        );
        if (Date.now() - startedAt > 1000) backoffMs = 250;
      } catch (err) {
        if (signal.aborted) break;
        this.opts.onError?.(err);
        if (signal.aborted) break;
        if (isGone(err)) {
          log.debug('watch expired (410 Gone): relisting');
          rv = undefined;
          continue;
        }
        this.restarts++;
        const retryAfter =
          err instanceof ApiError && err.retryAfterSeconds ? err.retryAfterSeconds * 1000 : 0;
        const wait = Math.max(retryAfter, backoffMs * (0.5 + Math.random()));
        log.warn('list/watch failed: retrying', { err, retryInMs: Math.round(wait) });
        backoffMs = Math.min(backoffMs * 2, 30_000);
        try {
          await abortableDelay(wait, signal);
        } catch {
          break;
        }
      }
    }
  }

  private markSynced(): void {
    this.syncedStreams++;
    if (this.hasSynced()) for (const w of this.syncWaiters.splice(0)) w();
  }

  /** Lists (paginated) and reconciles the store with the result; returns the list's resourceVersion. */
  private async relist(namespace: string | undefined, signal: AbortSignal): Promise<string> {
    const items: KubeObject[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.opts.client.request<KubeList<KubeObject>>({
        method: 'GET',
        path: this.path(namespace),
        query: { limit: this.opts.pageSize ?? 500, continue: cont, labelSelector: this.opts.labelSelector },
        signal,
        timeoutMs: 60_000,
        ...(this.opts.metadataOnly ? { accept: metadataListAccept } : {}),
      });
      // An empty PartialObjectMetadataList has `items: null`.
      items.push(...(page.items ?? []));
      cont = page.metadata.continue || undefined;
      rv = page.metadata.resourceVersion ?? rv;
    } while (cont);
    const seen = new Set<string>();
    for (const raw of items) {
      // List items carry no apiVersion/kind; restore them so objects look the same as watched ones.
      const obj = this.transform({
        ...raw,
        apiVersion: groupVersion(this.opts.resource),
        kind: this.opts.resource.kind,
      });
      const key = keyOf(obj);
      seen.add(key);
      const old = this.store.get(key);
      if (old && old.metadata.resourceVersion === obj.metadata.resourceVersion) continue;
      this.store.upsert(obj);
      if (old) this.emitUpdate(old, obj);
      else this.emitAdd(obj);
    }
    for (const key of this.store.keys()) {
      const obj = this.store.get(key)!;
      if (namespace !== undefined && obj.metadata.namespace !== namespace) continue;
      if (!seen.has(key)) {
        this.store.delete(key);
        this.emitDelete(obj);
      }
    }
    return rv;
  }

  private apply(type: string, raw: KubeObject): void {
    const obj = this.transform(raw);
    const key = keyOf(obj);
    if (type === 'DELETED') {
      const old = this.store.delete(key);
      this.emitDelete(old ?? obj);
      return;
    }
    const old = this.store.get(key);
    if (old && !isNewerResourceVersion(obj.metadata.resourceVersion, old.metadata.resourceVersion)) {
      // Already known (e.g. written through by observe()), unless the server's versions are not
      // comparable, in which case a differing version is news.
      if (old.metadata.resourceVersion === obj.metadata.resourceVersion) return;
      if (/^\d+$/.test(obj.metadata.resourceVersion ?? '')) return;
    }
    this.store.upsert(obj);
    if (old) this.emitUpdate(old, obj);
    else this.emitAdd(obj);
  }

  private emitAdd(obj: T): void {
    for (const h of this.handlers) this.safe(() => h.onAdd?.(obj));
  }
  private emitUpdate(old: T, obj: T): void {
    for (const h of this.handlers) this.safe(() => h.onUpdate?.(old, obj));
  }
  private emitDelete(obj: T): void {
    for (const h of this.handlers) this.safe(() => h.onDelete?.(obj));
  }
  private safe(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.opts.log.error('informer handler failed', { err, informer: this.kind });
    }
  }
}

function groupVersion(r: Pick<ResourceMapping, 'group' | 'version'>): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}
