// Performing lifecycle events: for one side, the apparatus call, then that side's resources whose
// `when` includes the event (SPEC.md "Lifecycle" and "Templating"). Templated objects are applied
// by server-side apply as the owner's ServiceAccount, in the owner's namespace only.
import type { LifecycleEvent, Resource, ResourceAction } from '../api/common.ts';
import type { AppliedRef } from '../api/plug.ts';
import { couplingEventBody, idempotencyKey, objectEventBody } from '../apparatus/index.ts';
import { Reason } from '../integration/conditions.ts';
import type { Side } from '../integration/lifecycle.ts';
import type { StringMap } from '../integration/merge.ts';
import { validDo } from '../integration/spec-rules.ts';
import type { Identity } from '../kube/client.ts';
import { abortableDelay } from '../kube/client.ts';
import type { Kube } from '../kube/objects.ts';
import type { KubeObject, ObjectRef } from '../kube/types.ts';
import type { ApparatusService } from './apparatus.ts';
import { StepError, toStepError } from './errors.ts';
import { describeOwner, type Owner, withoutStatus } from './owner.ts';
import type { CouplingInputs, Results } from './resolve.ts';
import type { TemplateEngine } from './templates.ts';

export interface Outcome {
  /** Side effects performed (apparatus calls, objects applied or deleted): worth a checkpoint. */
  effects: number;
  applied: AppliedRef[];
  warnings: string[];
}

/** What a step may know and report beyond its own inputs. */
export interface StepHooks {
  /**
   * What this coupling applied so far. For decoupled: what to delete (unless another coupling
   * still uses it, `stillUsed`). For coupled and updated: which objects a recreate expects to find.
   */
  applied?: AppliedRef[];
  /** Called before a step that waits: an object recreated that is not gone at once. */
  beforeWait?: () => Promise<void>;
  signal?: AbortSignal;
}

export interface CouplingEventArgs extends StepHooks {
  side: Side;
  event: 'coupled' | 'updated' | 'decoupled';
  plug: Owner;
  /** Undefined when the socket is gone (a plug side decoupling can still run). */
  socket: Owner | undefined;
  socketUid: string;
  inputs: CouplingInputs | undefined;
  stillUsed?: (ref: AppliedRef) => boolean;
}

export interface Actions {
  ownerEvent(o: Owner, event: 'created' | 'deleted', signal?: AbortSignal): Promise<Outcome>;
  couplingEvent(args: CouplingEventArgs): Promise<Outcome>;
  resultResources(
    plug: Owner,
    socket: Owner,
    inputs: CouplingInputs,
    results: Results,
    hooks?: StepHooks,
  ): Promise<Outcome>;
  /** Deletes objects recorded for a coupling (decoupling when the owner's spec is gone). */
  deleteApplied(refs: AppliedRef[], as: Identity, signal?: AbortSignal): Promise<number>;
}

export { resourceSpecProblems, resourcesWithoutWhen } from '../integration/spec-rules.ts';

function isRetained(r: Resource): boolean {
  return Boolean(r.retainWhenDecoupled || r.preserveWhenDecoupled || r.when?.includes('decoupled'));
}

function hasTemplates(r: ResourceAction): boolean {
  return Boolean(r.template || r.templates?.length || r.stringTemplate || r.stringTemplates?.length);
}

/** True when two recorded objects are the same (side, kind and name). */
export function sameRef(a: AppliedRef, b: AppliedRef): boolean {
  return (
    a.side === b.side &&
    a.apiVersion === b.apiVersion &&
    a.kind === b.kind &&
    a.name === b.name &&
    (a.namespace ?? '') === (b.namespace ?? '')
  );
}

export function refOf(obj: KubeObject): ObjectRef {
  return {
    apiVersion: obj.apiVersion ?? '',
    kind: obj.kind ?? '',
    name: obj.metadata.name ?? '',
    ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
  };
}

