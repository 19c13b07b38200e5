// The DeferredResource reconciler (SPEC.md "DeferredResource"): creates spec.resource once
// `timeout` seconds have passed since the DeferredResource was created and every waitFor object
// exists, all reads and writes as its ServiceAccount. The one writer of its status.
//
// Waking up: while objects are awaited the key is requeued with a capped backoff (0.5 s doubling to
// 10 s), not watched. A watch of the awaited objects would have to be opened as the ServiceAccount,
// so it would need `list`/`watch` on those kinds (for a Secret, that is reading every Secret of the
// namespace), where the Go operator's users granted `get`; and it would hold one connection per
// awaited object. The price is latency: measured in docs/deferred-resource.md. Objects created by
// another DeferredResource wake their waiters at once (an index over waitFor).
import { finalizer } from '../api/common.ts';
import {
  type DeferredResource,
  DeferredResourceSchema,
  type DeferredResourceStatus,
  type ResourceReference,
} from '../api/deferred-resource.ts';
import { Reason, setCondition } from '../integration/conditions.ts';
import {
  alreadyResolved,
  type CheckedSpec,
  checkResource,
  checkSpec,
  createdBy,
  delayEnd,
  delayRemainingMs,
  describeTarget,
  nextLookMs,
  objectIndexKey,
  objectToCreate,
  pendingMessage,
  placeResource,
  ResolvedReason,
  type ResolvedReasonName,
  resolvedCondition,
  type WaitTarget,
} from '../integration/deferred-resource.ts';
import type { Identity } from '../kube/client.ts';
import { identityUser } from '../kube/client.ts';
import { isAlreadyExists, isConflict } from '../kube/errors.ts';
import type { EventRecorder } from '../kube/events.ts';
import { NoKindMatchError, type ResourceMapping } from '../kube/mapper.ts';
import { fieldManager, type Kube } from '../kube/objects.ts';
import type { KubeObject, ObjectKey, ObjectRef } from '../kube/types.ts';
import type { Logger } from '../observe/log.ts';
import { type ReconcileResult, type Reconciler, TerminalError } from '../runtime/controller.ts';
import type { Informer } from '../runtime/informer.ts';
import { isInvalidObject, StepError, toStepError } from './errors.ts';
import { patchStatus, setFinalizer } from './status.ts';

export interface DeferredResourceContext {
  kube: Kube;
  recorder: EventRecorder;
  log: Logger;
  deferredResources: Informer<KubeObject>;
  /** Namespaces (to skip deleting into a namespace that is itself being deleted). */
  namespaces: Informer<KubeObject>;
  allowClusterScopedResources: boolean;
  /** Give up a failing deletion (deletionPolicy Delete) after this long and remove the finalizer. */
  cleanupTimeoutMs: number;
  now: () => Date;
  enqueue: (key: ObjectKey, afterMs?: number) => void;
}

export const deferredResourceIndex = {
  /** objectIndexKey of every object a DeferredResource waits for by name. */
  waitFor: 'waitFor',
} as const;

/** Discovery answers older than this are refreshed when a kind is awaited. */
const discoveryStalenessMs = 1_000;

type Parsed = { ok: true; value: DeferredResource } | { ok: false; error: string };
const parseCache = new WeakMap<KubeObject, Parsed>();

/** Parses a cached DeferredResource once per object version (cache entries are replaced, never mutated). */
export function parseDeferredResource(raw: KubeObject): Parsed {
  let p = parseCache.get(raw);
  if (!p) {
    const r = DeferredResourceSchema.safeParse(raw);
    p = r.success
      ? { ok: true, value: r.data }
      : {
          ok: false,
          error: r.error.issues
            .slice(0, 5)
            .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
            .join('; '),
        };
    parseCache.set(raw, p);
  }
  return p;
}

