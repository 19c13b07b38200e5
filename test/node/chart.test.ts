// The chart installed as users install it, on the real node: `helm install` of the image built from
// the project's Dockerfile; the operator Pod becomes Ready through its probes and couples with its
// in-cluster ServiceAccount token and the chart's RBAC only; `helm upgrade` to two replicas hands
// leadership over when the leader Pod is deleted, re-firing nothing; `helm uninstall` keeps the
// CRDs and every Plug and Socket.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { KubeObject } from '../../src/kube/types.ts';
import { chartDir } from '../e2e/support/chart.ts';
import { helmBin, runOk } from '../e2e/support/commands.ts';
import { installOperator, kubectl, type OperatorInstall, operatorMay } from '../e2e/support/install.ts';
import { randomName } from '../support/kube.ts';
import {
  adminKube,
  condition,
  eventsFor,
  getObj,
  grant,
  plugObj,
  socketObj,
  waitForCondition,
  writeVerbs,
} from '../support/operator.ts';
import { eventually } from '../support/poll.ts';

const kube = adminKube();
const release = 'io-node';
const releaseNs = randomName('node-operator');
const tenantNs = randomName('node-tenant');
const coupleTimeout = 120_000;
let op: OperatorInstall | undefined;

type PodLike = KubeObject & {
  spec: {
    serviceAccountName?: string;
    containers: Array<{ image: string; env?: Array<{ name: string; value?: string }> }>;
  };
  status?: { phase?: string; conditions?: Array<{ type: string; status: string }> };
};

const helm = (args: string[]) =>
  runOk(helmBin(), ['--kubeconfig', inject('kubeconfig'), ...args], { timeoutMs: 360_000 });

async function operatorPods(): Promise<PodLike[]> {
  const list = await kube.list(
    { apiVersion: 'v1', kind: 'Pod', namespace: releaseNs },
    { labelSelector: `app.kubernetes.io/instance=${release}` },
  );
  return (list.items as PodLike[]).filter((p) => !p.metadata.deletionTimestamp);
}

const ready = (p: PodLike) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

async function leaseHolder(): Promise<string | undefined> {
  const lease = await kube.get({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    namespace: releaseNs,
    name: op!.fullname,
  });
  return (lease?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;
}

/** The operator's metrics, read through the API server's proxy to one Pod. */
async function podMetrics(pod: string): Promise<string> {
  return (await kubectl(['get', '--raw', `/api/v1/namespaces/${releaseNs}/pods/${pod}:8080/proxy/metrics`]))
    .stdout;
}

/** Lifecycle events an operator process performed, by kind/side/event (from its metrics). */
function performedEvents(metrics: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of metrics.split('\n')) {
    if (!line.startsWith('integration_operator_lifecycle_events_total{')) continue;
    if (!line.includes('outcome="performed"')) continue;
    const label = (k: string) => line.match(new RegExp(`${k}="([^"]*)"`))?.[1] ?? '';
    const n = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (n) out[`${label('kind')}/${label('side')}/${label('event')}`] = n;
  }
  return out;
}

/** A socket and a plug that each apply a ConfigMap as their own ServiceAccount (impersonated). */
async function couplePair(name: string): Promise<void> {
  const cm = (side: string) => ({
    when: ['coupled', 'updated'],
    template: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `${name}-${side}` },
      data: { peer: side === 'plug' ? '{% .socketConfig.host %}' : '{% .plugConfig.database %}' },
    },
  });
  await kube.create(
    socketObj(tenantNs, `${name}-socket`, {
      serviceAccountName: 'provider',
      interface: { config: { plug: { database: { required: true } } } },
      config: { host: 'db.example' },
      resources: [cm('socket')],
    }),
  );
  await kube.create(
    plugObj(tenantNs, name, {
      socket: { name: `${name}-socket` },
      serviceAccountName: 'consumer',
      config: { database: name },
      resources: [cm('plug')],
    }),
  );
}

beforeAll(async () => {
  await kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: tenantNs } });
  const rules = [{ apiGroups: [''], resources: ['configmaps'], verbs: writeVerbs }];
  await grant(kube, tenantNs, 'provider', rules);
  await grant(kube, tenantNs, 'consumer', rules);
  op = await installOperator({
    release,
    namespace: releaseNs,
    values: { replicas: 1, logFormat: 'text' },
  });
});