export class DefaultActions implements Actions {
  private readonly kube: Kube;
  private readonly templates: TemplateEngine | undefined;
  private readonly apparatus: ApparatusService | undefined;
  private readonly allowClusterScoped: boolean;
  private readonly warn: (o: Owner, message: string) => void;
  private readonly namespaceTerminating: (namespace: string) => boolean;

  constructor(deps: {
    kube: Kube;
    templates?: TemplateEngine;
    apparatus?: ApparatusService;
    allowClusterScoped: boolean;
    /** Reports a Warning Event on the owner (namespace overridden, missing template key...). */
    warn: (o: Owner, message: string) => void;
    /** True for a namespace being deleted: its objects go with it, nothing to delete one by one. */
    namespaceTerminating?: (namespace: string) => boolean;
  }) {
    this.namespaceTerminating = deps.namespaceTerminating ?? (() => false);
    this.kube = deps.kube;
    this.templates = deps.templates;
    this.apparatus = deps.apparatus;
    this.allowClusterScoped = deps.allowClusterScoped;
    this.warn = deps.warn;
  }

  async ownerEvent(o: Owner, event: 'created' | 'deleted', signal?: AbortSignal): Promise<Outcome> {
    const out: Outcome = { effects: 0, applied: [], warnings: [] };
    const key = idempotencyKey({ ownerUid: o.uid, event, generation: o.generation });
    if (await this.apparatus?.event(o, event, objectEventBody(o.kind, o.raw as never), key, signal))
      out.effects++;
    const data = o.side === 'plug' ? { plug: o.raw } : { socket: o.raw };
    await this.runResources(o, event, data, o.uid, out, signal ? { signal } : {});
    return out;
  }

  async couplingEvent(args: CouplingEventArgs): Promise<Outcome> {
    const { side, event, plug, socket, inputs, signal } = args;
    const o = side === 'plug' ? plug : socket;
    if (!o)
      throw new StepError(Reason.Error, `the socket of this coupling is gone: its ${event} side cannot run`);
    const out: Outcome = { effects: 0, applied: [], warnings: [] };
    const plugConfig = inputs?.plug.config.values ?? {};
    const socketConfig = inputs?.socket.config.values ?? {};
    const key = idempotencyKey({
      ownerUid: o.uid,
      coupling: `${plug.uid}/${args.socketUid}`,
      event,
      generation: o.generation,
      // A coupling ends once: its decoupled keeps one key whatever its retries could resolve.
      ...(inputs && event !== 'decoupled' ? { inputsHash: inputs.hash } : {}),
    });
    const socketObj = socket?.raw ?? { metadata: {} };
    const body = couplingEventBody({
      side: o.kind,
      plug: plug.raw as never,
      socket: socketObj as never,
      plugConfig,
      socketConfig,
    });
    if (await this.apparatus?.event(o, event, body, key, signal)) out.effects++;
    const data = {
      plug: side === 'plug' ? plug.raw : withoutStatus(plug.raw),
      socket: side === 'socket' ? socketObj : withoutStatus(socketObj),
      plugConfig,
      socketConfig,
    };
    await this.runResources(
      o,
      event,
      data,
      `${o.uid}/${side === 'plug' ? args.socketUid : plug.uid}`,
      out,
      args,
    );
    if (event === 'decoupled' && args.applied?.length) {
      const mine = args.applied.filter(
        (r) => r.side === side && !r.retain && !(args.stillUsed?.(r) ?? false),
      );
      out.effects += await this.deleteApplied(mine, o.as, signal);
    }
    return out;
  }

