// Proof that the local control plane is the real thing: CRDs and watches, garbage collection,
// RBAC with impersonation, namespace deletion. Everything later stands on these behaviours.
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  RbacAuthorizationV1Api,
  Watch,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, randomName, statusOf, testKubeConfig } from '../support/kube.ts';
import { eventually } from '../support/poll.ts';

const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
let ns: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ name: ns, cleanup } = await createNamespace(kc, 'proof'));
});
afterAll(async () => {
  await cleanup();
});

describe('local control plane', () => {
  it('serves a CRD and delivers its custom objects through a watch', async () => {
    const ext = kc.makeApiClient(ApiextensionsV1Api);
    const group = `${randomName('g')}.proof.test`;
    await ext.createCustomResourceDefinition({
      body: {
        metadata: { name: `widgets.${group}` },
        spec: {
          group,
          scope: 'Namespaced',
          names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } },
                },
              },
            },
          ],
        },
      },
    });
    try {
      await eventually(
        async () => {
          const crd = await ext.readCustomResourceDefinition({ name: `widgets.${group}` });
          return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
        },
        { what: 'the CRD to be established' },
      );
      const seen: Array<{ type: string; name: string; size: number }> = [];
      const errors: string[] = [];
      const watch = new Watch(kc);
      // A new CRD's watch cache initialises for a moment after Established: the API server answers
      // 429 meanwhile. Restart the watch when it ends, as an informer must (the runtime's does).
      let req: AbortController | undefined;
      let stopped = false;
      const startWatch = async (): Promise<void> => {
        req = await watch.watch(
          `/apis/${group}/v1/namespaces/${ns}/widgets`,
          {},
          (type, obj: { metadata: { name: string }; spec: { size: number } }) => {
            seen.push({ type, name: obj.metadata.name, size: obj.spec.size });
          },
          (err: unknown) => {
            errors.push(String(err));
            if (!stopped) setTimeout(() => void startWatch(), 200);
          },
        );
      };
      await startWatch();
      try {
        const custom = kc.makeApiClient(CustomObjectsApi);
        await custom.createNamespacedCustomObject({
          group,
          version: 'v1',
          namespace: ns,
          plural: 'widgets',
          body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 3 } },
        });
        const read = (await custom.getNamespacedCustomObject({
          group,
          version: 'v1',
          namespace: ns,
          plural: 'widgets',
          name: 'w1',
        })) as { spec: { size: number } };
        expect(read.spec.size).toBe(3);
        await eventually(() => seen.find((e) => e.type === 'ADDED' && e.name === 'w1'), {
          what: 'the watch to deliver ADDED w1',
        });
        expect(seen).toContainEqual({ type: 'ADDED', name: 'w1', size: 3 });
        expect(errors.every((e) => /Too Many Requests|429/.test(e))).toBe(true);
      } finally {
        stopped = true;
        req?.abort();
      }
    } finally {
      await ext.deleteCustomResourceDefinition({ name: `widgets.${group}` });
    }
  });

  it('garbage-collects an object whose owner was deleted', async () => {
    const owner = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'owner' }, data: { a: '1' } },
    });
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: {
        metadata: {
          name: 'dependent',
          ownerReferences: [
            { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid! },
          ],
        },
      },
    });
    await core.deleteNamespacedConfigMap({ namespace: ns, name: 'owner' });
    await eventually(
      async () => {
        try {
          await core.readNamespacedConfigMap({ namespace: ns, name: 'dependent' });
          return false;
        } catch (err) {
          return statusOf(err) === 404;
        }
      },
      { what: 'the garbage collector to delete the dependent', timeoutMs: 60_000 },
    );
  });

  it('refuses an impersonated ServiceAccount without rights and allows it after a RoleBinding', async () => {
    const sa = 'tenant';
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: sa } } });
    const imp = new KubeConfig();
    const admin = kc.getCurrentUser()!;
    imp.loadFromOptions({
      clusters: kc.clusters,
      users: [
        { ...admin, name: `${admin.name}-as-${sa}`, impersonateUser: `system:serviceaccount:${ns}:${sa}` },
      ],
      contexts: [{ name: 'imp', cluster: kc.getCurrentCluster()!.name, user: `${admin.name}-as-${sa}` }],
      currentContext: 'imp',
    });
    const asTenant = imp.makeApiClient(CoreV1Api);
    const create = () =>
      asTenant.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: randomName('cm') } } });
    const refused = await create().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(statusOf(refused)).toBe(403);
    expect(String((refused as { body?: unknown }).body)).toContain(`system:serviceaccount:${ns}:${sa}`);

    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: 'cm-writer' },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['create'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'cm-writer' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cm-writer' },
        subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
      },
    });
    // RBAC is evaluated from the authorizer's cache, which follows the binding within moments.
    const created = await eventually(() => create(), { what: 'the RoleBinding to take effect' });
    expect(created.metadata?.name).toBeTruthy();
  });

  it('completes a namespace deletion', async () => {
    const { name } = await createNamespace(kc, 'doomed');
    await core.createNamespacedConfigMap({ namespace: name, body: { metadata: { name: 'x' } } });
    await core.deleteNamespace({ name });
    await eventually(
      async () => {
        try {
          await core.readNamespace({ name });
          return false;
        } catch (err) {
          return statusOf(err) === 404;
        }
      },
      { what: `namespace ${name} to be gone`, timeoutMs: 60_000 },
    );
  });

  it('runs the service-account controller (default ServiceAccount appears in a new namespace)', async () => {
    const { name, cleanup: drop } = await createNamespace(kc, 'sa');
    try {
      const sa = await eventually(
        () => core.readNamespacedServiceAccount({ namespace: name, name: 'default' }),
        {
          what: 'the default ServiceAccount',
        },
      );
      expect(sa.metadata?.name).toBe('default');
    } finally {
      await drop();
    }
  });
});