function refOf(
  id: { apiVersion: string; kind: string; name: string },
  m: ResourceMapping,
  namespace: string,
): ObjectRef {
  return { apiVersion: id.apiVersion, kind: id.kind, name: id.name, ...(m.namespaced ? { namespace } : {}) };
}

function where(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}

/** The mapping of a kind, or undefined while the API server does not serve it. */
async function mappingOf(kube: Kube, apiVersion: string, kind: string): Promise<ResourceMapping | undefined> {
  try {
    return await kube.mapper.resolve(apiVersion, kind, { maxStalenessMs: discoveryStalenessMs });
  } catch (err) {
    if (err instanceof NoKindMatchError) return undefined;
    throw err;
  }
}

/** When a key started waiting for objects (after its delay), per generation: the backoff's origin. */
interface Waiting {
  uid: string;
  generation: number;
  sinceMs: number;
}

/** One pass over one DeferredResource: the working copy of its status and how to report. */
class Pass {
  private readonly ctx: DeferredResourceContext;
  readonly signal: AbortSignal;
  raw: KubeObject;
  private readonly now: Date;
  private readonly previousReason: string | undefined;
  status: DeferredResourceStatus;

  constructor(
    ctx: DeferredResourceContext,
    raw: KubeObject,
    status: DeferredResourceStatus | undefined,
    signal: AbortSignal,
  ) {
    this.ctx = ctx;
    this.raw = raw;
    this.signal = signal;
    this.now = ctx.now();
    // Only our condition: the Go operator's `Failed` condition (and any other) is dropped.
    const conditions = (status?.conditions ?? []).filter((c) => c.type === resolvedCondition);
    this.previousReason = conditions[0]?.reason;
    this.status = { ...(status ?? {}), conditions };
  }

  get namespace(): string {
    return this.raw.metadata.namespace ?? '';
  }

  get uid(): string {
    return this.raw.metadata.uid ?? '';
  }

  resolved(reason: ResolvedReasonName, message: string): void {
    this.status.conditions = setCondition(
      this.status.conditions,
      {
        type: resolvedCondition,
        status: reason === ResolvedReason.Success ? 'True' : 'False',
        reason,
        message,
      },
      this.raw.metadata.generation,
      this.now,
    );
  }

  /** Writes the status; a Normal Event when the reason changed (failures are reported by fail()). */
  async write(): Promise<void> {
    this.raw = await patchStatus(
      this.ctx.kube,
      this.ctx.deferredResources,
      this.raw,
      this.status,
      this.signal,
    );
    const c = this.status.conditions?.[0];
    if (c?.reason && c.reason !== this.previousReason && c.status !== 'Unknown') {
      if (c.reason === ResolvedReason.Pending || c.reason === ResolvedReason.Success)
        this.ctx.recorder.record(this.raw, 'Normal', c.reason, c.message ?? '');
    }
  }

  /**
   * Records a failure (condition, Warning Event) and throws: a TerminalError when only a spec change
   * can fix it (retried when the spec changes), else a StepError retried with backoff.
   */
  async fail(err: unknown, context: string, terminal = false): Promise<never> {
    const e = toStepError(err, context);
    // Cut short by the operator stopping: not a failure to report (see plug.ts, fail).
    if (this.signal.aborted) throw e;
    const reason = e.reason === Reason.Forbidden ? ResolvedReason.Forbidden : ResolvedReason.Error;
    this.resolved(reason, e.message);
    this.ctx.recorder.record(this.raw, 'Warning', reason, e.message);
    try {
      await this.write();
    } catch (writeErr) {
      this.ctx.log.debug('could not record a failure in status', { err: writeErr });
    }
    const invalid = isInvalidObject(e.cause);
    if (terminal || invalid) throw new TerminalError(e.message, { cause: e });
    throw e;
  }

  warn(reason: string, message: string): void {
    this.ctx.recorder.record(this.raw, 'Warning', reason, message);
  }

  normal(reason: string, message: string): void {
    this.ctx.recorder.record(this.raw, 'Normal', reason, message);
  }

