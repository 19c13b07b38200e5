// DeferredResource on the real API server: waits for objects and for a CRD, honours the delay,
// creates as the ServiceAccount (Forbidden without the right, success once granted), leaves an
// existing object alone, keeps or deletes the resource on deletion, forces the namespace, refuses
// cluster-scoped kinds, and reports bad specs while a canary keeps resolving.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { apiVersion } from '../../src/api/common.ts';
import { createdByAnnotation } from '../../src/api/deferred-resource.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { randomName } from '../support/kube.ts';
import {
  adminKube,
  type Cond,
  condition,
  deleteNamespaces,
  eventsFor,
  type InProcessOperator,
  repoRoot,
  startOperator,
} from '../support/operator.ts';
import { eventually } from '../support/poll.ts';

const kube = adminKube();
const prefix = randomName('dr');
const ns = `${prefix}-a`;
const other = `${prefix}-b`;
const crdGroup = `${prefix}.example.com`;
const clusterObjects: Array<{ apiVersion: string; kind: string; name: string }> = [];
let op: InProcessOperator;
let canaries = 0;

function dr(name: string, spec: Record<string, unknown>, namespace = ns): KubeObject {
  return { apiVersion, kind: 'DeferredResource', metadata: { name, namespace }, spec };
}

function configMap(name: string, data: Record<string, string> = { a: '1' }, namespace?: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, ...(namespace ? { namespace } : {}) },
    data,
  };
}

const getDr = (name: string) => kube.get({ apiVersion, kind: 'DeferredResource', namespace: ns, name });
const getConfigMap = (name: string, namespace = ns) =>
  kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name });

async function waitResolved(name: string, status: string, reason: string, timeoutMs = 30_000) {
  return eventually(
    async () => {
      const obj = await getDr(name);
      const c = condition(obj, 'Resolved');
      return c?.status === status && c.reason === reason ? { obj: obj!, cond: c } : undefined;
    },
    { what: `DeferredResource ${ns}/${name} Resolved=${status} (${reason})`, timeoutMs },
  );
}

async function expectEvent(name: string, type: string, reason: string, text?: string) {
  return eventually(
    async () =>
      (await eventsFor(kube, ns, name)).find(
        (e) => e.type === type && e.reason === reason && (!text || e.message.includes(text)),
      ),
    { what: `a ${type} ${reason} Event on ${name}` },
  );
}

/** A ServiceAccount with a Role granting `verbs` on `resources` (core group unless given). */
async function serviceAccount(
  name: string,
  rules: Array<{ apiGroups?: string[]; resources: string[]; verbs: string[] }>,
): Promise<void> {
  await kube.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns } });
  if (!rules.length) return;
  await kube.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name, namespace: ns },
    rules: rules.map((r) => ({ apiGroups: r.apiGroups ?? [''], resources: r.resources, verbs: r.verbs })),
  });
  await kube.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name, namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [{ kind: 'ServiceAccount', name, namespace: ns }],
  });
}

