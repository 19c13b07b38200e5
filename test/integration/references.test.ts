// Referenced ConfigMaps, Secrets and vars objects (issue 17) on a control plane of its own (its API
// server is restarted, and its audit log shows who read what): changes are seen by metadata-only
// watches and read as the tenant, shared by the couplings that use an object; nothing is lost when
// the watch breaks; a deleted and re-created object fires `updated` once; a ServiceAccount that
// loses its right reports Forbidden and keeps what was performed; without list/watch the operator
// polls each object, not each plug.
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiVersion } from '../../src/api/common.ts';
import { installCrds } from '../../src/api/install.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { Kube } from '../../src/kube/objects.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import {
  type ControlPlaneState,
  down,
  startApiserver,
  stopApiserver,
  up,
  userKubeconfig,
} from '../../tools/controlplane/controlplane.ts';
import { rbacRules, renderChart } from '../e2e/support/chart.ts';
import {
  condition,
  grant,
  type InProcessOperator,
  plugObj,
  socketObj,
  startOperator,
  waitForCondition,
} from '../support/operator.ts';
import { eventually } from '../support/poll.ts';

const watcher = 'refs-operator';
const poller = 'refs-operator-nowatch';
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  # The operator's own lists of ConfigMaps and Secrets with their answers: proof they are metadata.
  - level: RequestResponse
    users: [${watcher}, ${poller}]
    verbs: [list]
    resources: [{ group: "", resources: [secrets, configmaps] }]
  - level: Metadata
    users: [${watcher}, ${poller}]
  - level: None
