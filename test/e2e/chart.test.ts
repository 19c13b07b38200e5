// The Helm chart: lint, what it renders for the values that change its shape, its RBAC (exactly the
// rights docs/install.md lists, no wildcard), its Deployment's environment read back by the
// operator's own configuration parser, a server-side dry run of everything it renders on the real
// API server in a namespace enforcing the "restricted" Pod Security Standard, and, with its RBAC
// applied, what its ServiceAccount may and may not do (SubjectAccessReviews).
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig, usage } from '../../src/config.ts';
import { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { randomName } from '../support/kube.ts';
import { kubeconfigPath } from '../support/operator.ts';
import {
  chartDir,
  chartEnvironment,
  helmTemplate,
  ofKind,
  only,
  operatorContainer,
  type PolicyRule,
  parseManifests,
  rbacRules,
  renderChart,
} from './support/chart.ts';
import { helmBin, kubectlBin, run, runOk } from './support/commands.ts';
import { applyChartCrds } from './support/install.ts';

const release = 'io';
const ns = randomName('e2e-chart');
const watched = [randomName('e2e-chart-w1'), randomName('e2e-chart-w2')];
const kubectl = (args: string[], input?: string) =>
  run(kubectlBin(), ['--kubeconfig', kubeconfigPath(), ...args], input ? { input } : {});

/** The operator's namespaced rights (bound cluster-wide, or per watched namespace). */
const operatorRules: PolicyRule[] = [
  {
    apiGroups: ['integration.rock8s.com'],
    resources: ['plugs', 'sockets', 'deferredresources'],
    verbs: ['get', 'list', 'watch', 'patch'],
  },
  {
    apiGroups: ['integration.rock8s.com'],
    resources: ['plugs/status', 'sockets/status', 'deferredresources/status'],
    verbs: ['patch'],
  },
  { apiGroups: [''], resources: ['events'], verbs: ['create'] },
  { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate'] },
  // referenceWatch (default on): metadata-only watches of referenced ConfigMaps and Secrets.
  { apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['list', 'watch'] },
];
const namespaceRules: PolicyRule[] = [
  { apiGroups: [''], resources: ['namespaces'], verbs: ['list', 'watch'] },
];
const leaseRules = (name: string): PolicyRule[] => [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
  {
    apiGroups: ['coordination.k8s.io'],
    resources: ['leases'],
    resourceNames: [name],
    verbs: ['get', 'update'],
  },
];

function named(objs: KubeObject[], kind: string, name: string): KubeObject {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} rendered`);
  return o;
}

beforeAll(async () => {
  await applyChartCrds();
  for (const name of [ns, ...watched]) {
    await runOk(kubectlBin(), ['--kubeconfig', kubeconfigPath(), 'create', 'namespace', name]);
  }
  // Enforce (and warn about) the restricted Pod Security Standard where the chart is dry-run.
  await runOk(kubectlBin(), [
    '--kubeconfig',
    kubeconfigPath(),
    'label',
    'namespace',
    ns,
    'pod-security.kubernetes.io/enforce=restricted',
    'pod-security.kubernetes.io/warn=restricted',
  ]);
});

afterAll(async () => {
  for (const name of [ns, ...watched]) await kubectl(['delete', 'namespace', name, '--wait=false']);
});

describe('helm chart', () => {
  it('passes helm lint --strict with no warning', async () => {
    const r = await run(helmBin(), ['lint', '--strict', chartDir]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
  });

  it('grants exactly the documented rights, never a wildcard', async () => {
    const clusterWide = await renderChart({ release, namespace: ns, values: { replicas: 2 } });
    const namespaced = await renderChart({
      release,
      namespace: ns,
      values: { watchNamespace: watched, leaderElection: { always: false } },
    });
    for (const objs of [clusterWide, namespaced]) {
      for (const { from, rule } of rbacRules(objs)) {
        for (const field of ['apiGroups', 'resources', 'resourceNames', 'verbs'] as const) {
          expect(rule[field] ?? [], `${from} ${field}`).not.toContain('*');
          for (const v of rule[field] ?? []) expect(v, `${from} ${field}`).not.toMatch(/\*/);
        }
        expect(rule.nonResourceURLs, from).toBeUndefined();
      }
    }
    const fullname = `${release}-integration-operator`;
    expect(named(clusterWide, 'ClusterRole', fullname).rules).toEqual(operatorRules);
    expect(named(clusterWide, 'ClusterRole', `${fullname}-namespaces`).rules).toEqual(namespaceRules);
    expect(named(clusterWide, 'Role', `${fullname}-leader-election`).rules).toEqual(leaseRules(fullname));
    expect(rbacRules(clusterWide)).toHaveLength(operatorRules.length + namespaceRules.length + 2);

    // Cluster-wide mode: ClusterRoleBindings; namespaced mode: RoleBindings in the watched namespaces.
    expect(ofKind(clusterWide, 'ClusterRoleBinding').map((b) => b.metadata.name)).toEqual([
      `${fullname}-namespaces`,
      fullname,
    ]);
    expect(ofKind(namespaced, 'ClusterRoleBinding').map((b) => b.metadata.name)).toEqual([
      `${fullname}-namespaces`,
    ]);
    const bindings = ofKind(namespaced, 'RoleBinding');
    expect(bindings.map((b) => b.metadata.namespace)).toEqual(watched);
    for (const b of bindings) {
      expect(b.roleRef).toEqual({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: fullname,
      });
      expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: fullname, namespace: ns }]);
    }
    // Leader election turned off (one replica): no Lease rights at all.
    expect(ofKind(namespaced, 'Role')).toEqual([]);
  });

  it('grants list/watch on referenced kinds only with referenceWatch, plus the extra kinds named', async () => {
    const fullname = `${release}-integration-operator`;
    const off = await renderChart({ release, namespace: ns, values: { referenceWatch: { enabled: false } } });
    expect(named(off, 'ClusterRole', fullname).rules).toEqual(operatorRules.slice(0, -1));
    expect(chartEnvironment(off, ns).REFERENCE_WATCH).toBe('false');
    expect(parseConfig([], chartEnvironment(off, ns)).referenceWatch).toBe(false);
    const extra = await renderChart({
      release,
      namespace: ns,
      values: {
        referenceWatch: { extraResources: [{ apiGroups: ['batch'], resources: ['jobs', 'cronjobs'] }] },
      },
    });
    expect(named(extra, 'ClusterRole', fullname).rules).toEqual([
      ...operatorRules,
      { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: ['list', 'watch'] },
    ]);
    const wildcard = await run(helmBin(), [
      'template',
      release,
      chartDir,
      '--set',
      'referenceWatch.extraResources[0].apiGroups[0]=*',
      '--set',
      'referenceWatch.extraResources[0].resources[0]=jobs',
    ]);
    expect(wildcard.code).not.toBe(0);
  });

  it('gives the operator an environment its own parser reads back as the values say', async () => {
    const objs = await renderChart({
      release,
      namespace: ns,
      values: {
        watchNamespace: 'a, b',
        logLevel: 'debug',
        maxConcurrentReconciles: 5,
        templates: { timeoutMs: 2000, memoryMb: 128, workers: 3 },
        apparatus: { allowedHosts: ['*.svc', '10.0.0.0/8'], timeoutMs: 60000, attempts: 4 },
        allowClusterScopedResources: true,
        kubeApi: { qps: 1000000, burst: 2000 },
        referenceWatch: { enabled: true },
        referenceResyncSeconds: 45,
        cleanupTimeoutSeconds: 1200,
      },
    });
    const env = chartEnvironment(objs, ns);
    // Numbers render as written (Helm reads them as floats: 1000000 must not become 1e+06).
    expect(env.KUBE_API_QPS).toBe('1000000');
    expect(env.APPARATUS_TIMEOUT_MS).toBe('60000');
    const known = usage();
    for (const name of Object.keys(env)) {
      if (name !== 'POD_NAMESPACE') expect(known, `${name} is an operator setting`).toContain(` ${name} `);
    }
    const cfg = parseConfig([], env);
    expect(cfg).toMatchObject({
      kubeconfig: undefined,
      metricsBindAddress: ':8080',
      healthProbeBindAddress: ':8081',
      leaderElect: true,
      leaderElectionNamespace: ns,
      leaderElectionId: `${release}-integration-operator`,
      watchNamespaces: ['a', 'b'],
      maxConcurrentReconciles: 5,
      apparatusAllowedHosts: '*.svc,10.0.0.0/8',
      apparatusTimeoutMs: 60000,
      apparatusAttempts: 4,
      allowClusterScopedResources: true,
      templateTimeoutMs: 2000,
      templateMemoryMb: 128,
      templateWorkers: 3,
      kubeApiQps: 1000000,
      kubeApiBurst: 2000,
      referenceWatch: true,
      referenceResyncSeconds: 45,
      cleanupTimeoutSeconds: 1200,
      logLevel: 'debug',
      logFormat: 'json',
    });
    // Defaults: every namespace, the documented allow-list and resync period.
    const defaults = parseConfig([], chartEnvironment(await renderChart({ release, namespace: ns }), ns));
    expect(defaults.watchNamespaces).toBeUndefined();
    expect(defaults.apparatusAllowedHosts).toBe('*.svc,*.svc.cluster.local');
    expect(defaults.referenceResyncSeconds).toBe(20);
    expect(defaults.referenceWatch).toBe(true);
    expect(defaults.allowClusterScopedResources).toBe(false);
  });

  it('elects a leader by default and with several replicas, and then rolls instead of recreating', async () => {
    const shape = async (values: Record<string, unknown>) => {
      const objs = await renderChart({ release, namespace: ns, values });
      const dep = only(objs, 'Deployment') as KubeObject & { spec: { strategy: { type: string } } };
      return {
        leaderElect: chartEnvironment(objs, ns).LEADER_ELECT,
        strategy: dep.spec.strategy.type,
        leaseRole: ofKind(objs, 'Role').length,
      };
    };
    const electing = { leaderElect: 'true', strategy: 'RollingUpdate', leaseRole: 1 };
    expect(await shape({})).toEqual(electing);
    expect(await shape({ leaderElection: { always: false } })).toEqual({
      leaderElect: 'false',
      strategy: 'Recreate',
      leaseRole: 0,
    });
    expect(await shape({ replicas: 3, leaderElection: { always: false } })).toEqual(electing);
  });

  it('runs hardened on any architecture, probed on /healthz and /readyz', async () => {
    const objs = await renderChart({ release, namespace: ns });
    const dep = only(objs, 'Deployment') as KubeObject & {
      spec: { template: { spec: Record<string, unknown> } };
    };
    const pod = dep.spec.template.spec;
    expect(JSON.stringify(pod)).not.toContain('kubernetes.io/arch');
    expect(pod.nodeSelector).toBeUndefined();
    expect(pod.affinity).toBeUndefined();
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    const c = operatorContainer(objs) as ReturnType<typeof operatorContainer> & Record<string, unknown>;
    expect(c.securityContext).toEqual({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.livenessProbe).toMatchObject({ httpGet: { path: '/healthz', port: 'health' } });
    expect(c.readinessProbe).toMatchObject({ httpGet: { path: '/readyz', port: 'health' } });
    expect(c.ports).toEqual([
      { name: 'metrics', containerPort: 8080, protocol: 'TCP' },
      { name: 'health', containerPort: 8081, protocol: 'TCP' },
    ]);
    expect(c.env[0]).toEqual({
      name: 'POD_NAMESPACE',
      valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } },
    });
    expect(c.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    expect((c.resources as { limits?: Record<string, string> }).limits?.memory).toBe('512Mi');
  });

  it('lets extraEnv replace a setting instead of adding a second entry of that name', async () => {
    const objs = await renderChart({
      release,
      namespace: ns,
      values: {
        extraEnv: [
          { name: 'LOG_LEVEL', value: 'warn' },
          { name: 'DEBUG_SOCKET_ENDPOINT', value: 'x:1' },
        ],
      },
    });
    const names = operatorContainer(objs).env.map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
    expect(chartEnvironment(objs, ns)).toMatchObject({ LOG_LEVEL: 'warn', DEBUG_SOCKET_ENDPOINT: 'x:1' });
  });

  it('renders a ServiceMonitor for the metrics Service only when asked', async () => {
    expect(ofKind(await renderChart({ release, namespace: ns }), 'ServiceMonitor')).toEqual([]);
    const objs = await renderChart({
      release,
      namespace: ns,
      values: { serviceMonitor: { enabled: true, labels: { team: 'ops' } } },
    });
    const sm = only(objs, 'ServiceMonitor') as KubeObject & {
      spec: { selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string }> };
    };
    const svc = only(objs, 'Service') as KubeObject & { spec: { ports: Array<{ name: string }> } };
    expect(sm.metadata.labels?.team).toBe('ops');
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels))
      expect(svc.metadata.labels?.[k]).toBe(v);
    expect(svc.spec.ports.map((p) => p.name)).toContain(sm.spec.endpoints[0]!.port);
  });

  it('refuses values the schema does not know', async () => {
    const r = await run(helmBin(), ['template', release, chartDir, '--set', 'watchNamespaces=x']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('watchNamespaces');
  });

  it('is accepted by the API server as rendered (server-side dry run, restricted Pod Security)', async () => {
    for (const values of [{}, { replicas: 2 }, { watchNamespace: watched.join(',') }]) {
      const manifest = await helmTemplate({ release, namespace: ns, values });
      const r = await kubectl(['apply', '--dry-run=server', '-f', '-'], manifest);
      expect(r.code, `${JSON.stringify(values)}: ${r.stderr}`).toBe(0);
      expect(r.stderr, JSON.stringify(values)).not.toMatch(/warning/i);
      expect(r.stdout).toContain(`deployment.apps/${release}-integration-operator created (server dry run)`);
    }
  });
});

describe('the chart ServiceAccount', () => {
  const rel = randomName('sar');
  const sa = `${rel}-integration-operator`;
  let client: KubeClient;
  const applied: KubeObject[] = [];

  const can = async (attrs: Record<string, string>): Promise<boolean> => {
    const res = await client.request<{ status: { allowed: boolean } }>({
      method: 'POST',
      path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: `system:serviceaccount:${ns}:${sa}`,
          groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'],
          resourceAttributes: attrs,
        },
      },
    });
    return res.status.allowed;
  };
  const io = 'integration.rock8s.com';
  const core = '';

  async function applyRbac(values: Record<string, unknown>): Promise<void> {
    const objs = parseManifests(await helmTemplate({ release: rel, namespace: ns, values })).filter((o) =>
      ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(o.kind ?? ''),
    );
    await runOk(
      kubectlBin(),
      ['--kubeconfig', kubeconfigPath(), 'apply', '--server-side', '--field-manager=e2e', '-f', '-'],
      { input: objs.map((o) => stringify(o)).join('---\n') },
    );
    applied.push(...objs);
  }

  async function removeRbac(): Promise<void> {
    for (const o of applied) {
      await kubectl([
        'delete',
        `${o.kind}/${o.metadata.name}`,
        ...(o.metadata.namespace ? ['-n', o.metadata.namespace] : []),
        '--ignore-not-found',
      ]);
    }
    applied.length = 0;
  }

  beforeAll(() => {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath());
    client = new KubeClient({ kubeConfig: kc, qps: 0 });
  });

  afterAll(async () => {
    await removeRbac();
    client.close();
  });

  it('may do what the operator does, anywhere, and nothing it does as a tenant', async () => {
    await applyRbac({ replicas: 2 });
    const other = randomName('anywhere');
    // Authorization can lag a moment behind the RBAC objects' creation.
    const allowed: Array<Record<string, string>> = [
      { verb: 'list', group: io, resource: 'plugs' },
      { verb: 'watch', group: io, resource: 'sockets' },
      { verb: 'list', group: io, resource: 'deferredresources' },
      { verb: 'get', group: io, resource: 'plugs', namespace: other },
      { verb: 'patch', group: io, resource: 'sockets', namespace: other },
      { verb: 'patch', group: io, resource: 'plugs', subresource: 'status', namespace: other },
      { verb: 'patch', group: io, resource: 'deferredresources', subresource: 'status', namespace: other },
      { verb: 'create', group: core, resource: 'events', namespace: other },
      { verb: 'impersonate', group: core, resource: 'serviceaccounts', namespace: other, name: 'default' },
      { verb: 'list', group: core, resource: 'namespaces' },
      { verb: 'watch', group: core, resource: 'namespaces' },
      // Metadata-only watches of referenced objects (the operator never asks for their content).
      { verb: 'list', group: core, resource: 'secrets' },
      { verb: 'watch', group: core, resource: 'secrets', namespace: other },
      { verb: 'list', group: core, resource: 'configmaps', namespace: other },
      { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: ns },
      { verb: 'get', group: 'coordination.k8s.io', resource: 'leases', namespace: ns, name: sa },
      { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: ns, name: sa },
    ];
    const denied: Array<Record<string, string>> = [
      { verb: 'get', group: core, resource: 'secrets', namespace: other, name: 'x' },
      { verb: 'get', group: core, resource: 'configmaps', namespace: other, name: 'x' },
      { verb: 'update', group: core, resource: 'secrets', namespace: other, name: 'x' },
      { verb: 'list', group: 'batch', resource: 'jobs', namespace: other },
      { verb: 'create', group: core, resource: 'pods', namespace: other },
      { verb: 'create', group: 'batch', resource: 'jobs', namespace: other },
      { verb: 'create', group: io, resource: 'plugs', namespace: other },
      { verb: 'update', group: io, resource: 'plugs', namespace: other },
      { verb: 'delete', group: io, resource: 'sockets', namespace: other },
      { verb: 'update', group: io, resource: 'plugs', subresource: 'status', namespace: other },
      { verb: 'get', group: core, resource: 'namespaces', name: other },
      { verb: 'delete', group: core, resource: 'events', namespace: other },
      { verb: 'impersonate', group: core, resource: 'users', name: 'admin' },
      { verb: 'impersonate', group: core, resource: 'groups', name: 'system:masters' },
      { verb: 'create', group: core, resource: 'serviceaccounts', subresource: 'token', namespace: other },
      { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: other },
      {
        verb: 'update',
        group: 'coordination.k8s.io',
        resource: 'leases',
        namespace: ns,
        name: 'someone-else',
      },
      { verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
      { verb: 'create', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' },
    ];
    const deadline = Date.now() + 10_000;
    for (;;) {
      const ok = await Promise.all(allowed.map(can));
      if (ok.every(Boolean) || Date.now() > deadline) {
        expect(Object.fromEntries(allowed.map((a, i) => [JSON.stringify(a), ok[i]]))).toEqual(
          Object.fromEntries(allowed.map((a) => [JSON.stringify(a), true])),
        );
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const no = await Promise.all(denied.map(can));
    expect(Object.fromEntries(denied.map((a, i) => [JSON.stringify(a), no[i]]))).toEqual(
      Object.fromEntries(denied.map((a) => [JSON.stringify(a), false])),
    );
    await removeRbac();
  });

  it('with watchNamespace, may act in the watched namespaces only', async () => {
    await applyRbac({ watchNamespace: watched, leaderElection: { always: false } });
    const inside = watched[0]!;
    const outside = randomName('elsewhere');
    const deadline = Date.now() + 10_000;
    const wanted: Array<Record<string, string>> = [
      { verb: 'list', group: io, resource: 'plugs', namespace: inside },
      { verb: 'impersonate', group: core, resource: 'serviceaccounts', namespace: inside, name: 'default' },
      { verb: 'create', group: core, resource: 'events', namespace: watched[1]! },
      { verb: 'list', group: core, resource: 'namespaces' },
      { verb: 'watch', group: core, resource: 'secrets', namespace: inside },
    ];
    while (!(await Promise.all(wanted.map(can))).every(Boolean)) {
      if (Date.now() > deadline) throw new Error(`not granted: ${JSON.stringify(wanted)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await can({ verb: 'list', group: io, resource: 'plugs' })).toBe(false);
    expect(await can({ verb: 'list', group: io, resource: 'plugs', namespace: outside })).toBe(false);
    expect(await can({ verb: 'list', group: core, resource: 'secrets', namespace: outside })).toBe(false);
    expect(await can({ verb: 'list', group: core, resource: 'secrets' })).toBe(false);
    expect(
      await can({
        verb: 'impersonate',
        group: core,
        resource: 'serviceaccounts',
        namespace: outside,
        name: 'default',
      }),
    ).toBe(false);
    expect(
      await can({ verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: ns }),
    ).toBe(false);
  });
});
