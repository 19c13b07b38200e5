// Apparatus Pods the operator runs on demand (SPEC.md "Apparatus"): a Pod and a ClusterIP Service
// named `<owner>-plug-apparatus` / `<owner>-socket-apparatus`, created as the owner's ServiceAccount
// (never with the operator's rights), owned by the Plug/Socket, started when a call needs them,
// and deleted after `idleTimeout` seconds without calls. The last use is recorded on the Pod (an
// annotation), not in memory, so idle reaping survives operator restarts: after a restart the
// reaper looks at every owner with containers in the cache and reads its Pod's annotation.
import { createHash } from 'node:crypto';
import type { ApparatusClient, ApparatusTarget } from '../apparatus/index.ts';
import { apparatusName, lastUsedAnnotation } from '../apparatus/index.ts';
import { Reason } from '../integration/conditions.ts';
import { abortableDelay } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import type { Kube } from '../kube/objects.ts';
import type { KubeObject } from '../kube/types.ts';
import type { Logger } from '../observe/log.ts';
import type { Informer } from '../runtime/informer.ts';
import type { ManagedApparatus } from './apparatus.ts';
import { parsePlug, parseSocket } from './context.ts';
import { StepError, toStepError } from './errors.ts';
import { describeOwner, type Owner, ownerOf } from './owner.ts';

export { lastUsedAnnotation };
export const specHashAnnotation = 'integration.rock8s.com/apparatus-spec-hash';
export const defaultIdleTimeoutSeconds = 60;

const defaultResources = {
  requests: { cpu: '50m', memory: '64Mi' },
  limits: { cpu: '500m', memory: '256Mi' },
};

export interface ManagedApparatusOptions {
  kube: Kube;
  client: ApparatusClient;
  log: Logger;
  /** How long one call waits for the Pod to become Ready and answer /ping before failing (retried). */
  readyWaitMs?: number;
  now?: () => Date;
}

function containersOf(o: Owner): Array<Record<string, unknown>> {
  return (o.spec.apparatus?.containers ?? []) as Array<Record<string, unknown>>;
}

function withDefaultResources(c: Record<string, unknown>): Record<string, unknown> {
  const r = (c.resources ?? {}) as { requests?: Record<string, string>; limits?: Record<string, string> };
  return {
    ...c,
    resources: {
      requests: { ...defaultResources.requests, ...r.requests },
      limits: { ...defaultResources.limits, ...r.limits },
    },
  };
}

export function apparatusSpecHash(o: Owner): string {
  return createHash('sha256')
    .update(JSON.stringify({ containers: containersOf(o), sa: o.serviceAccountName }))
    .digest('hex')
    .slice(0, 16);
}

/** The Pod of an owner's apparatus (no architecture affinity; no sidecar injection). */
export function apparatusPod(o: Owner, name: string, now: Date): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: o.namespace,
      labels: { apparatus: name, 'app.kubernetes.io/managed-by': 'integration-operator' },
      annotations: {
        'sidecar.istio.io/inject': 'false',
        [specHashAnnotation]: apparatusSpecHash(o),
        [lastUsedAnnotation]: now.toISOString(),
      },
      ownerReferences: [
        { apiVersion: o.raw.apiVersion ?? '', kind: o.kind, name: o.name, uid: o.uid, controller: true },
      ],
    },
    spec: {
      serviceAccountName: o.serviceAccountName,
      restartPolicy: 'Always',
      containers: containersOf(o).map(withDefaultResources),
    },
  };
}

export function apparatusService(o: Owner, name: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: o.namespace,
      labels: { apparatus: name, 'app.kubernetes.io/managed-by': 'integration-operator' },
      ownerReferences: [
        { apiVersion: o.raw.apiVersion ?? '', kind: o.kind, name: o.name, uid: o.uid, controller: true },
      ],
    },
    spec: {
      type: 'ClusterIP',
      selector: { apparatus: name },
      ports: [{ name: 'http', port: 80, targetPort: 'container', protocol: 'TCP' }],
    },
  };
}