  async resultResources(
    plug: Owner,
    socket: Owner,
    inputs: CouplingInputs,
    results: Results,
    hooks: StepHooks = {},
  ): Promise<Outcome> {
    const out: Outcome = { effects: 0, applied: [], warnings: [] };
    for (const o of [plug, socket]) {
      const list = o.spec.resultResources ?? [];
      if (!list.length) continue;
      const data = {
        plug: o === plug ? plug.raw : withoutStatus(plug.raw),
        socket: o === socket ? socket.raw : withoutStatus(socket.raw),
        plugConfig: inputs.plug.config.values,
        socketConfig: inputs.socket.config.values,
        plugResult: results.plug.values,
        socketResult: results.socket.values,
        result: (o === plug ? results.plug : results.socket).values,
      };
      for (let i = 0; i < list.length; i++) {
        const seed = `${o.uid}/${o === plug ? socket.uid : plug.uid}/resultResources[${i}]`;
        await this.runOne(o, list[i]!, `resultResources[${i}]`, seed, data, false, out, hooks);
      }
    }
    return out;
  }

  private async runResources(
    o: Owner,
    event: LifecycleEvent,
    data: Record<string, unknown>,
    seedBase: string,
    out: Outcome,
    hooks: StepHooks,
  ): Promise<void> {
    const list = o.spec.resources ?? [];
    for (let i = 0; i < list.length; i++) {
      const r = list[i]!;
      if (!r.when?.includes(event)) continue;
      // Objects applied for created/deleted belong to the owner, not to a coupling: never recorded.
      const record = event === 'coupled' || event === 'updated';
      await this.runOne(
        o,
        r,
        `resources[${i}]`,
        `${seedBase}/resources[${i}]`,
        data,
        record ? isRetained(r) : undefined,
        out,
        hooks,
      );
    }
  }

  /**
   * Renders one resource entry and performs its action on every object it yields. `seed` makes the
   * Go dialect's random functions stable per owner, coupling and position.
   */
  private async runOne(
    o: Owner,
    r: ResourceAction,
    where: string,
    seed: string,
    data: unknown,
    retain: boolean | undefined,
    out: Outcome,
    hooks: StepHooks,
  ): Promise<void> {
    if (!hasTemplates(r)) return;
    const { signal } = hooks;
    const what = `${where} of ${describeOwner(o)}`;
    const action = r.do ?? 'apply';
    if (!validDo.has(action))
      throw new StepError(Reason.ConfigInvalid, `${what}: unknown action ${JSON.stringify(action)}`);
    let objects: KubeObject[];
    if (!this.templates) {
      throw new StepError(Reason.TemplateError, `${what}: templating is not available`);
    }
    try {
      const rendered = await this.templates.renderResource(r, data, {
        seed,
        name: what,
        ...(signal ? { signal } : {}),
      });
      objects = rendered.objects;
      for (const w of rendered.warnings) this.warn(o, `${what}: ${w}`);
    } catch (err) {
      throw toStepError(err, what);
    }
    for (const obj of objects) {
      const target = await this.place(o, obj, what);
      try {
        if (action === 'delete') {
          if (
            await this.kube.delete(refOf(target), {
              as: o.as,
              propagationPolicy: 'Background',
              ...(signal ? { signal } : {}),
            })
          ) {
            out.effects++;
          }
          continue;
        }
        if (action === 'recreate') {
          const ref = refOf(target);
          const known = hooks.applied?.some((a) => sameRef(a, { side: o.side, ...ref })) ?? false;
          await this.recreate(target, o.as, known, hooks);
        } else {
          await this.kube.apply(target, { as: o.as, ...(signal ? { signal } : {}) });
        }
        out.effects++;
        if (retain !== undefined) {
          out.applied.push({ side: o.side, ...refOf(target), ...(retain ? { retain: true } : {}) });
        }
      } catch (err) {
        throw toStepError(
          err,
          `${what}: ${action} ${target.kind} ${target.metadata.namespace ?? ''}/${target.metadata.name}`,
        );
      }
    }
  }

