// The apparatus as the reconcilers use it: resolve where an owner's apparatus is, make sure its
// managed Pod runs (when it has one), and call it.
import {
  type AllowList,
  type ApparatusClient,
  type ApparatusTarget,
  configRequestBody,
  type EndpointOverrides,
  resolveApparatusUrl,
} from '../apparatus/index.ts';
import type { Side } from '../integration/lifecycle.ts';
import type { StringMap } from '../integration/merge.ts';
import type { KubeObject } from '../kube/types.ts';
import { toStepError } from './errors.ts';
import { describeOwner, type Owner } from './owner.ts';

export interface ConfigCall {
  side: Side;
  plug: KubeObject;
  socket: KubeObject;
  plugData: StringMap;
  socketData: StringMap;
  vars: StringMap | undefined;
}

export interface ApparatusService {
  /** The owner's /config answer, or undefined when it has no apparatus. */
  config(o: Owner, call: ConfigCall, signal?: AbortSignal): Promise<StringMap | undefined>;
  /** Calls an event endpoint; false when the owner has no apparatus. */
  event(
    o: Owner,
    event: string,
    body: unknown,
    idempotencyKey: string,
    signal?: AbortSignal,
  ): Promise<boolean>;
}

/** Starts (or finds) an owner's managed apparatus Pod and Service, and waits until it answers. */
export interface ManagedApparatus {
  ensure(o: Owner, target: ApparatusTarget, signal?: AbortSignal): Promise<void>;
  touch(o: Owner, target: ApparatusTarget): void;
}

export class DefaultApparatusService implements ApparatusService {
  private readonly client: ApparatusClient;
  private readonly allowedHosts: AllowList;
  private readonly overrides: EndpointOverrides | undefined;
  private readonly managed: ManagedApparatus | undefined;
  private readonly managedUrlTemplate: string | undefined;

  constructor(deps: {
    client: ApparatusClient;
    allowedHosts: AllowList;
    overrides?: EndpointOverrides;
    managed?: ManagedApparatus;
    /**
     * Where managed apparatus Services are reached, e.g. `http://{name}.{namespace}.svc.example.org`
     * (another cluster domain) or `http://127.0.0.1:8000/{namespace}/{name}` (an operator run
     * outside the cluster through a proxy; tests). Default: `http://{name}.{namespace}.svc.cluster.local`.
     */
    managedUrlTemplate?: string;
  }) {
    this.client = deps.client;
    this.allowedHosts = deps.allowedHosts;
    this.overrides = deps.overrides;
    this.managed = deps.managed;
    this.managedUrlTemplate = deps.managedUrlTemplate;
  }

  /** The owner's apparatus, or undefined when it declares none. */
  private async target(o: Owner, signal?: AbortSignal): Promise<ApparatusTarget | undefined> {
    const spec = o.spec.apparatus;
    if (!spec) return undefined;
    let target: ApparatusTarget;
    try {
      target = resolveApparatusUrl({
        ownerKind: o.kind,
        ownerName: o.name,
        namespace: o.namespace,
        apparatus: spec,
        overrides: this.overrides,
        allowedHosts: this.allowedHosts,
      });
    } catch (err) {
      throw toStepError(err, `apparatus of ${describeOwner(o)}`);
    }
    if (target.managedPod && this.managedUrlTemplate) {
      const base = this.managedUrlTemplate
        .replaceAll('{name}', target.podName)
        .replaceAll('{namespace}', o.namespace);
      target = {
        ...target,
        baseUrl: `${base.replace(/\/$/, '')}${(spec.endpoint ?? '').replace(/\/$/, '')}`,
        guarded: false,
      };
    }
    if (target.managedPod) {
      if (!this.managed)
        throw toStepError(
          new Error('managed apparatus Pods are not enabled'),
          `apparatus of ${describeOwner(o)}`,
        );
      await this.managed.ensure(o, target, signal);
      this.managed.touch(o, target);
    }
    return target;
  }

  // Failures name the owner's side: a socket reports the failures of its side of its couplings.
  async config(o: Owner, call: ConfigCall, signal?: AbortSignal): Promise<StringMap | undefined> {
    try {
      const target = await this.target(o, signal);
      if (!target) return undefined;
      return await this.client.config(target, configRequestBody({ ...call, side: o.kind } as never), {
        signal,
      });
    } catch (err) {
      throw toStepError(err, `apparatus /config of ${describeOwner(o)}`).onSide(o.side);
    }
  }

  async event(
    o: Owner,
    event: string,
    body: unknown,
    idempotencyKey: string,
    signal?: AbortSignal,
  ): Promise<boolean> {
    try {
      const target = await this.target(o, signal);
      if (!target) return false;
      await this.client.event(target, event as never, body as never, { idempotencyKey, signal });
    } catch (err) {
      throw toStepError(err, `apparatus /${event} of ${describeOwner(o)}`).onSide(o.side);
    }
    return true;
  }
}