afterAll(async () => {
  // The operator is uninstalled by the last test; if a test failed before, uninstall here. Plugs and
  // sockets left behind keep its finalizer: release them so the namespaces can go.
  await helm(['uninstall', release, '--namespace', releaseNs, '--wait']).catch(() => undefined);
  for (const kind of ['plugs', 'sockets']) {
    const list = await kube
      .list({
        apiVersion: 'integration.rock8s.com/v1beta1',
        kind: kind === 'plugs' ? 'Plug' : 'Socket',
        namespace: tenantNs,
      })
      .catch(() => ({ items: [] as KubeObject[] }));
    for (const o of list.items) {
      await kubectl([
        'patch',
        kind,
        o.metadata.name!,
        '-n',
        tenantNs,
        '--type=merge',
        '-p',
        '{"metadata":{"finalizers":null}}',
      ]).catch(() => undefined);
    }
  }
  for (const ns of [tenantNs, releaseNs])
    await kubectl(['delete', 'namespace', ns, '--ignore-not-found', '--wait=false']).catch(() => undefined);
});

describe('the chart on the node', () => {
  it('runs the image built from the Dockerfile in a Pod that becomes Ready through its probes, as a non-root user on a read-only root filesystem', async () => {
    const pods = await operatorPods();
    expect(pods).toHaveLength(1);
    const pod = pods[0]!;
    expect(pod.spec.containers[0]!.image).toBe(inject('nodeOperatorImage'));
    expect(pod.spec.serviceAccountName).toBe(op!.serviceAccount);
    expect(ready(pod)).toBe(true);
    // Leader election is on by default, with one replica too: it holds the Lease.
    await eventually(async () => (await leaseHolder())?.startsWith(pod.metadata.name!), {
      what: 'the operator Pod to hold the Lease',
      timeoutMs: 60_000,
    });
    // What the container really runs as, and that its root filesystem refuses writes.
    const id = await kubectl(['exec', '-n', releaseNs, pod.metadata.name!, '--', 'id', '-u']);
    expect(id.stdout.trim()).toBe('1000');
    const write = await kubectl([
      'exec',
      '-n',
      releaseNs,
      pod.metadata.name!,
      '--',
      'sh',
      '-c',
      'touch /app/x 2>&1; echo rc=$?',
    ]);
    expect(write.stdout).toMatch(/Read-only file system/);
  });

  it('couples with its in-cluster token and the chart RBAC, applying each side as its ServiceAccount', async () => {
    // The operator's own identity may not write ConfigMaps: what appears was written by impersonation.
    expect(await operatorMay(op!, 'create', 'configmaps', tenantNs)).toBe(false);
    await couplePair('first');
    await waitForCondition(
      kube,
      'Plug',
      tenantNs,
      'first',
      'Coupled',
      'True',
      'CouplingSucceeded',
      coupleTimeout,
    );
    const plugCm = await kube.get({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: tenantNs,
      name: 'first-plug',
    });
    const socketCm = await kube.get({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: tenantNs,
      name: 'first-socket',
    });
    expect((plugCm?.data as Record<string, string> | undefined)?.peer).toBe('db.example');
    expect((socketCm?.data as Record<string, string> | undefined)?.peer).toBe('first');
  });

  it('hands leadership over when the leader Pod is deleted after helm upgrade to two replicas, re-firing nothing', async () => {
    // What was performed before the upgrade: nothing of it may be performed again, through the
    // upgrade's rollout, the handover, or the new leader's first passes.
    const before = await getObj(kube, 'Plug', tenantNs, 'first');
    const lifecycleBefore = JSON.stringify(
      (before?.status as { lifecycle?: unknown } | undefined)?.lifecycle,
    );
    // Events are sent in the background: the coupling's own Event is there before counting.
    const eventsBefore = await eventually(
      async () => {
        const evs = await eventsFor(kube, tenantNs, 'first');
        return evs.some((e) => e.reason === 'PlugCoupled') ? evs : undefined;
      },
      { what: "the first plug's PlugCoupled Event", timeoutMs: 30_000 },
    );
    await helm([
      'upgrade',
      release,
      chartDir,
      '--namespace',
      releaseNs,
      '--reuse-values',
      '--set',
      'replicas=2',
      '--wait',
      '--timeout',
      '5m',
    ]);
    const electing = (p: PodLike) =>
      p.spec.containers[0]?.env?.some((e) => e.name === 'LEADER_ELECT' && e.value === 'true');
    const pods = await eventually(
      async () => {
        const ps = await operatorPods();
        return ps.length === 2 && ps.every((p) => ready(p) && electing(p)) ? ps : undefined;
      },
      { what: 'two electing operator Pods Ready', timeoutMs: 180_000 },
    );
    const holder = await eventually(() => leaseHolder(), { what: 'a leader', timeoutMs: 60_000 });
    const leader = pods.find((p) => holder.startsWith(p.metadata.name!));
    expect(leader, `the Lease holder ${holder} is one of the two Pods`).toBeDefined();
    const standby = pods.find((p) => p !== leader)!;
    // A standby keeps warm caches but performs nothing.
    expect(performedEvents(await podMetrics(standby.metadata.name!))).toEqual({});

    const t0 = performance.now();
    await kubectl(['delete', 'pod', '-n', releaseNs, leader!.metadata.name!, '--wait=false']);
    // The standby or the Pod replacing the deleted one: whichever wins the released Lease.
    const newLeader = await eventually(
      async () => {
        const h = await leaseHolder();
        if (!h || h.startsWith(leader!.metadata.name!)) return undefined;
        return (await operatorPods()).find((p) => h.startsWith(p.metadata.name!))?.metadata.name;
      },
      { what: 'another operator Pod to take the Lease', timeoutMs: 90_000 },
    );
    const handover = Math.round(performance.now() - t0);
    // The new leader works: a new pair couples...
    await couplePair('second');
    await waitForCondition(
      kube,
      'Plug',
      tenantNs,
      'second',
      'Coupled',
      'True',
      'CouplingSucceeded',
      coupleTimeout,
    );
    // ...and what was coupled before was not performed again: same record, no new Event, and the
    // new leader performed exactly the second pair's events (each object's created, then coupled
    // on both sides).
    const after = await getObj(kube, 'Plug', tenantNs, 'first');
    expect(JSON.stringify((after?.status as { lifecycle?: unknown } | undefined)?.lifecycle)).toBe(
      lifecycleBefore,
    );
    expect(condition(after, 'Coupled')?.status).toBe('True');
    const eventsAfter = await eventsFor(kube, tenantNs, 'first');
    expect(eventsAfter.slice(eventsBefore.length), 'Events on the first plug since the upgrade').toEqual([]);
    expect(eventsAfter.length).toBe(eventsBefore.length);
    const secondPair = {
      'Plug/plug/created': 1,
      'Socket/socket/created': 1,
      'Plug/plug/coupled': 1,
      'Plug/socket/coupled': 1,
    };
    const byNewLeader = async () => performedEvents(await podMetrics(newLeader));
    // The Socket's created is performed by its own reconciler, maybe a moment after the plug coupled.
    await eventually(async () => Object.keys(await byNewLeader()).length >= 4, {
      what: 'the new leader to report the second pair’s events',
      timeoutMs: 30_000,
    }).catch(() => undefined);
    expect(await byNewLeader()).toEqual(secondPair);
    console.log(
      `leader handover after deleting the leader Pod: ${handover} ms (to the ${newLeader === standby.metadata.name ? 'standby' : 'replacement Pod'})`,
    );
  });

  it('keeps the CRDs and every Plug and Socket on helm uninstall', async () => {
    await helm(['uninstall', release, '--namespace', releaseNs, '--wait']);
    await eventually(async () => (await operatorPods()).length === 0, {
      what: 'the operator Pods to be gone',
      timeoutMs: 120_000,
    });
    for (const crd of ['plugs', 'sockets', 'deferredresources']) {
      expect(
        await kube.get({
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          name: `${crd}.integration.rock8s.com`,
        }),
      ).toBeDefined();
    }
    for (const [kind, name] of [
      ['Plug', 'first'],
      ['Plug', 'second'],
      ['Socket', 'first-socket'],
      ['Socket', 'second-socket'],
    ] as const) {
      const o = await getObj(kube, kind, tenantNs, name);
      expect(o, `${kind} ${name}`).toBeDefined();
      expect(o?.metadata.deletionTimestamp).toBeUndefined();
    }
  });
});
