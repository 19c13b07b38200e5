// The decisions of a DeferredResource, without I/O (SPEC.md "DeferredResource"): is the spec
// usable, what is still awaited (the delay left, the missing objects), when to look again, where
// the resource goes, and whether it was already resolved. The reconciler feeds in what it read.
import {
  createdByAnnotation,
  type DeferredResourceSpec,
  type DeferredResourceStatus,
  type ResourceReference,
  type WaitForTarget,
} from '../api/deferred-resource.ts';
import type { KubeObject } from '../kube/types.ts';

export const resolvedCondition = 'Resolved';

export const ResolvedReason = {
  Pending: 'Pending',
  Success: 'Success',
  Error: 'Error',
  Forbidden: 'Forbidden',
} as const;
export type ResolvedReasonName = (typeof ResolvedReason)[keyof typeof ResolvedReason];

/** Polling while objects are awaited: the first look again after 0.5 s, doubling up to 10 s. */
export const pollMinMs = 500;
export const pollMaxMs = 10_000;
/** Longest single requeue (Node timers overflow past 2^31 ms, and a long delay is re-checked anyway). */
export const maxRequeueMs = 3_600_000;

const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const dns1035Label = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const kindPattern = /^[A-Za-z][A-Za-z0-9]*$/;

/** A problem with an apiVersion string (`v1`, `apps/v1`), or undefined when it is well formed. */
export function apiVersionProblem(apiVersion: string): string | undefined {
  const parts = apiVersion.split('/');
  const bad = () =>
    `apiVersion ${JSON.stringify(apiVersion)} is not of the form "version" or "group/version" (e.g. "v1", "apps/v1")`;
  if (parts.length > 2) return bad();
  const version = parts[parts.length - 1]!;
  const group = parts.length === 2 ? parts[0]! : '';
  if (!dns1035Label.test(version) || version.length > 63) return bad();
  if (parts.length === 2 && (!dns1123Subdomain.test(group) || group.length > 253)) return bad();
  return undefined;
}

export function groupOf(apiVersion: string): string {
  const i = apiVersion.indexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}

/** One waitFor entry, checked: the kind (always) and the object's name (unless only the kind is awaited). */
export interface WaitTarget {
  index: number;
  apiVersion: string;
  kind: string;
  name?: string;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; problem: string };

export function checkWaitFor(w: WaitForTarget, index: number): Checked<WaitTarget> {
  const where = `waitFor[${index}]`;
  let apiVersion = w.apiVersion || undefined;
  if (!apiVersion) {
    if (w.group && !w.version) return { ok: false, problem: `${where}: group ${w.group} needs a version` };
    if (w.version) apiVersion = w.group ? `${w.group}/${w.version}` : w.version;
  }
  if (!apiVersion) return { ok: false, problem: `${where}: no apiVersion (or group and version)` };
  const avp = apiVersionProblem(apiVersion);
  if (avp) return { ok: false, problem: `${where}: ${avp}` };
  if (!w.kind) return { ok: false, problem: `${where}: no kind` };
  if (!kindPattern.test(w.kind))
    return { ok: false, problem: `${where}: kind ${JSON.stringify(w.kind)} is not a kind` };
  return { ok: true, value: { index, apiVersion, kind: w.kind, ...(w.name ? { name: w.name } : {}) } };
}