  get elapsedSinceDeletionMs(): number {
    const since = Date.parse(this.raw.metadata.deletionTimestamp ?? '');
    return Number.isNaN(since) ? 0 : this.now.getTime() - since;
  }

  get nowMs(): number {
    return this.now.getTime();
  }
}

export function createDeferredResourceReconciler(ctx: DeferredResourceContext): Reconciler {
  const waiting = new Map<ObjectKey, Waiting>();

  /**
   * Looks for every awaited object as the ServiceAccount (in parallel); returns how each missing one
   * reads. A failed read fails the pass, the first Forbidden one first (so the message says which
   * right is missing).
   */
  async function missingTargets(pass: Pass, targets: WaitTarget[], as: Identity): Promise<string[]> {
    type Look = { missing?: string; error?: StepError };
    const looks = await Promise.all(
      targets.map(async (t): Promise<Look> => {
        let m: ResourceMapping | undefined;
        try {
          m = await mappingOf(ctx.kube, t.apiVersion, t.kind);
        } catch (err) {
          return { error: toStepError(err, `waitFor[${t.index}]: discovery of ${t.kind} (${t.apiVersion})`) };
        }
        if (!m) return { missing: describeTarget(t, pass.namespace, undefined) };
        if (!t.name) return {};
        const ref = refOf({ apiVersion: t.apiVersion, kind: t.kind, name: t.name }, m, pass.namespace);
        try {
          const obj = await ctx.kube.get(ref, { as, signal: pass.signal });
          return obj ? {} : { missing: describeTarget(t, pass.namespace, m.namespaced) };
        } catch (err) {
          return {
            error: toStepError(err, `waitFor[${t.index}]: reading ${where(ref)} as ${identityUser(as)}`),
          };
        }
      }),
    );
    const errors = looks.flatMap((l) => (l.error ? [l.error] : []));
    const first = errors.find((e) => e.reason === Reason.Forbidden) ?? errors[0];
    if (first) return pass.fail(first, '');
    return looks.flatMap((l) => (l.missing ? [l.missing] : []));
  }

  async function finalize(pass: Pass, dr: DeferredResource | undefined): Promise<ReconcileResult> {
    const raw = pass.raw;
    if (!(raw.metadata.finalizers ?? []).includes(finalizer)) return undefined;
    const spec = (raw.spec ?? {}) as {
      deletionPolicy?: unknown;
      resource?: unknown;
      serviceAccountName?: unknown;
    };
    if (spec.deletionPolicy === 'Delete') {
      try {
        await deleteResource(pass, dr, spec);
      } catch (err) {
        const e = toStepError(err, 'deletionPolicy Delete');
        if (pass.signal.aborted) throw e;
        if (pass.elapsedSinceDeletionMs < ctx.cleanupTimeoutMs) return pass.fail(e, 'deleting the resource');
        pass.warn(
          'CleanupAbandoned',
          `gave up deleting the resource after ${Math.round(ctx.cleanupTimeoutMs / 1000)} s: ${e.message}`,
        );
      }
    }
    await setFinalizer(ctx.kube, ctx.deferredResources, raw, finalizer, false, pass.signal);
    return undefined;
  }

  /** deletionPolicy Delete: deletes the object this DeferredResource created, as its ServiceAccount. */
  async function deleteResource(
    pass: Pass,
    dr: DeferredResource | undefined,
    spec: { resource?: unknown; serviceAccountName?: unknown },
  ): Promise<void> {
    const recorded = pass.status.ownerReferences;
    const fromSpec = checkResource(spec.resource);
    const id =
      recorded?.apiVersion && recorded.kind && recorded.name
        ? { apiVersion: recorded.apiVersion, kind: recorded.kind, name: recorded.name }
        : fromSpec.ok
          ? fromSpec.value
          : undefined;
    if (!id) return;
    const m = await mappingOf(ctx.kube, id.apiVersion, id.kind);
    if (!m) return; // the kind is gone, so is the object
    const ref = refOf(id, m, pass.namespace);
    // A namespace being deleted deletes the object itself, maybe after the ServiceAccount's rights.
    if (m.namespaced && ctx.namespaces.store.get(pass.namespace)?.metadata.deletionTimestamp) return;
    const sa =
      (dr?.spec?.serviceAccountName ??
        (typeof spec.serviceAccountName === 'string' ? spec.serviceAccountName : '')) ||
      'default';
    const as: Identity = { serviceAccount: { namespace: pass.namespace, name: sa } };
    const live = await ctx.kube.get(ref, { as, signal: pass.signal });
    if (!live) return;
    const sameUid = !recorded?.uid || recorded.uid === live.metadata.uid;
    if (!createdBy(live, pass.uid) || !sameUid) {
      pass.normal(
        'ResourceRetained',
        `${where(ref)} was not created by this DeferredResource (it existed before, or was replaced): kept`,
      );
      return;
    }
    await ctx.kube.delete(ref, {
      as,
      propagationPolicy: 'Background',
      ...(live.metadata.uid ? { uid: live.metadata.uid } : {}),
      signal: pass.signal,
    });
    pass.normal('ResourceDeleted', `deleted ${where(ref)} as ${identityUser(as)} (deletionPolicy Delete)`);
  }

  async function resolve(
    pass: Pass,
    key: ObjectKey,
    spec: CheckedSpec,
    dr: DeferredResource,
  ): Promise<ReconcileResult> {
    const as: Identity = { serviceAccount: { namespace: pass.namespace, name: spec.serviceAccountName } };
    const generation = pass.raw.metadata.generation ?? 0;
    const created = pass.raw.metadata.creationTimestamp;
    const delayLeftMs = delayRemainingMs(created, spec.timeoutSeconds, new Date(pass.nowMs));
    const missing = await missingTargets(pass, spec.targets, as);

    // The resource's own kind must be served too (a custom resource right after its CRD).
    let mapping: ResourceMapping | undefined;
    if (delayLeftMs === 0 && missing.length === 0) {
      try {
        mapping = await mappingOf(ctx.kube, spec.resource.apiVersion, spec.resource.kind);
      } catch (err) {
        return pass.fail(err, `discovery of ${spec.resource.kind} (${spec.resource.apiVersion})`);
      }
      if (!mapping)
        missing.push(`kind ${spec.resource.kind} (${spec.resource.apiVersion}) of the resource to be served`);
    }

    if (delayLeftMs > 0 || missing.length || !mapping) {
      let waitedMs = 0;
      if (delayLeftMs === 0) {
        const w = waiting.get(key);
        if (!w || w.uid !== pass.uid || w.generation !== generation)
          waiting.set(key, { uid: pass.uid, generation, sinceMs: pass.nowMs });
        else waitedMs = pass.nowMs - w.sinceMs;
      }
      pass.resolved(
        ResolvedReason.Pending,
        pendingMessage({
          delayUntil: delayLeftMs > 0 ? delayEnd(created, spec.timeoutSeconds) : undefined,
          timeoutSeconds: spec.timeoutSeconds,
          missing,
        }),
      );
      await pass.write();
      return { requeueAfterMs: nextLookMs(delayLeftMs, missing.length, waitedMs) };
    }
    waiting.delete(key);

    const placed = placeResource(
      dr.spec?.resource as KubeObject,
      mapping.namespaced,
      pass.namespace,
      ctx.allowClusterScopedResources,
    );
    if (!placed.ok) return pass.fail(new StepError(Reason.Forbidden, placed.message), '', true);
    const ref = refOf(spec.resource, mapping, pass.namespace);
    if (placed.overriddenNamespace)
      pass.warn(
        'ResourceWarning',
        `spec.resource named namespace ${placed.overriddenNamespace}; ${spec.resource.kind} ${spec.resource.name} goes in ${pass.namespace}, the DeferredResource's namespace`,
      );

    const user = identityUser(as);
    let obj: KubeObject | undefined;
    try {
      obj = await ctx.kube.get(ref, { as, signal: pass.signal });
    } catch (err) {
      return pass.fail(err, `reading ${where(ref)} as ${user}`);
    }
    let createdNow = false;
    if (!obj) {
      try {
        obj = await ctx.kube.create(objectToCreate(placed.object, pass.uid), {
          as,
          manager: fieldManager,
          signal: pass.signal,
        });
        createdNow = true;
      } catch (err) {
        if (!isAlreadyExists(err)) return pass.fail(err, `creating ${where(ref)} as ${user}`);
        obj = await ctx.kube.get(ref, { as, signal: pass.signal });
        if (!obj)
          throw new StepError(Reason.Error, `${where(ref)} was created and deleted meanwhile: retrying`);
      }
    }
    const reference: ResourceReference = {
      apiVersion: obj.apiVersion ?? spec.resource.apiVersion,
      kind: obj.kind ?? spec.resource.kind,
      name: obj.metadata.name ?? spec.resource.name,
      uid: obj.metadata.uid ?? '',
    };
    pass.status.ownerReferences = reference;
    pass.resolved(
      ResolvedReason.Success,
      createdNow ? `created ${where(ref)} as ${user}` : `${where(ref)} already exists: left unchanged`,
    );
    await pass.write();
    // Another DeferredResource waiting for this object need not wait for its next look.
    for (const k of ctx.deferredResources.store.keysByIndex(
      deferredResourceIndex.waitFor,
      objectIndexKey(
        reference.apiVersion ?? '',
        reference.kind ?? '',
        ref.namespace ?? '',
        reference.name ?? '',
      ),
    ))
      if (k !== key) ctx.enqueue(k);
    return undefined;
  }

  return async ({ key, signal }): Promise<ReconcileResult> => {
    const raw = ctx.deferredResources.store.get(key);
    if (!raw) {
      waiting.delete(key);
      return undefined;
    }
    const parsed = parseDeferredResource(raw);
    const status = parsed.ok
      ? parsed.value.status
      : ((raw.status && typeof raw.status === 'object' ? raw.status : {}) as DeferredResourceStatus);
    const pass = new Pass(ctx, raw, status, signal);

    if (raw.metadata.deletionTimestamp) {
      waiting.delete(key);
      return finalize(pass, parsed.ok ? parsed.value : undefined);
    }
    if (!parsed.ok)
      return pass.fail(new StepError(Reason.Error, `invalid DeferredResource: ${parsed.error}`), '', true);
    const dr = parsed.value;
    // The finalizer exists only for deletionPolicy Delete: by default nothing waits on deletion.
    try {
      pass.raw = await setFinalizer(
        ctx.kube,
        ctx.deferredResources,
        pass.raw,
        finalizer,
        dr.spec?.deletionPolicy === 'Delete',
        signal,
      );
    } catch (err) {
      // A stale cache (409) is retried quietly; anything else is worth a condition.
      if (isConflict(err)) throw err;
      return pass.fail(err, 'updating the finalizer');
    }
    const checked = checkSpec(dr.spec);
    if (!checked.ok) {
      waiting.delete(key);
      return pass.fail(new StepError(Reason.Error, `invalid spec: ${checked.problem}`), '', true);
    }
    if (alreadyResolved(pass.status, checked.value.resource)) {
      // Resolved once for this object: never read or created again (see alreadyResolved).
      waiting.delete(key);
      const c = pass.status.conditions?.[0];
      if (c && c.observedGeneration !== raw.metadata.generation) {
        pass.status.conditions = [
          {
            ...c,
            ...(raw.metadata.generation !== undefined ? { observedGeneration: raw.metadata.generation } : {}),
          },
        ];
        await pass.write();
      }
      return undefined;
    }
    return resolve(pass, key, checked.value, dr);
  };
}