function widgetCrd(plural: string, kind: string): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${crdGroup}` },
    spec: {
      group: crdGroup,
      names: { plural, singular: plural.replace(/s$/, ''), kind, listKind: `${kind}List` },
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
  };
}

beforeAll(async () => {
  for (const name of [ns, other])
    await kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  // deployer: what a DeferredResource needs (get + create, delete for deletionPolicy Delete).
  await serviceAccount('deployer', [
    { resources: ['configmaps', 'secrets'], verbs: ['get', 'create', 'delete'] },
    { apiGroups: [crdGroup], resources: ['widgets', 'gadgets'], verbs: ['get', 'create'] },
  ]);
  // Reading a CustomResourceDefinition (cluster-scoped) needs a ClusterRole.
  const crdReader = `${prefix}-crd-reader`;
  await kube.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: crdReader },
    rules: [
      { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['get'] },
    ],
  });
  await kube.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: crdReader },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: crdReader },
    subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: ns }],
  });
  clusterObjects.push(
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: crdReader },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', name: crdReader },
  );
  op = await startOperator({ namespaces: [ns, other] });
});

afterAll(async () => {
  await deleteNamespaces(kube, [ns, other]);
  await op?.stop();
  for (const o of clusterObjects) await kube.delete(o).catch(() => undefined);
});

/** After each bad object, a new DeferredResource still resolves. */
async function canary(): Promise<void> {
  const name = `canary-${canaries++}`;
  await kube.create(dr(name, { serviceAccountName: 'deployer', resource: configMap(`${name}-out`) }));
  await waitResolved(name, 'True', 'Success');
}

describe('DeferredResource', () => {
  it('waits for two objects created later, then creates the resource as the ServiceAccount', async () => {
    await kube.create(
      dr('two', {
        serviceAccountName: 'deployer',
        waitFor: [
          { apiVersion: 'v1', kind: 'ConfigMap', name: 'two-in' },
          { group: '', version: 'v1', kind: 'Secret', name: 'two-secret' },
        ],
        resource: configMap('two-out', { made: 'later' }),
      }),
    );
    const pending = await waitResolved('two', 'False', 'Pending');
    expect(pending.cond.message).toBe(`waiting for ConfigMap ${ns}/two-in, Secret ${ns}/two-secret`);
    await expectEvent('two', 'Normal', 'Pending');
    await kube.create(configMap('two-in', {}, ns));
    await eventually(
      async () =>
        condition(await getDr('two'), 'Resolved')?.message === `waiting for Secret ${ns}/two-secret`,
      { what: 'the message to name only the Secret' },
    );
    expect(await getConfigMap('two-out')).toBeUndefined();
    await kube.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'two-secret', namespace: ns } });
    const done = await waitResolved('two', 'True', 'Success');
    expect(done.cond.message).toBe(`created ConfigMap ${ns}/two-out as system:serviceaccount:${ns}:deployer`);
    const out = (await getConfigMap('two-out'))!;
    expect(out.data).toEqual({ made: 'later' });
    expect(out.metadata.annotations?.[createdByAnnotation]).toBe(done.obj.metadata.uid);
    const managers = (out.metadata.managedFields as Array<{ manager: string; operation: string }>).map(
      (f) => `${f.manager}/${f.operation}`,
    );
    expect(managers).toEqual(['integration-operator/Update']);
    expect((done.obj.status as { ownerReferences?: unknown }).ownerReferences).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: 'two-out',
      uid: out.metadata.uid,
    });
    // No finalizer by default: deletion never waits on the operator (as in the Go operator).
    expect(done.obj.metadata.finalizers ?? []).toEqual([]);
    await expectEvent('two', 'Normal', 'Success', 'created ConfigMap');
  });

  it('creates only as the ServiceAccount: Forbidden (naming verb, resource and ServiceAccount) until granted', async () => {
    await serviceAccount('reader', [{ resources: ['configmaps'], verbs: ['get'] }]);
    // deletionPolicy Delete without the right to delete: the namespace deletion at the end of this
    // file must not wait on it (the operator leaves the object to the namespace).
    await kube.create(
      dr('as-sa', {
        serviceAccountName: 'reader',
        deletionPolicy: 'Delete',
        resource: configMap('as-sa-out'),
      }),
    );
    const refused = await waitResolved('as-sa', 'False', 'Forbidden');
    expect(refused.cond.message).toContain(
      `creating ConfigMap ${ns}/as-sa-out as system:serviceaccount:${ns}:reader`,
    );
    expect(refused.cond.message).toContain(
      `User "system:serviceaccount:${ns}:reader" cannot create resource "configmaps" in API group "" in the namespace "${ns}"`,
    );
    await expectEvent('as-sa', 'Warning', 'Forbidden', 'cannot create resource "configmaps"');
    expect(await getConfigMap('as-sa-out')).toBeUndefined();
    // Grant create: the backoff retry (at most a minute apart) picks it up.
    await kube.mergePatch(
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', namespace: ns, name: 'reader' },
      { rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'create'] }] },
    );
    await waitResolved('as-sa', 'True', 'Success', 70_000);
    expect(await getConfigMap('as-sa-out')).toBeDefined();
  });

  it('reports Forbidden for a ServiceAccount without rights, creating nothing', async () => {
    await kube.create(
      dr('nobody', {
        waitFor: [{ apiVersion: 'v1', kind: 'Secret', name: 'whatever' }],
        resource: configMap('nobody-out'),
      }),
    );
    const refused = await waitResolved('nobody', 'False', 'Forbidden');
    expect(refused.cond.message).toContain(
      `User "system:serviceaccount:${ns}:default" cannot get resource "secrets" in API group "" in the namespace "${ns}"`,
    );
    expect(refused.cond.message).toContain('waitFor[0]');
    expect(await getConfigMap('nobody-out')).toBeUndefined();
  });

  it('waits for a CustomResourceDefinition (by name, and a kind by discovery), then creates its first custom resource', async () => {
    await kube.create(
      dr('crd-by-name', {
        serviceAccountName: 'deployer',
        waitFor: [
          {
            apiVersion: 'apiextensions.k8s.io/v1',
            kind: 'CustomResourceDefinition',
            name: `widgets.${crdGroup}`,
          },
        ],
        resource: {
          apiVersion: `${crdGroup}/v1`,
          kind: 'Widget',
          metadata: { name: 'w1' },
          spec: { size: 3 },
        },
      }),
    );
    await kube.create(
      dr('crd-by-kind', {
        serviceAccountName: 'deployer',
        waitFor: [{ apiVersion: `${crdGroup}/v1`, kind: 'Gadget' }],
        resource: { apiVersion: `${crdGroup}/v1`, kind: 'Gadget', metadata: { name: 'g1' } },
      }),
    );
    const byName = await waitResolved('crd-by-name', 'False', 'Pending');
    expect(byName.cond.message).toBe(`waiting for CustomResourceDefinition widgets.${crdGroup}`);
    const byKind = await waitResolved('crd-by-kind', 'False', 'Pending');
    expect(byKind.cond.message).toBe(`waiting for kind Gadget (${crdGroup}/v1) to be served`);
    for (const [plural, kind] of [
      ['widgets', 'Widget'],
      ['gadgets', 'Gadget'],
    ] as const) {
      await kube.create(widgetCrd(plural, kind));
      clusterObjects.push({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        name: `${plural}.${crdGroup}`,
      });
    }
    await waitResolved('crd-by-name', 'True', 'Success');
    await waitResolved('crd-by-kind', 'True', 'Success');
    const w1 = await kube.get({ apiVersion: `${crdGroup}/v1`, kind: 'Widget', namespace: ns, name: 'w1' });
    expect(w1?.spec).toEqual({ size: 3 });
    expect(
      await kube.get({ apiVersion: `${crdGroup}/v1`, kind: 'Gadget', namespace: ns, name: 'g1' }),
    ).toBeDefined();
  });

  it('honours the delay: nothing before timeout seconds after creation', async () => {
    await kube.create(
      dr('delayed', { serviceAccountName: 'deployer', timeout: 4, resource: configMap('delayed-out') }),
    );
    const pending = await waitResolved('delayed', 'False', 'Pending');
    expect(pending.cond.message).toMatch(/^waiting until \S+Z \(timeout: 4 s after creation\)$/);
    expect(await getConfigMap('delayed-out')).toBeUndefined();
    const done = await waitResolved('delayed', 'True', 'Success');
    const out = await getConfigMap('delayed-out');
    const delay =
      Date.parse(out!.metadata.creationTimestamp!) - Date.parse(done.obj.metadata.creationTimestamp!);
    expect(delay).toBeGreaterThanOrEqual(4000);
  });

  it('reports Success for an existing resource and leaves it unchanged', async () => {
    const pre = await kube.create(configMap('pre', { v: 'original' }, ns));
    await kube.create(
      dr('existing', { serviceAccountName: 'deployer', resource: configMap('pre', { v: 'changed' }) }),
    );
    const done = await waitResolved('existing', 'True', 'Success');
    expect(done.cond.message).toBe(`ConfigMap ${ns}/pre already exists: left unchanged`);
    const now = await getConfigMap('pre');
    expect(now?.data).toEqual({ v: 'original' });
    expect(now?.metadata.resourceVersion).toBe(pre.metadata.resourceVersion);
    expect((done.obj.status as { ownerReferences?: { uid?: string } }).ownerReferences?.uid).toBe(
      pre.metadata.uid,
    );
  });

  it('keeps the resource on deletion by default, and deletes it with deletionPolicy Delete', async () => {
    await kube.create(dr('retain', { serviceAccountName: 'deployer', resource: configMap('retain-out') }));
    await waitResolved('retain', 'True', 'Success');
    await kube.delete({ apiVersion, kind: 'DeferredResource', namespace: ns, name: 'retain' });
    await eventually(async () => (await getDr('retain')) === undefined, {
      what: 'the DeferredResource to be gone',
    });
    expect(await getConfigMap('retain-out')).toBeDefined();

    await kube.create(
      dr('delete', {
        serviceAccountName: 'deployer',
        deletionPolicy: 'Delete',
        resource: configMap('delete-out'),
      }),
    );
    const done = await waitResolved('delete', 'True', 'Success');
    expect(done.obj.metadata.finalizers).toEqual(['integration.rock8s.com/finalizer']);
    await kube.delete({ apiVersion, kind: 'DeferredResource', namespace: ns, name: 'delete' });
    await eventually(async () => (await getConfigMap('delete-out')) === undefined, {
      what: 'the resource to be deleted',
    });
    await eventually(async () => (await getDr('delete')) === undefined, {
      what: 'the DeferredResource to be gone',
    });

    // An object that existed before is never deleted, whatever the policy.
    await kube.create(configMap('foreign', {}, ns));
    await kube.create(
      dr('delete-foreign', {
        serviceAccountName: 'deployer',
        deletionPolicy: 'Delete',
        resource: configMap('foreign'),
      }),
    );
    await waitResolved('delete-foreign', 'True', 'Success');
    await kube.delete({ apiVersion, kind: 'DeferredResource', namespace: ns, name: 'delete-foreign' });
    await eventually(async () => (await getDr('delete-foreign')) === undefined, {
      what: 'the DeferredResource to be gone',
    });
    expect(await getConfigMap('foreign')).toBeDefined();
  });

  it("creates a resource naming another namespace in the DeferredResource's, with a Warning Event", async () => {
    await kube.create(
      dr('elsewhere', { serviceAccountName: 'deployer', resource: configMap('moved', {}, other) }),
    );
    await waitResolved('elsewhere', 'True', 'Success');
    expect(await getConfigMap('moved', ns)).toBeDefined();
    expect(await getConfigMap('moved', other)).toBeUndefined();
    await expectEvent('elsewhere', 'Warning', 'ResourceWarning', `named namespace ${other}`);
  });

  it('refuses a cluster-scoped resource (a ClusterRole) by default', async () => {
    const name = `${prefix}-sneaky`;
    await kube.create(
      dr('cluster', {
        serviceAccountName: 'deployer',
        resource: {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRole',
          metadata: { name },
          rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
        },
      }),
    );
    const refused = await waitResolved('cluster', 'False', 'Forbidden');
    expect(refused.cond.message).toContain('cluster-scoped');
    expect(refused.cond.message).toContain('allow-cluster-scoped-resources');
    await expectEvent('cluster', 'Warning', 'Forbidden');
    expect(
      await kube.get({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name }),
    ).toBeUndefined();
  });

  const bad: Array<{ name: string; spec: Record<string, unknown>; message: string }> = [
    { name: 'empty', spec: {}, message: 'invalid spec: spec is empty' },
    {
      name: 'no-kind',
      spec: { waitFor: [{ apiVersion: 'v1', name: 'x' }], resource: configMap('no-kind-out') },
      message: 'invalid spec: waitFor[0]: no kind',
    },
    {
      name: 'bad-api-version',
      spec: { resource: { apiVersion: 'v1/config/map', kind: 'ConfigMap', metadata: { name: 'x' } } },
      message: 'spec.resource: apiVersion "v1/config/map" is not of the form',
    },
    {
      name: 'no-name',
      spec: { resource: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'x-' } } },
      message: 'spec.resource has no metadata.name',
    },
  ];
  for (const b of bad) {
    it(`reports ${b.name} as Error and keeps working`, async () => {
      await kube.create(dr(b.name, b.spec));
      const failed = await waitResolved(b.name, 'False', 'Error');
      expect(failed.cond.message).toContain(b.message);
      await expectEvent(b.name, 'Warning', 'Error');
      await canary();
    });
  }

  it('resolves a spec that was fixed', async () => {
    await kube.create(
      dr('fixed', { waitFor: [{ apiVersion: 'v1', name: 'fixed-in' }], resource: configMap('fixed-out') }),
    );
    await waitResolved('fixed', 'False', 'Error');
    await kube.mergePatch(
      { apiVersion, kind: 'DeferredResource', namespace: ns, name: 'fixed' },
      {
        spec: {
          serviceAccountName: 'deployer',
          waitFor: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'fixed-in' }],
        },
      },
    );
    await waitResolved('fixed', 'False', 'Pending');
    await kube.create(configMap('fixed-in', {}, ns));
    const done = await waitResolved('fixed', 'True', 'Success');
    expect((done.obj.status as { conditions: Cond[] }).conditions).toHaveLength(1);
  });

  it('wakes a DeferredResource waiting for the object another one creates', async () => {
    await kube.create(
      dr('second', {
        serviceAccountName: 'deployer',
        waitFor: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'first-out' }],
        resource: configMap('second-out'),
      }),
    );
    await waitResolved('second', 'False', 'Pending');
    await kube.create(dr('first', { serviceAccountName: 'deployer', resource: configMap('first-out') }));
    await waitResolved('first', 'True', 'Success');
    await waitResolved('second', 'True', 'Success');
  });

  it('runs the sample as it is: waits for its ConfigMap, creates the Job, deletes it with the DeferredResource', async () => {
    const text = readFileSync(path.join(repoRoot, 'config', 'samples', 'deferredresource.yaml'), 'utf8');
    for (const doc of parseAllDocuments(text)) {
      const obj = doc.toJS() as KubeObject;
      await kube.create({ ...obj, metadata: { ...obj.metadata, namespace: ns } });
    }
    const pending = await waitResolved('deferred-sample', 'False', 'Pending');
    expect(pending.cond.message).toContain(`ConfigMap ${ns}/deferred-sample-settings`);
    await kube.create(configMap('deferred-sample-settings', { greeting: 'hello' }, ns));
    await waitResolved('deferred-sample', 'True', 'Success');
    const job = { apiVersion: 'batch/v1', kind: 'Job', namespace: ns, name: 'deferred-sample-greet' };
    expect(await kube.get(job)).toBeDefined();
    await kube.delete({ apiVersion, kind: 'DeferredResource', namespace: ns, name: 'deferred-sample' });
    await eventually(async () => (await kube.get(job)) === undefined, { what: 'the Job to be deleted' });
  });
});