function isReady(pod: KubeObject): boolean {
  const st = pod.status as { conditions?: Array<{ type: string; status: string }> } | undefined;
  return Boolean(st?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
}

function idleTimeoutMs(o: Owner): number {
  const s = o.spec.apparatus?.idleTimeout;
  return (s && s > 0 ? s : defaultIdleTimeoutSeconds) * 1000;
}

export class ManagedApparatusPods implements ManagedApparatus {
  private readonly kube: Kube;
  private readonly client: ApparatusClient;
  private readonly log: Logger;
  private readonly readyWaitMs: number;
  private readonly now: () => Date;
  /** Last time the annotation was written, per pod (writes are throttled to a quarter of the timeout). */
  private readonly recorded = new Map<string, number>();
  /** Pods known to be ready, by `ns/name` -> spec hash (avoids a GET per call). */
  private readonly ready = new Map<string, string>();

  constructor(opts: ManagedApparatusOptions) {
    this.kube = opts.kube;
    this.client = opts.client;
    this.log = opts.log;
    this.readyWaitMs = opts.readyWaitMs ?? 10_000;
    this.now = opts.now ?? (() => new Date());
  }

  async ensure(o: Owner, target: ApparatusTarget, signal?: AbortSignal): Promise<void> {
    const name = target.podName;
    const key = `${o.namespace}/${name}`;
    const hash = apparatusSpecHash(o);
    if (this.ready.get(key) === hash) return;
    const podRef = { apiVersion: 'v1', kind: 'Pod', namespace: o.namespace, name };
    const what = `apparatus Pod ${key} of ${describeOwner(o)}`;
    try {
      let pod = await this.kube.get(podRef, { as: o.as, ...(signal ? { signal } : {}) });
      if (pod && pod.metadata.annotations?.[specHashAnnotation] !== hash) {
        // containers changed: replace the running Pod
        await this.kube.delete(podRef, {
          as: o.as,
          propagationPolicy: 'Background',
          ...(signal ? { signal } : {}),
        });
        const deadline = Date.now() + 60_000;
        while (pod && Date.now() < deadline) {
          await abortableDelay(200, signal);
          pod = await this.kube.get(podRef, { as: o.as, ...(signal ? { signal } : {}) });
        }
      }
      if (!pod) {
        pod = await this.kube.apply(apparatusPod(o, name, this.now()), {
          as: o.as,
          ...(signal ? { signal } : {}),
        });
        this.recorded.set(key, Date.now());
        this.log.info('started an apparatus Pod', { pod: key });
      }
      const svc = await this.kube.get(
        { apiVersion: 'v1', kind: 'Service', namespace: o.namespace, name },
        { as: o.as, ...(signal ? { signal } : {}) },
      );
      if (!svc) await this.kube.apply(apparatusService(o, name), { as: o.as, ...(signal ? { signal } : {}) });
      const deadline = Date.now() + this.readyWaitMs;
      let wait = 100;
      while (!isReady(pod!)) {
        if (Date.now() > deadline) {
          throw new StepError(
            Reason.ApparatusUnavailable,
            `${what} is not Ready yet (waited ${Math.round(this.readyWaitMs / 1000)} s; will retry)`,
          );
        }
        await abortableDelay(wait, signal);
        wait = Math.min(wait * 2, 1000);
        pod = (await this.kube.get(podRef, { as: o.as, ...(signal ? { signal } : {}) })) ?? pod;
      }
    } catch (err) {
      throw toStepError(err, what);
    }
    // Ready: it must also answer /ping before the first call.
    const deadline = Date.now() + this.readyWaitMs;
    for (let wait = 100; ; wait = Math.min(wait * 2, 1000)) {
      try {
        await this.client.ping(target, signal ? { signal } : {});
        break;
      } catch (err) {
        if (Date.now() > deadline) throw toStepError(err, `${what} does not answer GET /ping`);
        await abortableDelay(wait, signal);
      }
    }
    this.ready.set(key, hash);
  }

  /** Records a call on the Pod, at most every quarter of the idle timeout. */
  touch(o: Owner, target: ApparatusTarget): void {
    const key = `${o.namespace}/${target.podName}`;
    const last = this.recorded.get(key) ?? 0;
    if (Date.now() - last < idleTimeoutMs(o) / 4) return;
    this.recorded.set(key, Date.now());
    void this.kube
      .mergePatch(
        { apiVersion: 'v1', kind: 'Pod', namespace: o.namespace, name: target.podName },
        { metadata: { annotations: { [lastUsedAnnotation]: this.now().toISOString() } } },
        { as: o.as },
      )
      .catch((err: unknown) => {
        this.recorded.delete(key);
        this.log.debug('could not record apparatus use', { err, pod: key });
      });
  }

  /**
   * Deletes the Pods of owners whose apparatus has been idle longer than its idleTimeout. Owners
   * come from the caches (so this works after a restart); each Pod is read as its owner.
   */
  async reapIdle(owners: Owner[], signal?: AbortSignal): Promise<number> {
    let reaped = 0;
    for (const o of owners) {
      if (!containersOf(o).length) continue;
      const name = apparatusName(o.kind, o.name);
      const key = `${o.namespace}/${name}`;
      const podRef = { apiVersion: 'v1', kind: 'Pod', namespace: o.namespace, name };
      try {
        const pod = await this.kube.get(podRef, { as: o.as, ...(signal ? { signal } : {}) });
        if (!pod) {
          this.ready.delete(key);
          continue;
        }
        const last = Date.parse(
          pod.metadata.annotations?.[lastUsedAnnotation] ?? pod.metadata.creationTimestamp ?? '',
        );
        if (Number.isFinite(last) && this.now().getTime() - last <= idleTimeoutMs(o)) continue;
        // Guard against deleting a Pod that was just used: precondition on its UID.
        await this.kube.delete(podRef, {
          as: o.as,
          propagationPolicy: 'Background',
          ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}),
        });
        this.ready.delete(key);
        this.recorded.delete(key);
        reaped++;
        this.log.info('deleted an idle apparatus Pod', { pod: key });
      } catch (err) {
        if (!isNotFound(err))
          this.log.debug('could not check an apparatus Pod for idleness', { err, pod: key });
      }
    }
    return reaped;
  }
}

