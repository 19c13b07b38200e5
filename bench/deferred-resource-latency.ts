// DeferredResource wake-up latency: from "the last awaited object was created" to "the resource was
// created", with the capped backoff (0.5 s doubling to 10 s), and the API requests that costs.
// Needs a cluster: the local control plane (npm run cluster:up) or KUBECONFIG.
// Run: node_modules/.bin/node bench/deferred-resource-latency.ts [--quick]
import { KubeConfig } from '@kubernetes/client-node';
import { apiVersion } from '../src/api/common.ts';
import { allCrds } from '../src/api/crd.ts';
import type { Actions } from '../src/controllers/actions.ts';
import type { Resolver } from '../src/controllers/resolve.ts';
import { KubeClient } from '../src/kube/client.ts';
import { Kube } from '../src/kube/objects.ts';
import type { KubeObject } from '../src/kube/types.ts';
import { silentLogger } from '../src/observe/log.ts';
import { Metrics } from '../src/observe/metrics.ts';
import { createOperator } from '../src/operator.ts';

const quick = process.argv.includes('--quick');
const kubeconfig = process.env.KUBECONFIG ?? '.cluster/kubeconfig';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const kc = new KubeConfig();
kc.loadFromFile(kubeconfig);
const admin = new Kube(new KubeClient({ kubeConfig: kc, qps: 0 }));
const suffix = Math.random().toString(16).slice(2, 8);
const ns = `drbench-${suffix}`;
const group = `drbench-${suffix}.example.com`;

async function until<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

async function setup(): Promise<void> {
  for (const crd of Object.values(allCrds()))
    await admin.apply(crd as unknown as KubeObject, { manager: 'bench' });
  await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await admin.create({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'bench', namespace: ns },
  });
  await admin.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'bench', namespace: ns },
    rules: [
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'create'] },
      { apiGroups: [group], resources: ['widgets'], verbs: ['get', 'create'] },
    ],
  });
  await admin.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'bench', namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'bench' },
    subjects: [{ kind: 'ServiceAccount', name: 'bench', namespace: ns }],
  });
  await until(
    async () =>
      (await admin.get({ apiVersion: 'v1', kind: 'ServiceAccount', namespace: ns, name: 'bench' }))
        ? true
        : undefined,
    'the ServiceAccount',
  );
}

function dr(name: string, waitFor: unknown[], resource: KubeObject): KubeObject {
  return {
    apiVersion,
    kind: 'DeferredResource',
    metadata: { name, namespace: ns },
    spec: { serviceAccountName: 'bench', waitFor, resource },
  };
}

const cm = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name },
  data: {},
});

/** Creation times seen by an admin watch on the namespace's ConfigMaps (arrival, ms since epoch). */
const arrivals = new Map<string, number>();
function watchConfigMaps(client: KubeClient, signal: AbortSignal): void {
  void client
    .watch<KubeObject>(
      `/api/v1/namespaces/${ns}/configmaps`,
      {},
      (ev) => {
        if (ev.type === 'ADDED' && ev.object.metadata.name) arrivals.set(ev.object.metadata.name, Date.now());
      },
      signal,
    )
    .catch(() => undefined);
}

async function arrival(name: string): Promise<number> {
  return until(async () => arrivals.get(name), `ConfigMap ${name}`);
}

function requestsBy(metrics: Metrics, verb: string, resource: string): Promise<number> {
  return metrics.kubeRequests
    .get()
    .then((m) =>
      m.values
        .filter((v) => v.labels.verb === verb && v.labels.resource === resource)
        .reduce((a, v) => a + v.value, 0),
    );
}