/** The identity of the object to create. */
export interface ResourceIdentity {
  apiVersion: string;
  kind: string;
  name: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function checkResource(resource: unknown): Checked<ResourceIdentity> {
  if (resource === undefined || resource === null)
    return { ok: false, problem: 'spec.resource is missing: there is nothing to create' };
  if (!isRecord(resource)) return { ok: false, problem: 'spec.resource must be an object' };
  const { apiVersion, kind } = resource;
  const metadata = isRecord(resource.metadata) ? resource.metadata : {};
  const problems: string[] = [];
  if (typeof apiVersion !== 'string' || !apiVersion) problems.push('spec.resource has no apiVersion');
  else {
    const avp = apiVersionProblem(apiVersion);
    if (avp) problems.push(`spec.resource: ${avp}`);
  }
  if (typeof kind !== 'string' || !kind) problems.push('spec.resource has no kind');
  else if (!kindPattern.test(kind))
    problems.push(`spec.resource: kind ${JSON.stringify(kind)} is not a kind`);
  const name = metadata.name;
  if (typeof name !== 'string' || !name)
    problems.push(
      'spec.resource has no metadata.name (generateName is not supported: the resource is created once, by name)',
    );
  if (problems.length) return { ok: false, problem: problems.join('; ') };
  return {
    ok: true,
    value: { apiVersion: apiVersion as string, kind: kind as string, name: name as string },
  };
}

export interface CheckedSpec {
  targets: WaitTarget[];
  resource: ResourceIdentity;
  serviceAccountName: string;
  timeoutSeconds: number;
  deletionPolicy: 'Retain' | 'Delete';
}

/** Everything wrong with a spec (all of it, so one edit can fix it), or the checked spec. */
export function checkSpec(spec: DeferredResourceSpec | undefined): Checked<CheckedSpec> {
  const problems: string[] = [];
  if (!spec || Object.keys(spec).length === 0)
    return { ok: false, problem: 'spec is empty: it needs at least a resource to create' };
  const targets: WaitTarget[] = [];
  (spec.waitFor ?? []).forEach((w, i) => {
    const c = checkWaitFor(w ?? {}, i);
    if (c.ok) targets.push(c.value);
    else problems.push(c.problem);
  });
  const resource = checkResource(spec.resource);
  if (!resource.ok) problems.push(resource.problem);
  const serviceAccountName = spec.serviceAccountName || 'default';
  if (!dns1123Subdomain.test(serviceAccountName) || serviceAccountName.length > 253)
    problems.push(
      `serviceAccountName ${JSON.stringify(serviceAccountName)} is not a valid ServiceAccount name`,
    );
  if (problems.length || !resource.ok) return { ok: false, problem: problems.join('; ') };
  return {
    ok: true,
    value: {
      targets,
      resource: resource.value,
      serviceAccountName,
      timeoutSeconds: Math.max(0, spec.timeout ?? 0),
      deletionPolicy: spec.deletionPolicy === 'Delete' ? 'Delete' : 'Retain',
    },
  };
}

/** When the delay ends (creation + timeout), or undefined without a delay. */
export function delayEnd(creationTimestamp: string | undefined, timeoutSeconds: number): Date | undefined {
  if (timeoutSeconds <= 0) return undefined;
  const created = creationTimestamp ? Date.parse(creationTimestamp) : Number.NaN;
  if (Number.isNaN(created)) return undefined;
  return new Date(created + timeoutSeconds * 1000);
}

/** Milliseconds of delay left (0 when over or without a delay). */
export function delayRemainingMs(
  creationTimestamp: string | undefined,
  timeoutSeconds: number,
  now: Date,
): number {
  const end = delayEnd(creationTimestamp, timeoutSeconds);
  return end ? Math.max(0, end.getTime() - now.getTime()) : 0;
}

/**
 * How long to wait before looking for the missing objects again, given how long they have been
 * awaited: as long again (so the interval doubles: 0.5, 0.5, 1, 2, 4, 8 s), at least 0.5 s and at
 * most 10 s. Stateless but for the start of the wait, so no counter has to survive anything.
 */
export function pollIntervalMs(waitingForMs: number): number {
  return Math.min(pollMaxMs, Math.max(pollMinMs, Math.floor(waitingForMs)));
}

/** When to reconcile a pending DeferredResource again. */
export function nextLookMs(delayLeftMs: number, missing: number, waitingForMs: number): number {
  // During the delay nothing can be created: wake when it ends (the objects are looked for then).
  if (delayLeftMs > 0) return Math.min(maxRequeueMs, delayLeftMs);
  return missing > 0 ? pollIntervalMs(waitingForMs) : 0;
}

/** Kubernetes-style timestamp, second precision. */
function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The Pending message: what is still awaited. Stable while nothing changes (no countdown). */
export function pendingMessage(p: {
  delayUntil?: Date | undefined;
  timeoutSeconds: number;
  missing: string[];
}): string {
  const parts: string[] = [];
  if (p.delayUntil)
    parts.push(`waiting until ${rfc3339(p.delayUntil)} (timeout: ${p.timeoutSeconds} s after creation)`);
  if (p.missing.length) parts.push(`waiting for ${p.missing.join(', ')}`);
  return parts.length ? parts.join('; ') : 'waiting';
}

/** How an awaited target reads in messages. */
export function describeTarget(t: WaitTarget, namespace: string, namespaced: boolean | undefined): string {
  if (!t.name) return `kind ${t.kind} (${t.apiVersion}) to be served`;
  if (namespaced === undefined) return `${t.kind} ${t.name} (${t.apiVersion}; kind not served yet)`;
  return `${t.kind} ${namespaced ? `${namespace}/` : ''}${t.name}`;
}

/** Same object: group, kind and name (the version does not change what object it is). */
export function sameObject(ref: ResourceReference | undefined, id: ResourceIdentity): boolean {
  return Boolean(
    ref?.name &&
      ref.kind === id.kind &&
      ref.name === id.name &&
      groupOf(ref.apiVersion ?? '') === groupOf(id.apiVersion),
  );
}

/**
 * Already resolved for this resource: Success recorded for the same object. Then nothing is read or
 * created again, so a resource deleted later (a finished Job cleaned up by its TTL) is not re-created.
 * A status written by the Go operator (Success and ownerReferences) counts too.
 */
export function alreadyResolved(status: DeferredResourceStatus | undefined, id: ResourceIdentity): boolean {
  const c = status?.conditions?.find((x) => x.type === resolvedCondition);
  return (
    c?.status === 'True' && c.reason === ResolvedReason.Success && sameObject(status?.ownerReferences, id)
  );
}

export type Placement =
  | { ok: true; object: KubeObject; overriddenNamespace?: string }
  | { ok: false; message: string };

/**
 * Where the resource goes: a namespaced kind into the DeferredResource's namespace (reporting the
 * namespace it named instead, if any); a cluster-scoped kind only when the operator allows it.
 */
export function placeResource(
  resource: KubeObject,
  namespaced: boolean,
  namespace: string,
  allowClusterScoped: boolean,
): Placement {
  const metadata = { ...(resource.metadata ?? {}) };
  if (!namespaced) {
    if (!allowClusterScoped)
      return {
        ok: false,
        message: `${resource.kind} ${metadata.name} is cluster-scoped: a DeferredResource may only create namespaced objects (the operator's allow-cluster-scoped-resources setting is off)`,
      };
    delete metadata.namespace;
    return { ok: true, object: { ...resource, metadata } };
  }
  const named = metadata.namespace;
  metadata.namespace = namespace;
  return {
    ok: true,
    object: { ...resource, metadata },
    ...(named && named !== namespace ? { overriddenNamespace: named } : {}),
  };
}

/** Metadata the server sets: a copy of a live object would be refused (resourceVersion) or misleading. */
const serverSetMetadata = [
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
];

/** The object sent to the API server: server-set metadata dropped, marked with the creator's UID. */
export function objectToCreate(placed: KubeObject, creatorUid: string): KubeObject {
  const metadata: Record<string, unknown> = { ...placed.metadata };
  for (const k of serverSetMetadata) delete metadata[k];
  const annotations = isRecord(metadata.annotations) ? (metadata.annotations as Record<string, string>) : {};
  metadata.annotations = { ...annotations, [createdByAnnotation]: creatorUid };
  const { status: _status, ...rest } = placed;
  return { ...rest, metadata } as KubeObject;
}

/** True when the live object was created by the DeferredResource with this UID. */
export function createdBy(obj: KubeObject, creatorUid: string): boolean {
  return Boolean(creatorUid) && obj.metadata.annotations?.[createdByAnnotation] === creatorUid;
}

/** Index key of an object a DeferredResource may wait for (namespace '' for cluster-scoped). */
export function objectIndexKey(apiVersion: string, kind: string, namespace: string, name: string): string {
  return `${groupOf(apiVersion)}|${kind}|${namespace}|${name}`;
}

/**
 * The index keys of the objects a DeferredResource waits for by name: as a namespaced object in its
 * namespace and as a cluster-scoped one (which it is is only known through discovery).
 */
export function waitForIndexKeys(namespace: string, spec: DeferredResourceSpec | undefined): string[] {
  const out: string[] = [];
  (spec?.waitFor ?? []).forEach((w, i) => {
    const c = checkWaitFor(w ?? {}, i);
    if (!c.ok || !c.value.name) return;
    out.push(objectIndexKey(c.value.apiVersion, c.value.kind, namespace, c.value.name));
    out.push(objectIndexKey(c.value.apiVersion, c.value.kind, '', c.value.name));
  });
  return out;
}