/** Owners (plugs and sockets in the caches) that declare apparatus containers. */
export function ownersWithApparatus(plugs: Informer<KubeObject>, sockets: Informer<KubeObject>): Owner[] {
  const out: Owner[] = [];
  for (const raw of plugs.store.list()) {
    const p = parsePlug(raw);
    if (p.ok && p.value.spec?.apparatus?.containers?.length && !raw.metadata.deletionTimestamp)
      out.push(ownerOf('Plug', raw, p.value.spec));
  }
  for (const raw of sockets.store.list()) {
    const s = parseSocket(raw);
    if (s.ok && s.value.spec?.apparatus?.containers?.length && !raw.metadata.deletionTimestamp)
      out.push(ownerOf('Socket', raw, s.value.spec));
  }
  return out;
}

/** Runs the idle reaper every `intervalMs` while this instance leads. */
export function idleReaper(
  pods: ManagedApparatusPods,
  plugs: Informer<KubeObject>,
  sockets: Informer<KubeObject>,
  intervalMs = 15_000,
): { start(signal: AbortSignal): Promise<void> } {
  return {
    async start(signal: AbortSignal) {
      while (!signal.aborted) {
        try {
          await abortableDelay(intervalMs, signal);
        } catch {
          return;
        }
        await pods.reapIdle(ownersWithApparatus(plugs, sockets), signal).catch(() => 0);
      }
    },
  };
}