async function main(): Promise<void> {
  await setup();
  const metrics = new Metrics();
  const client = new KubeClient({ kubeConfig: kc, qps: 0, metrics });
  const operator = createOperator({
    client,
    log: silentLogger,
    metrics,
    workers: 3,
    watchNamespaces: [ns],
    referenceResyncMs: 60_000,
    cleanupTimeoutMs: 60_000,
    allowClusterScopedResources: false,
    // No plugs or sockets in this namespace: their seams are never called.
    seams: () => ({ resolver: {} as unknown as Resolver, actions: {} as unknown as Actions }),
  });
  const stop = new AbortController();
  const running = operator.start(stop.signal);
  watchConfigMaps(new KubeClient({ kubeConfig: kc, qps: 0 }), stop.signal);
  await until(async () => (operator.manager.isLeader ? true : undefined), 'the operator');

  // 1. Objects appearing after various waits: N DeferredResources created together, the awaited
  //    ConfigMap of the i-th created `offsets[i]` seconds later.
  const offsets = quick
    ? [0.2, 1, 3, 7, 15]
    : [0.2, 0.7, 1, 1.5, 2.5, 3, 5, 7, 9, 12, 15, 20, 25, 31, 37, 45, 52, 60];
  const t0 = Date.now();
  await Promise.all(
    offsets.map((_, i) =>
      admin.create(dr(`u${i}`, [{ apiVersion: 'v1', kind: 'ConfigMap', name: `in-${i}` }], cm(`out-${i}`))),
    ),
  );
  const gets0 = await requestsBy(metrics, 'GET', 'configmaps');
  const latencies: Array<{ offset: number; ms: number }> = [];
  await Promise.all(
    offsets.map(async (offset, i) => {
      await sleep(t0 + offset * 1000 - Date.now());
      await admin.create({ ...cm(`in-${i}`), metadata: { name: `in-${i}`, namespace: ns } });
      const created = await arrival(`in-${i}`);
      latencies.push({ offset, ms: (await arrival(`out-${i}`)) - created });
    }),
  );
  const spanS = (Date.now() - t0) / 1000;
  const gets = (await requestsBy(metrics, 'GET', 'configmaps')) - gets0;
  latencies.sort((a, b) => a.offset - b.offset);
  const sorted = latencies.map((l) => l.ms).sort((a, b) => a - b);
  console.log(
    `\nwaited-for ConfigMap created after a wait of ... -> resource created after (backoff 0.5 s doubling to 10 s)`,
  );
  for (const l of latencies) console.log(`  wait ${String(l.offset).padStart(4)} s -> ${s(l.ms)}`);
  console.log(
    `  n=${sorted.length} min ${s(sorted[0]!)} median ${s(pct(sorted, 50))} p90 ${s(pct(sorted, 90))} max ${s(sorted[sorted.length - 1]!)}`,
  );
  console.log(
    `  cost: ${gets} GET configmaps as the ServiceAccounts in ${spanS.toFixed(0)} s for ${offsets.length} DeferredResources (${((gets / offsets.length / spanS) * 60).toFixed(1)} per DeferredResource per minute, including the final checks)`,
  );

  // 2. A DeferredResource waiting for the object another one creates: woken through the index.
  await admin.create(
    dr('chain-2', [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'chain-1-out' }], cm('chain-2-out')),
  );
  await sleep(quick ? 3000 : 20_000); // long enough for the backoff to reach its cap
  await admin.create(dr('chain-1', [], cm('chain-1-out')));
  const chain = (await arrival('chain-2-out')) - (await arrival('chain-1-out'));
  console.log(`\nchained: resource of the second created ${s(chain)} after the first's`);

  // 3. A CRD: waited for by name, then its first custom resource (discovery refreshed at most every 1 s).
  const crdName = `widgets.${group}`;
  await admin.create(
    dr('crd', [{ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: crdName }], {
      apiVersion: `${group}/v1`,
      kind: 'Widget',
      metadata: { name: 'w' },
    }),
  );
  await admin.create(
    dr('kind', [{ apiVersion: `${group}/v1`, kind: 'Widget' }], {
      apiVersion: `${group}/v1`,
      kind: 'Widget',
      metadata: { name: 'w2' },
    }),
  );
  // The ServiceAccount reads the CRD (cluster-scoped): a ClusterRole.
  await admin.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: `drbench-${suffix}` },
    rules: [
      { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['get'] },
    ],
  });
  await admin.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: `drbench-${suffix}` },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `drbench-${suffix}` },
    subjects: [{ kind: 'ServiceAccount', name: 'bench', namespace: ns }],
  });
  await sleep(quick ? 3000 : 20_000);
  await admin.create({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: crdName },
    spec: {
      group,
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  });
  const crdAt = Date.now();
  const established = await until(async () => {
    const c = await admin.get({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      name: crdName,
    });
    const conds = (c?.status as { conditions?: Array<{ type: string; status: string }> } | undefined)
      ?.conditions;
    return conds?.some((x) => x.type === 'Established' && x.status === 'True') ? Date.now() : undefined;
  }, 'the CRD to be established');
  const widget = (name: string) =>
    admin.get({ apiVersion: `${group}/v1`, kind: 'Widget', namespace: ns, name }).catch(() => undefined);
  const [byName, byKind] = await Promise.all(
    ['w', 'w2'].map((n) => until(async () => ((await widget(n)) ? Date.now() : undefined), `Widget ${n}`)),
  );
  console.log(
    `\nCRD created (established after ${s(established - crdAt)}) -> custom resource created after: waitFor by name ${s(byName! - crdAt)}, waitFor kind ${s(byKind! - crdAt)}`,
  );

  stop.abort();
  await running;
  client.close();
  await admin.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns });
  for (const kind of ['ClusterRole', 'ClusterRoleBinding'])
    await admin
      .delete({ apiVersion: 'rbac.authorization.k8s.io/v1', kind, name: `drbench-${suffix}` })
      .catch(() => undefined);
  await admin.delete({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    name: crdName,
  });
  admin.client.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