  /**
   * Checks a rendered object and puts it in the owner's namespace: namespaced kinds are forced into
   * it (a Warning Event when the template named another); cluster-scoped kinds are refused unless
   * the operator allows them.
   */
  private async place(o: Owner, obj: KubeObject, what: string): Promise<KubeObject> {
    if (!obj || typeof obj !== 'object' || !obj.apiVersion || !obj.kind || !obj.metadata?.name) {
      throw new StepError(
        Reason.TemplateError,
        `${what}: a rendered resource needs apiVersion, kind and metadata.name`,
      );
    }
    let namespaced: boolean;
    try {
      namespaced = (await this.kube.mapping(obj.apiVersion, obj.kind)).namespaced;
    } catch (err) {
      throw toStepError(err, what);
    }
    if (!namespaced) {
      if (!this.allowClusterScoped) {
        throw new StepError(
          Reason.Forbidden,
          `${what}: ${obj.kind} ${obj.metadata.name} is cluster-scoped; templates may only create namespaced objects (the operator's allow-cluster-scoped-resources setting is off)`,
        );
      }
      const { namespace: _ns, ...metadata } = obj.metadata;
      return { ...obj, metadata };
    }
    if (obj.metadata.namespace && obj.metadata.namespace !== o.namespace) {
      this.warn(
        o,
        `${what}: ${obj.kind} ${obj.metadata.name} named namespace ${obj.metadata.namespace}; it was created in ${o.namespace}, the owner's namespace`,
      );
    }
    return { ...obj, metadata: { ...obj.metadata, namespace: o.namespace } };
  }

  /**
   * `do: recreate`: the object is created new, never applied over an old one (a Job's template
   * cannot change). An object this coupling has not applied yet (a first coupling) most likely does
   * not exist: it is created (one request, `createNew`), and an object found there after all (left
   * by an earlier coupling, applied before a crash, made by someone else) goes the other way. That
   * way deletes it with background propagation (so a Job's Pods go too) and creates it again; only
   * when the delete leaves it terminating (finalizers, a grace period) is the step announced
   * (`beforeWait`: the plug shows it in process) and the object waited for until it is gone. An
   * object created by someone else between the delete and the create is applied over, as before.
   */
  private async recreate(target: KubeObject, as: Identity, known: boolean, hooks: StepHooks): Promise<void> {
    const { signal } = hooks;
    const opts = { as, ...(signal ? { signal } : {}) };
    if (!known && (await this.kube.createNew(target, opts))) return;
    const ref = refOf(target);
    const outcome = await this.kube.deleteWithOutcome(ref, { ...opts, propagationPolicy: 'Background' });
    if (outcome === 'terminating') {
      await hooks.beforeWait?.();
      await this.waitUntilGone(ref, as, signal);
    }
    if (await this.kube.createNew(target, opts)) return;
    await this.kube.apply(target, opts);
  }

  /** Waits until a deleted object is really gone (a Job must be before it is applied again). */
  private async waitUntilGone(ref: ObjectRef, as: Identity, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + 120_000;
    let wait = 50;
    while (Date.now() < deadline) {
      const cur = await this.kube.get(ref, { as, ...(signal ? { signal } : {}) });
      if (!cur) return;
      await abortableDelay(wait, signal);
      wait = Math.min(wait * 2, 1000);
    }
    throw new StepError(
      Reason.Error,
      `recreate: ${ref.kind} ${ref.namespace ?? ''}/${ref.name} was still terminating after 120 s`,
    );
  }

  async deleteApplied(refs: AppliedRef[], as: Identity, signal?: AbortSignal): Promise<number> {
    let n = 0;
    for (const r of refs) {
      const { side: _side, retain: _retain, ...ref } = r;
      // In a namespace being deleted the objects go with it, and the ServiceAccount's Role may
      // already be gone: deleting them one by one would only fail.
      if (r.namespace && this.namespaceTerminating(r.namespace)) continue;
      try {
        if (
          await this.kube.delete(ref, { as, propagationPolicy: 'Background', ...(signal ? { signal } : {}) })
        )
          n++;
      } catch (err) {
        throw toStepError(err, `deleting ${r.kind} ${r.namespace ?? ''}/${r.name} applied for the coupling`);
      }
    }
    return n;
  }
}

export type { StringMap };