`;
const stateDir = path.join(mkdtempSync(path.join(tmpdir(), 'references-')), 'state');
const ns = 'refs';
const pollNs = 'refs-poll';
const rbac = 'rbac.authorization.k8s.io/v1';
let state: ControlPlaneState;
let client: KubeClient;
let kube: Kube;
let op: InProcessOperator;

interface AuditEvent {
  stage?: string;
  verb?: string;
  user?: { username?: string };
  impersonatedUser?: { username?: string };
  objectRef?: { resource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number; message?: string };
  responseObject?: { kind?: string; items?: Array<Record<string, unknown>> };
}

/** The audit events (ResponseComplete) of `user` from byte `from` on. */
function audit(user: string, from = 0): AuditEvent[] {
  const text = readFileSync(state.auditLog!).subarray(from).toString('utf8');
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as AuditEvent)
    .filter((e) => e.stage === 'ResponseComplete' && e.user?.username === user);
}
const auditSize = () => statSync(state.auditLog!).size;

/**
 * The operator's own identity with exactly the chart's ClusterRoles (rendered by helm with
 * `values`), bound to a plain user: what the chart grants is what these tests run with.
 */
async function chartRights(user: string, values: Record<string, unknown>): Promise<KubeObject[]> {
  const rules = rbacRules(await renderChart({ release: user, namespace: 'default', values }))
    .filter((r) => r.from.startsWith('ClusterRole '))
    .map((r) => r.rule);
  return [
    { apiVersion: rbac, kind: 'ClusterRole', metadata: { name: user }, rules } as KubeObject,
    {
      apiVersion: rbac,
      kind: 'ClusterRoleBinding',
      metadata: { name: user },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: user },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
    } as KubeObject,
  ];
}

const tenantRules = (readSecrets: boolean) => [
  ...(readSecrets ? [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }] : []),
  { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'create', 'patch', 'delete'] },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get'] },
];

async function tenant(namespace: string): Promise<void> {
  await kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  await grant(kube, namespace, 'tenant', tenantRules(true));
}

const secret = (namespace: string, name: string, stringData: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace },
  stringData,
});

async function setSecret(namespace: string, name: string, stringData: Record<string, string>) {
  await kube.mergePatch({ apiVersion: 'v1', kind: 'Secret', namespace, name }, { stringData });
}

/** A socket whose config comes from the Secret `shared`, with a ConfigMap per plug on coupled/updated. */
const dbSocket = (namespace: string) =>
  socketObj(namespace, 'db', {
    serviceAccountName: 'tenant',
    configSecretName: 'shared',
    interface: {
      config: { plug: { database: { required: true } }, socket: { password: { required: true } } },
    },
    resources: [
      {
        when: ['coupled', 'updated'],
        template: {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: '{% .plug.metadata.name %}-conn' },
          data: { password: '{% .socketConfig.password %}', database: '{% .plugConfig.database %}' },
        },
      },
    ],
  });

async function conn(namespace: string, plug: string) {
  const cm = await kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name: `${plug}-conn` });
  return cm?.data as { password?: string; database?: string } | undefined;
}

function lifecycleOf(o: KubeObject | undefined) {
  return (
    o?.status as
      | {
          lifecycle?: {
            coupling?: {
              plug?: { event?: string; hash?: string };
              socket?: { event?: string; hash?: string };
            };
          };
        }
      | undefined
  )?.lifecycle?.coupling;
}

async function plugStatus(namespace: string, name: string) {
  return kube.get({ apiVersion, kind: 'Plug', namespace, name });
}

function scopeOf(o: InProcessOperator, resource: string) {
  return o.operator.references.stats().scopes.find((s) => s.resource === resource);
}

/** Waits until the plug controller has been idle (nothing queued or running) for a few polls. */
async function settled(o: InProcessOperator): Promise<void> {
  let quiet = 0;
  await eventually(
    () => {
      const c = o.operator.plugController;
      quiet = c.queue.len() === 0 && c.active === 0 ? quiet + 1 : 0;
      return quiet >= 5;
    },
    { what: 'the plug controller to be idle', timeoutMs: 60_000, intervalMs: 200 },
  );
}

async function performed(o: InProcessOperator, event: string): Promise<number> {
  const m = await o.metrics.lifecycleEvents.get();
  return m.values
    .filter((v) => v.labels.side === 'plug' && v.labels.event === event && v.labels.kind === 'Plug')
    .reduce((a, v) => a + v.value, 0);
}

beforeAll(async () => {
  ({ state } = await up({ stateDir, verbose: false, auditPolicy }));
  const kc = new KubeConfig();
  kc.loadFromFile(state.kubeconfig);
  client = new KubeClient({ kubeConfig: kc, qps: 0 });
  kube = new Kube(client);
  await installCrds(kube, { manager: 'references-test' });
  const rights = [
    // The default (ConfigMaps and Secrets), plus a vars kind as referenceWatch.extraResources.
    ...(await chartRights(watcher, {
      referenceWatch: { extraResources: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'] }] },
    })),
    ...(await chartRights(poller, { referenceWatch: { enabled: false } })),
  ];
  for (const o of rights) await kube.apply(o, { manager: 'references-test' });
  await tenant(ns);
  await tenant(pollNs);
  op = await startOperator({
    namespaces: [ns],
    kubeconfig: userKubeconfig(state, watcher),
    // Short on purpose: a value is reused for 1 s at most, so any polling would show in the audit.
    referenceResyncMs: 1_000,
    referenceWatchLingerMs: 1_000,
  });
});

afterAll(async () => {
  await op?.stop();
  client?.close();
  await down({ stateDir, verbose: false });
});

describe('referenced objects, watched', () => {
  it('follows a shared and an own Secret by watching their metadata, reading values as the tenant, and sends nothing when idle', async () => {
    await kube.create(secret(ns, 'shared', { password: 'a' }));
    for (const i of [1, 2, 3]) await kube.create(secret(ns, `p-${i}-own`, { database: `db${i}` }));
    await kube.create(dbSocket(ns));
    for (const i of [1, 2, 3])
      await kube.create(
        plugObj(ns, `p-${i}`, {
          socket: { name: 'db' },
          serviceAccountName: 'tenant',
          configSecretName: `p-${i}-own`,
        }),
      );
    for (const i of [1, 2, 3])
      await waitForCondition(kube, 'Plug', ns, `p-${i}`, 'Ready', 'True', undefined, 60_000);
    expect(await conn(ns, 'p-1')).toEqual({ password: 'a', database: 'db1' });
    expect(scopeOf(op, 'secrets')).toMatchObject({ mode: 'watch', synced: true, namespace: ns });

    // The shared Secret changes: every plug performs updated with the new value.
    await setSecret(ns, 'shared', { password: 'b' });
    await eventually(
      async () => {
        for (const i of [1, 2, 3]) if ((await conn(ns, `p-${i}`))?.password !== 'b') return false;
        return true;
      },
      { what: 'every conn ConfigMap to carry the new password', timeoutMs: 30_000 },
    );
    // One plug's own Secret changes: that plug.
    await settled(op);
    const before = lifecycleOf(await plugStatus(ns, 'p-1'))?.plug?.hash;
    await setSecret(ns, 'p-2-own', { database: 'db2-renamed' });
    await eventually(async () => (await conn(ns, 'p-2'))?.database === 'db2-renamed', {
      what: "p-2's ConfigMap to follow its own Secret",
      timeoutMs: 30_000,
    });
    await settled(op);
    expect(lifecycleOf(await plugStatus(ns, 'p-1'))?.plug?.hash).toBe(before);

    // Idle: nothing is read (the reuse period is 1 s: polling per plug would show here).
    const from = auditSize();
    const idleFor = Date.now() + 5_000;
    await eventually(() => Date.now() >= idleFor, { what: 'an idle window', timeoutMs: 10_000 });
    const reads = audit(watcher, from).filter((e) => e.verb === 'get' || e.verb === 'list');
    expect(reads.map((e) => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.name}`)).toEqual([]);
  });

  it('loses no change when the watch breaks (API server restart): it reconnects or relists, and what changed meanwhile fires updated', async () => {
    const before = scopeOf(op, 'secrets')!;
    await stopApiserver(state);
    await eventually(() => (scopeOf(op, 'secrets')?.restarts ?? 0) > before.restarts, {
      what: 'the metadata watch to notice',
      timeoutMs: 60_000,
    });
    await startApiserver(state);
    // Changed before the operator's watch is back (it is in backoff).
    await setSecret(ns, 'shared', { password: 'c' });
    await setSecret(ns, 'p-3-own', { database: 'db3-after-restart' });
    await eventually(
      async () => {
        for (const i of [1, 2, 3]) if ((await conn(ns, `p-${i}`))?.password !== 'c') return false;
        return (await conn(ns, 'p-3'))?.database === 'db3-after-restart';
      },
      { what: 'the changes made while the watch was broken', timeoutMs: 90_000 },
    );
    // Refused for a moment while the API server started (its authorizer not ready), the watch may
    // have given way to polling: it is back soon.
    const after = await eventually(
      () => {
        const s = scopeOf(op, 'secrets');
        return s?.mode === 'watch' && s.synced ? s : undefined;
      },
      { what: 'the metadata watch to be back', timeoutMs: 60_000 },
    );
    // An API server restart starts its watch cache anew: the old resourceVersion is 410 Gone and
    // the informer relists (the 410 path), or it resumes from its resourceVersion.
    console.log(`secrets metadata watch after the restart: ${JSON.stringify({ before, after })}`);
  });

  it('fires updated once when a referenced Secret is deleted and created again; meanwhile it reports the missing Secret and stays coupled', async () => {
    await settled(op);
    const updates0 = await performed(op, 'updated');
    await kube.delete({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'p-1-own' });
    const missing = await waitForCondition(
      kube,
      'Plug',
      ns,
      'p-1',
      'Ready',
      'False',
      'ConfigInvalid',
      30_000,
    );
    expect(condition(missing, 'Ready')?.message).toMatch(/Secret refs\/p-1-own .*not found/);
    expect(condition(missing, 'Coupled')?.status).toBe('True');
    expect((await conn(ns, 'p-1'))?.database).toBe('db1');
    await kube.create(secret(ns, 'p-1-own', { database: 'db1-again' }));
    await eventually(async () => (await conn(ns, 'p-1'))?.database === 'db1-again', {
      what: 'p-1 to follow its re-created Secret',
      timeoutMs: 30_000,
    });
    await waitForCondition(kube, 'Plug', ns, 'p-1', 'Ready', 'True', undefined, 30_000);
    await settled(op);
    expect((await performed(op, 'updated')) - updates0).toBe(1);
  });

  it('reports Forbidden when the ServiceAccount loses get on the Secret, keeping what was performed; a later change after the right is back updates', async () => {
    await settled(op);
    const recorded = lifecycleOf(await plugStatus(ns, 'p-2'));
    await kube.mergePatch(
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', namespace: ns, name: 'tenant' },
      { rules: tenantRules(false) },
    );
    // RBAC takes effect within a moment; the change is what makes the operator read again.
    await eventually(
      async () => {
        await setSecret(ns, 'shared', { password: `d-${Date.now()}` });
        const p = await waitForCondition(kube, 'Plug', ns, 'p-2', 'Ready', 'False', 'Forbidden', 5_000);
        return p;
      },
      { what: 'p-2 to report Forbidden', timeoutMs: 60_000 },
    );
    const p = await plugStatus(ns, 'p-2');
    expect(condition(p, 'Coupled')).toMatchObject({ status: 'True', reason: 'CouplingSucceeded' });
    expect(condition(p, 'Ready')?.message).toMatch(/cannot get resource "secrets"/);
    expect(lifecycleOf(p)).toEqual(recorded);
    expect((await conn(ns, 'p-2'))?.password).toBe('c');

    await kube.mergePatch(
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', namespace: ns, name: 'tenant' },
      { rules: tenantRules(true) },
    );
    // Each attempt is a change (a new value): writing the same value again changes nothing, so a
    // first write the operator read before the API server's RBAC saw the Role again (Forbidden once
    // more) would leave the plug to its backoff, which the failures above have made long.
    let written: string | undefined;
    await eventually(
      async () => {
        if (written && (await conn(ns, 'p-2'))?.password === written) return true;
        written = `e-${Date.now()}`;
        await setSecret(ns, 'shared', { password: written });
        return false;
      },
      { what: 'p-2 to update once it may read the Secret again', timeoutMs: 60_000, intervalMs: 2_000 },
    );
    await waitForCondition(kube, 'Plug', ns, 'p-2', 'Ready', 'True', undefined, 30_000);
  });

  it('watches a vars kind on demand (a resultVar on a Lease) and stops the watch when nothing reads it', async () => {
    await kube.create({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'gate', namespace: ns },
      spec: { holderIdentity: 'nobody' },
    });
    await kube.create(socketObj(ns, 'plain', {}));
    await kube.create(
      plugObj(ns, 'waiter', {
        socket: { name: 'plain' },
        serviceAccountName: 'tenant',
        resultVars: [
          {
            name: 'holder',
            objref: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', name: 'gate' },
            fieldref: { fieldPath: 'spec.holderIdentity' },
          },
        ],
        resultTemplate: { holder: '{% .resultVars.holder %}' },
      }),
    );
    const holder = async () =>
      ((await plugStatus(ns, 'waiter'))?.status as { coupledResult?: { plug?: { holder?: string } } })
        ?.coupledResult?.plug?.holder;
    await eventually(async () => (await holder()) === 'nobody', {
      what: 'the first result',
      timeoutMs: 30_000,
    });
    expect(scopeOf(op, 'leases.coordination.k8s.io')).toMatchObject({ mode: 'watch', synced: true });
    await kube.mergePatch(
      { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: ns, name: 'gate' },
      { spec: { holderIdentity: 'job-done' } },
    );
    await eventually(async () => (await holder()) === 'job-done', {
      what: 'the result to follow the Lease',
      timeoutMs: 30_000,
    });
    await kube.delete({ apiVersion, kind: 'Plug', namespace: ns, name: 'waiter' });
    await eventually(() => scopeOf(op, 'leases.coordination.k8s.io') === undefined, {
      what: 'the unused Lease watch to stop',
      timeoutMs: 30_000,
    });
  });

  it("made every read of the tenants' objects as their ServiceAccount; its own identity only listed and watched metadata", () => {
    // A request made as a ServiceAccount that the API server refused before impersonating (at the
    // impersonation check, or unavailable while it restarts) is audited under the operator's own
    // name without `impersonatedUser`; it read nothing. A plain 403 of the operator's own read of
    // a Secret still counts (it would mean a read without impersonation).
    const refusedBeforeImpersonating = (e: AuditEvent) => {
      const code = e.responseStatus?.code ?? 0;
      return (
        code >= 500 || code === 429 || (code >= 400 && /impersonat/.test(e.responseStatus?.message ?? ''))
      );
    };
    const own = audit(watcher).filter(
      (e) =>
        !e.impersonatedUser &&
        !refusedBeforeImpersonating(e) &&
        (e.objectRef?.resource === 'secrets' ||
          e.objectRef?.resource === 'configmaps' ||
          e.objectRef?.resource === 'leases'),
    );
    expect(own.length).toBeGreaterThan(0);
    expect([...new Set(own.map((e) => e.verb))].sort()).toEqual(['list', 'watch']);
    const lists = own.filter((e) => e.verb === 'list' && e.objectRef?.resource !== 'leases');
    expect(lists.length).toBeGreaterThan(0);
    for (const l of lists) {
      expect(l.responseObject?.kind).toBe('PartialObjectMetadataList');
      for (const item of l.responseObject?.items ?? []) {
        expect(item.data).toBeUndefined();
        expect(item.stringData).toBeUndefined();
      }
    }
    const secretGets = audit(watcher).filter(
      (e) => e.verb === 'get' && e.objectRef?.resource === 'secrets' && !refusedBeforeImpersonating(e),
    );
    expect(secretGets.length).toBeGreaterThan(0);
    const notAsTenant = secretGets.filter(
      (g) => g.impersonatedUser?.username !== 'system:serviceaccount:refs:tenant',
    );
    expect(notAsTenant, JSON.stringify(notAsTenant)).toEqual([]);
  });
});

