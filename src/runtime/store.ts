// An in-memory cache of objects by key, with secondary indexes (like client-go's Indexer).
// Reconcilers read from here, never from the server, on the hot path.
import type { KubeObject, ObjectKey } from '../kube/types.ts';
import { keyOf } from '../kube/types.ts';

export type IndexFunc<T> = (obj: T) => string[];

export class Store<T extends KubeObject> {
  private readonly items = new Map<ObjectKey, T>();
  private readonly indexers = new Map<string, IndexFunc<T>>();
  /** index name -> index value -> keys */
  private readonly indices = new Map<string, Map<string, Set<ObjectKey>>>();

  addIndex(name: string, fn: IndexFunc<T>): void {
    this.indexers.set(name, fn);
    const idx = new Map<string, Set<ObjectKey>>();
    this.indices.set(name, idx);
    for (const [key, obj] of this.items) for (const v of fn(obj)) addTo(idx, v, key);
  }

  get(key: ObjectKey): T | undefined {
    return this.items.get(key);
  }

  has(key: ObjectKey): boolean {
    return this.items.has(key);
  }

  list(): T[] {
    return [...this.items.values()];
  }

  keys(): ObjectKey[] {
    return [...this.items.keys()];
  }

  get size(): number {
    return this.items.size;
  }

  /** Objects whose index `name` contains `value`. */
  byIndex(name: string, value: string): T[] {
    const keys = this.indices.get(name)?.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const k of keys) {
      const o = this.items.get(k);
      if (o) out.push(o);
    }
    return out;
  }

  /** Keys whose index `name` contains `value`. */
  keysByIndex(name: string, value: string): ObjectKey[] {
    return [...(this.indices.get(name)?.get(value) ?? [])];
  }

  /** Values of index `name` (e.g. every socket key that some plug points at). */
  indexValues(name: string): string[] {
    return [...(this.indices.get(name)?.keys() ?? [])];
  }

  /** Inserts or replaces; returns the previous object. */
  upsert(obj: T): T | undefined {
    const key = keyOf(obj);
    const old = this.items.get(key);
    if (old) this.unindex(key, old);
    this.items.set(key, obj);
    for (const [name, fn] of this.indexers) {
      const idx = this.indices.get(name)!;
      for (const v of fn(obj)) addTo(idx, v, key);
    }
    return old;
  }

  delete(key: ObjectKey): T | undefined {
    const old = this.items.get(key);
    if (!old) return undefined;
    this.unindex(key, old);
    this.items.delete(key);
    return old;
  }

  private unindex(key: ObjectKey, obj: T): void {
    for (const [name, fn] of this.indexers) {
      const idx = this.indices.get(name)!;
      for (const v of fn(obj)) {
        const set = idx.get(v);
        if (!set) continue;
        set.delete(key);
        if (set.size === 0) idx.delete(v);
      }
    }
  }
}

function addTo(idx: Map<string, Set<ObjectKey>>, v: string, key: ObjectKey): void {
  let set = idx.get(v);
  if (!set) {
    set = new Set();
    idx.set(v, set);
  }
  set.add(key);
}

/**
 * Compares resourceVersions. They are opaque strings by contract; etcd-backed servers use decimal
 * integers, and since Kubernetes 1.35 (KEP-5504) they may be compared as such. Compared as
 * big decimal strings (no precision loss); anything else is treated as "not newer".
 */
export function isNewerResourceVersion(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  if (a.length !== b.length) return a.length > b.length;
  return a > b;
}
