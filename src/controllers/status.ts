// Writing status: a JSON merge patch of only what changed, on the status subresource, and the
// server's answer written through to the cache so the next reconcile never acts on a stale copy.
import type { Kube } from '../kube/objects.ts';
import type { KubeObject } from '../kube/types.ts';
import type { Informer } from '../runtime/informer.ts';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

/**
 * The RFC 7386 merge patch that turns `from` into `to` (undefined when equal). Arrays are replaced
 * whole; removed keys become null.
 */
export function mergePatchDiff(from: unknown, to: unknown): Json | undefined {
  if (deepEqual(from, to)) return undefined;
  if (!isPlainObject(from) || !isPlainObject(to)) return to === undefined ? null : (to as Json);
  const patch: Record<string, Json> = {};
  for (const k of Object.keys(from)) {
    if (from[k] !== undefined && to[k] === undefined) patch[k] = null;
  }
  for (const [k, v] of Object.entries(to)) {
    if (v === undefined) continue;
    const d = mergePatchDiff(from[k], v);
    if (d !== undefined) patch[k] = d;
  }
  return Object.keys(patch).length ? patch : undefined;
}

export { deepEqual };

/**
 * Patches `obj`'s status to `status` when it differs. Returns the updated object (written through
 * to `informer`), or the same object when nothing changed.
 */
export async function patchStatus<T extends KubeObject>(
  kube: Kube,
  informer: Informer<T>,
  obj: T,
  status: unknown,
  signal?: AbortSignal,
): Promise<T> {
  const diff = mergePatchDiff(obj.status, status);
  if (diff === undefined) return obj;
  const updated = await kube.mergePatch<T>(
    {
      apiVersion: obj.apiVersion ?? '',
      kind: obj.kind ?? '',
      namespace: obj.metadata.namespace,
      name: obj.metadata.name ?? '',
    },
    { status: diff },
    { subresource: 'status', ...(signal ? { signal } : {}) },
  );
  informer.observe(updated);
  return updated;
}

/**
 * Adds or removes a finalizer with a resourceVersion precondition (a concurrent change by someone
 * else is a conflict, retried by requeue, never overwritten). Returns the updated object.
 */
export async function setFinalizer<T extends KubeObject>(
  kube: Kube,
  informer: Informer<T>,
  obj: T,
  finalizer: string,
  present: boolean,
  signal?: AbortSignal,
): Promise<T> {
  const current = obj.metadata.finalizers ?? [];
  const has = current.includes(finalizer);
  if (has === present) return obj;
  const finalizers = present ? [...current, finalizer] : current.filter((f) => f !== finalizer);
  const updated = await kube.mergePatch<T>(
    {
      apiVersion: obj.apiVersion ?? '',
      kind: obj.kind ?? '',
      namespace: obj.metadata.namespace,
      name: obj.metadata.name ?? '',
    },
    { metadata: { finalizers, resourceVersion: obj.metadata.resourceVersion } },
    signal ? { signal } : {},
  );
  // Removing the last finalizer of a deleting object deletes it: nothing to write through.
  if (!(obj.metadata.deletionTimestamp && finalizers.length === 0)) informer.observe(updated);
  return updated;
}
