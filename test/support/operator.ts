import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { inject } from 'vitest';
import { apiVersion } from '../../src/api/common.ts';
import {
  createApparatusClient,
  type EndpointOverrides,
  parseAllowedHosts,
  parseEndpointOverrides,
} from '../../src/apparatus/index.ts';
import { createTemplateEngine } from '../../src/controllers/template-engine.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { Kube } from '../../src/kube/objects.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { createLogger, silentLogger } from '../../src/observe/log.ts';
import { Metrics } from '../../src/observe/metrics.ts';
import { createOperator, type Operator } from '../../src/operator.ts';
import { defaultSeams } from '../../src/seams.ts';
import { type OperatorProcess, spawnOperatorProcess } from './operator-process.ts';
import { eventually } from './poll.ts';

export type { OperatorProcess };

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function kubeconfigPath(): string {
  return inject('kubeconfig');
}

/** Our own REST client as cluster admin, for tests to create and read objects. */
export function adminKube(): Kube {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return new Kube(new KubeClient({ kubeConfig: kc, qps: 0 }));
}

export interface InProcessOperator {
  operator: Operator;
  metrics: Metrics;
  stop(): Promise<void>;
}

export interface OperatorTestOptions {
  namespaces: string[];
  workers?: number;
  overrides?: EndpointOverrides;
  allowClusterScoped?: boolean;
  referenceResyncMs?: number;
  cleanupTimeoutMs?: number;
  verbose?: boolean;
  managedUrlTemplate?: string;
  reapIntervalMs?: number;
  /** Run as another identity (a kubeconfig of a restricted user); default: the test admin. */
  kubeconfig?: string;
  referenceWatch?: boolean;
  referenceWatchLingerMs?: number;
}

export async function startOperator(opts: OperatorTestOptions): Promise<InProcessOperator> {
  const kc = new KubeConfig();
  kc.loadFromFile(opts.kubeconfig ?? kubeconfigPath());
  const metrics = new Metrics();
  const log =
    opts.verbose || process.env.TEST_OPERATOR_LOG
      ? createLogger({ level: 'debug', format: 'text' })
      : silentLogger;
  const client = new KubeClient({ kubeConfig: kc, metrics, log, qps: 0 });
  const allowedHosts = parseAllowedHosts('*.svc,*.svc.cluster.local');
  const apparatusClient = createApparatusClient({
    allowedHosts,
    attemptTimeoutMs: 2000,
    attempts: 2,
    backoffBaseMs: 50,
  });
  const templates = createTemplateEngine({});
  const overrides = opts.overrides ?? parseEndpointOverrides({});
  const operator = createOperator({
    client,
    log,
    metrics,
    workers: opts.workers ?? 3,
    watchNamespaces: opts.namespaces,
    referenceResyncMs: opts.referenceResyncMs ?? 2_000,
    ...(opts.referenceWatch !== undefined ? { referenceWatch: opts.referenceWatch } : {}),
    ...(opts.referenceWatchLingerMs !== undefined
      ? { referenceWatchLingerMs: opts.referenceWatchLingerMs }
      : {}),
    cleanupTimeoutMs: opts.cleanupTimeoutMs ?? 600_000,
    allowClusterScopedResources: opts.allowClusterScoped ?? false,
    seams: defaultSeams({
      apparatusClient,
      templates,
      allowedHosts,
      overrides,
      log,
      allowClusterScoped: opts.allowClusterScoped ?? false,
      reapIntervalMs: opts.reapIntervalMs ?? 1_000,
      managedUrlTemplate: opts.managedUrlTemplate,
      readyWaitMs: 2_000,
    }),
  });
  const stop = new AbortController();
  const done = operator.start(stop.signal);
  await eventually(() => operator.manager.isLeader, { what: 'the operator to start', timeoutMs: 30_000 });
  return {
    operator,
    metrics,
    stop: async () => {
      stop.abort();
      await done;
      await templates.close();
      apparatusClient.close();
      client.close();
    },
  };
}

/** Runs `node src/main.ts` as its own process (the way a Deployment would, minus the image). */
export function spawnOperator(env: Record<string, string>, kubeconfig = kubeconfigPath()): OperatorProcess {
  return spawnOperatorProcess(env, kubeconfig);
}

export function socketObj(namespace: string, name: string, spec: Record<string, unknown> = {}): KubeObject {
  return { apiVersion, kind: 'Socket', metadata: { name, namespace }, spec };
}

export function plugObj(namespace: string, name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion, kind: 'Plug', metadata: { name, namespace }, spec };
}

export interface Cond {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export async function getObj(kube: Kube, kind: 'Plug' | 'Socket', namespace: string, name: string) {
  return kube.get({ apiVersion, kind, namespace, name });
}

export function condition(obj: KubeObject | undefined, type: string): Cond | undefined {
  return (obj?.status as { conditions?: Cond[] } | undefined)?.conditions?.find((c) => c.type === type);
}

/** Waits until the object's condition `type` has the given status (and reason, when given). */
export async function waitForCondition(
  kube: Kube,
  kind: 'Plug' | 'Socket',
  namespace: string,
  name: string,
  type: string,
  status: string,
  reason?: string,
  timeoutMs = 30_000,
): Promise<KubeObject> {
  return eventually(
    async () => {
      const obj = await getObj(kube, kind, namespace, name);
      const c = condition(obj, type);
      return c && c.status === status && (reason === undefined || c.reason === reason) ? obj : undefined;
    },
    { what: `${kind} ${namespace}/${name} ${type}=${status}${reason ? ` (${reason})` : ''}`, timeoutMs },
  );
}

/** Kubernetes Events recorded on an object, oldest first. */
export async function eventsFor(
  kube: Kube,
  namespace: string,
  name: string,
): Promise<Array<{ type: string; reason: string; message: string }>> {
  const list = await kube.list({ apiVersion: 'v1', kind: 'Event', namespace });
  return list.items
    .filter((e) => (e.involvedObject as { name?: string }).name === name)
    .map((e) => ({ type: e.type as string, reason: e.reason as string, message: e.message as string }));
}

/**
 * Deletes namespaces and waits until they are gone. Call it while the operator still runs: plugs
 * and sockets carry its finalizer, and only a running operator releases them.
 */
export async function deleteNamespaces(kube: Kube, names: string[], timeoutMs = 90_000): Promise<void> {
  for (const name of names)
    await kube.delete({ apiVersion: 'v1', kind: 'Namespace', name }).catch(() => undefined);
  await eventually(
    async () => {
      for (const name of names)
        if (await kube.get({ apiVersion: 'v1', kind: 'Namespace', name })) return false;
      return true;
    },
    { what: `namespaces ${names.join(', ')} to be deleted`, timeoutMs },
  );
}

export { grant, writeVerbs } from './rbac.ts';