describe('referenced objects, without list/watch', () => {
  it('polls each referenced object once per period (not each plug) and still fires updated', async () => {
    const polling = await startOperator({
      namespaces: [pollNs],
      kubeconfig: userKubeconfig(state, poller),
      referenceResyncMs: 2_000,
    });
    try {
      await kube.create(secret(pollNs, 'shared', { password: 'a' }));
      await kube.create(dbSocket(pollNs));
      const n = 10;
      for (let i = 0; i < n; i++)
        await kube.create(
          plugObj(pollNs, `p-${i}`, {
            socket: { name: 'db' },
            serviceAccountName: 'tenant',
            config: { database: `db${i}` },
          }),
        );
      for (let i = 0; i < n; i++)
        await waitForCondition(kube, 'Plug', pollNs, `p-${i}`, 'Ready', 'True', undefined, 60_000);
      expect(scopeOf(polling, 'secrets')).toMatchObject({ mode: 'poll' });
      await settled(polling);
      const from = auditSize();
      const polls0 = (await polling.metrics.referencePolls.get()).values[0]?.value ?? 0;
      await eventually(
        async () => ((await polling.metrics.referencePolls.get()).values[0]?.value ?? 0) - polls0 >= 4,
        { what: 'four polls', timeoutMs: 30_000 },
      );
      const polls = ((await polling.metrics.referencePolls.get()).values[0]?.value ?? 0) - polls0;
      const gets = audit(poller, from).filter((e) => e.verb === 'get' && e.objectRef?.resource === 'secrets');
      // One GET per poll (of the one Secret, as the socket's ServiceAccount); per-plug polling
      // would have made 10 per period.
      expect(gets.length).toBeGreaterThanOrEqual(polls - 1);
      expect(gets.length).toBeLessThanOrEqual(polls + 1);
      for (const g of gets)
        expect(g.impersonatedUser?.username).toBe(`system:serviceaccount:${pollNs}:tenant`);

      await setSecret(pollNs, 'shared', { password: 'b' });
      await eventually(
        async () => {
          for (let i = 0; i < n; i++) if ((await conn(pollNs, `p-${i}`))?.password !== 'b') return false;
          return true;
        },
        { what: 'every plug to follow the polled Secret', timeoutMs: 60_000 },
      );
      // Its own identity was refused the metadata list (403) and never read a Secret itself.
      const own = audit(poller).filter((e) => !e.impersonatedUser && e.objectRef?.resource === 'secrets');
      expect(own.length).toBeGreaterThan(0);
      for (const e of own) expect(`${e.verb} ${e.responseStatus?.code}`).toBe('list 403');
    } finally {
      await polling.stop();
    }
  });
});
