// Templated resources on the real API server: a socket whose Job (Go dialect) and ConfigMaps (eta)
// are rendered with the plug's config from a Secret, applied as the socket's ServiceAccount,
// re-applied when the Secret changes, kept or deleted on decoupling; forbidden and refused cases.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiVersion, group, version } from '../../src/api/common.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { Informer } from '../../src/runtime/informer.ts';
import { randomName } from '../support/kube.ts';
import {
  adminKube,
  condition,
  deleteNamespaces,
  eventsFor,
  grant,
  type InProcessOperator,
  plugObj,
  socketObj,
  startOperator,
  waitForCondition,
  writeVerbs,
} from '../support/operator.ts';
import { eventually } from '../support/poll.ts';

const kube = adminKube();
const prefix = randomName('res');
const db = `${prefix}-db`;
const app = `${prefix}-app`;
let op: InProcessOperator;

const write = writeVerbs;

beforeAll(async () => {
  for (const name of [db, app])
    await kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  await grant(kube, db, 'provisioner', [
    { apiGroups: [''], resources: ['configmaps'], verbs: write },
    { apiGroups: ['batch'], resources: ['jobs'], verbs: write },
  ]);
  await grant(kube, app, 'consumer', [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }]);
  op = await startOperator({ namespaces: [db, app], referenceResyncMs: 1_000 });
});

afterAll(async () => {
  await deleteNamespaces(kube, [db, app]);
  await op?.stop();
});

const get = (kind: string, ns: string, name: string, av = 'v1') =>
  kube.get({ apiVersion: av, kind, namespace: ns, name });

describe('templated resources', () => {
  it('renders Go and eta templates with the plug config, applies them as the socket ServiceAccount, follows a Secret change, and cleans up on decoupling', async () => {
    await kube.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db-creds', namespace: app },
      stringData: { database: 'orders', password: 's3cr3t' },
    });
    await kube.create(
      socketObj(db, 'postgres', {
        serviceAccountName: 'provisioner',
        interface: {
          config: { plug: { database: { required: true } }, socket: { host: { required: true } } },
        },
        config: { host: 'postgres.db.svc' },
        resources: [
          {
            when: ['coupled', 'updated'],
            do: 'recreate',
            template: {
              apiVersion: 'batch/v1',
              kind: 'Job',
              metadata: { name: '{% .plug.metadata.name %}-migrate' },
              spec: {
                template: {
                  spec: {
                    restartPolicy: 'Never',
                    containers: [
                      {
                        name: 'migrate',
                        image: 'postgres:16',
                        env: [
                          { name: 'DATABASE', value: '{% .plugConfig.database %}' },
                          { name: 'QUOTED', value: '{% .plugConfig.database | quote %}' },
                        ],
                      },
                    ],
                  },
                },
              },
            },
          },
          {
            when: ['coupled', 'updated'],
            stringTemplate:
              'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {%= it.plug.metadata.name %}-conn\ndata:\n  host: {%= JSON.stringify(it.socketConfig.host) %}\n  database: {%= JSON.stringify(it.plugConfig.database) %}\n',
          },
          {
            when: ['coupled'],
            retainWhenDecoupled: true,
            template: {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { name: '{% .plug.metadata.name %}-audit', namespace: 'kube-system' },
              data: { coupled: 'yes' },
            },
          },
        ],
      }),
    );
    await kube.create(
      plugObj(app, 'shop', {
        socket: { name: 'postgres', namespace: db },
        serviceAccountName: 'consumer',
        configSecretName: 'db-creds',
      }),
    );
    const plug = await waitForCondition(kube, 'Plug', app, 'shop', 'Coupled', 'True', undefined, 60_000);
    // The socket's resources must be cleaned up on decoupling: the plug's deletion waits for it.
    expect(plug.metadata.finalizers).toContain('integration.rock8s.com/finalizer');
    // The Secret-sourced value never reaches the status.
    expect(JSON.stringify(plug.status)).not.toContain('s3cr3t');
    const job = await eventually(() => get('Job', db, 'shop-migrate', 'batch/v1'), { what: 'the Job' });
    const env = (
      job.spec as {
        template: { spec: { containers: Array<{ env: Array<{ name: string; value: string }> }> } };
      }
    ).template.spec.containers[0]!.env;
    expect(env).toEqual([
      { name: 'DATABASE', value: 'orders' },
      { name: 'QUOTED', value: '"orders"' },
    ]);
    // `do: recreate` creates the Job (a POST with the operator's field manager: operation Update).
    const managers = (
      (
        job.metadata as {
          managedFields?: Array<{ manager: string; operation: string; subresource?: string }>;
        }
      ).managedFields ?? []
    )
      .filter((m) => !m.subresource)
      .map((m) => `${m.manager}/${m.operation}`);
    expect(managers).toEqual(['integration-operator/Update']);
    const conn = await get('ConfigMap', db, 'shop-conn');
    expect(conn?.data).toEqual({ host: 'postgres.db.svc', database: 'orders' });
    // The template named kube-system: it lands in the socket's namespace, with a Warning Event.
    expect(await get('ConfigMap', 'kube-system', 'shop-audit')).toBeUndefined();
    expect(await get('ConfigMap', db, 'shop-audit')).toBeDefined();
    await eventually(async () =>
      (await eventsFor(kube, db, 'postgres')).some(
        (e) => e.type === 'Warning' && /named namespace kube-system/.test(e.message),
      ),
    );

    // The Secret changes: updated, the Job is recreated with the new value.
    const oldUid = job.metadata.uid;
    await kube.mergePatch(
      { apiVersion: 'v1', kind: 'Secret', namespace: app, name: 'db-creds' },
      { stringData: { database: 'orders2' } },
    );
    const recreated = await eventually(
      async () => {
        const j = await get('Job', db, 'shop-migrate', 'batch/v1');
        return j && j.metadata.uid !== oldUid ? j : undefined;
      },
      { what: 'the Job to be recreated after the Secret change', timeoutMs: 30_000 },
    );
    const env2 = (
      recreated.spec as { template: { spec: { containers: Array<{ env: Array<{ value: string }> }> } } }
    ).template.spec.containers[0]!.env;
    expect(env2[0]!.value).toBe('orders2');
    await eventually(
      async () =>
        ((await get('ConfigMap', db, 'shop-conn'))?.data as { database?: string } | undefined)?.database ===
        'orders2',
    );

    // Decoupling (plug deleted): what was applied for the coupling goes, the retained ConfigMap stays.
    await kube.delete({ apiVersion, kind: 'Plug', namespace: app, name: 'shop' });
    await eventually(async () => (await get('ConfigMap', db, 'shop-conn')) === undefined, {
      what: 'the conn ConfigMap to be deleted',
    });
    await eventually(async () => (await get('Job', db, 'shop-migrate', 'batch/v1')) === undefined, {
      what: 'the Job to be deleted',
    });
    expect(await get('ConfigMap', db, 'shop-audit')).toBeDefined();
  });

  it('lets a namespace holding a coupled plug and its socket be deleted promptly (its Roles go first)', async () => {
    const ns = `${prefix}-doomed`;
    await kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await grant(kube, ns, 'provisioner', [{ apiGroups: [''], resources: ['configmaps'], verbs: write }]);
    const op2 = await startOperator({ namespaces: [ns] });
    try {
      await kube.create(
        socketObj(ns, 'local', {
          serviceAccountName: 'provisioner',
          resources: [
            {
              when: ['coupled'],
              template: {
                apiVersion: 'v1',
                kind: 'ConfigMap',
                metadata: { name: '{% .plug.metadata.name %}-cm' },
              },
            },
          ],
        }),
      );
      await kube.create(
        plugObj(ns, 'local-plug', { socket: { name: 'local' }, serviceAccountName: 'provisioner' }),
      );
      await waitForCondition(kube, 'Plug', ns, 'local-plug', 'Coupled', 'True');
      expect(await get('ConfigMap', ns, 'local-plug-cm')).toBeDefined();
      const t0 = Date.now();
      await deleteNamespaces(kube, [ns], 60_000);
      console.log(`namespace with a coupled plug deleted in ${Date.now() - t0} ms`);
    } finally {
      await op2.stop();
    }
  });

  it('reports Forbidden when the ServiceAccount lacks the rights, and creates nothing', async () => {
    await kube.create(
      socketObj(db, 'no-rights', {
        // the default ServiceAccount has no Role here
        resources: [
          {
            when: ['coupled'],
            template: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'should-not-exist' } },
          },
        ],
      }),
    );
    await kube.create(plugObj(app, 'denied', { socket: { name: 'no-rights', namespace: db } }));
    const p = await waitForCondition(kube, 'Plug', app, 'denied', 'Ready', 'False', 'Forbidden');
    expect(condition(p, 'Ready')?.message).toContain(`system:serviceaccount:${db}:default`);
    expect(condition(p, 'Coupled')?.status).toBe('False');
    expect(await get('ConfigMap', db, 'should-not-exist')).toBeUndefined();
  });

  it('refuses a cluster-scoped kind in a template', async () => {
    await kube.create(
      socketObj(db, 'cluster-scoped', {
        serviceAccountName: 'provisioner',
        resources: [
          {
            when: ['coupled'],
            template: {
              apiVersion: 'rbac.authorization.k8s.io/v1',
              kind: 'ClusterRole',
              metadata: { name: `${prefix}-escalate` },
              rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
            },
          },
        ],
      }),
    );
    await kube.create(plugObj(app, 'escalate', { socket: { name: 'cluster-scoped', namespace: db } }));
    const p = await waitForCondition(kube, 'Plug', app, 'escalate', 'Ready', 'False', 'Forbidden');
    expect(condition(p, 'Ready')?.message).toMatch(/cluster-scoped/);
    expect(
      await kube.get({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        name: `${prefix}-escalate`,
      }),
    ).toBeUndefined();
  });

  it('reports a template error with the failing path, and couples once it is fixed', async () => {
    await kube.create(
      socketObj(db, 'broken', {
        serviceAccountName: 'provisioner',
        resources: [
          {
            when: ['coupled'],
            template: {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { name: '{% .plug.metadata.name | nosuchfunc %}' },
            },
          },
        ],
      }),
    );
    await kube.create(plugObj(app, 'tpl', { socket: { name: 'broken', namespace: db } }));
    const p = await waitForCondition(kube, 'Plug', app, 'tpl', 'Ready', 'False', 'TemplateError');
    expect(condition(p, 'Ready')?.message).toMatch(/nosuchfunc/);
    await kube.mergePatch(
      { apiVersion, kind: 'Socket', namespace: db, name: 'broken' },
      {
        spec: {
          resources: [
            {
              when: ['coupled'],
              template: {
                apiVersion: 'v1',
                kind: 'ConfigMap',
                metadata: { name: '{% .plug.metadata.name | lower %}-fixed' },
              },
            },
          ],
        },
      },
    );
    await waitForCondition(kube, 'Plug', app, 'tpl', 'Coupled', 'True');
    expect(await get('ConfigMap', db, 'tpl-fixed')).toBeDefined();
  });
});

/** A socket with a Job per plug, recreated on coupled and updated (as the Go operator's sample). */
const recreateSocket = (name: string) =>
  socketObj(db, name, {
    serviceAccountName: 'provisioner',
    resources: [
      {
        when: ['coupled', 'updated'],
        do: 'recreate',
        template: {
          apiVersion: 'batch/v1',
          kind: 'Job',
          metadata: { name: '{% .plug.metadata.name %}-job', labels: { from: 'template' } },
          spec: {
            template: {
              spec: {
                restartPolicy: 'Never',
                containers: [
                  { name: 'c', image: 'busybox', env: [{ name: 'EPOCH', value: '{% .plug.spec.epoch %}' }] },
                ],
              },
            },
          },
        },
      },
    ],
  });

const jobOf = (name: string) => get('Job', db, `${name}-job`, 'batch/v1');

/** Every version of the plugs of `ns` the API server reports (a watch sees each write). */
function followPlugs(ns: string) {
  const seen: KubeObject[] = [];
  const inf = new Informer<KubeObject>({
    client: kube.client,
    resource: { group, version, resource: 'plugs', kind: 'Plug', namespaced: true },
    namespaces: [ns],
    log: silentLogger,
  });
  inf.addHandler({ onAdd: (p) => seen.push(p), onUpdate: (_o, p) => seen.push(p) });
  const stop = new AbortController();
  const running = inf.start(stop.signal);
  return {
    synced: () => inf.waitForSync(),
    versionsOf: (name: string) => seen.filter((p) => p.metadata.name === name),
    stop: async () => {
      stop.abort();
      await running;
    },
  };
}

async function requests(verb: string, resource: string): Promise<number> {
  const m = await op.metrics.kubeRequests.get();
  return m.values
    .filter((v) => v.labels.verb === verb && v.labels.resource === resource)
    .reduce((a, v) => a + v.value, 0);
}

describe('do: recreate', () => {
  it('couples in four writes: the finalizer, one create of the Job, the status and the Event (no delete of a Job that is not there, no in-process status)', async () => {
    await kube.create(recreateSocket('jobs'));
    const follow = followPlugs(app);
    try {
      await follow.synced();
      const deletes = await requests('DELETE', 'jobs');
      const applies = await requests('PATCH', 'jobs');
      const creates = await requests('POST', 'jobs');
      await kube.create(plugObj(app, 'first', { socket: { name: 'jobs', namespace: db }, epoch: '1' }));
      await waitForCondition(kube, 'Plug', app, 'first', 'Coupled', 'True');
      const versions = await eventually(
        () => {
          const v = follow.versionsOf('first');
          const i = v.findIndex((p) => condition(p, 'Coupled')?.status === 'True');
          return i >= 0 ? v.slice(0, i + 1) : undefined;
        },
        { what: 'the watch to show the plug coupled' },
      );
      // Created by the test, then two writes of the operator: the finalizer, the coupled status.
      expect(versions.map((p) => Boolean(p.metadata.finalizers?.length))).toEqual([false, true, true]);
      expect(versions.map((p) => condition(p, 'Coupled')?.reason)).toEqual([
        undefined,
        undefined,
        'CouplingSucceeded',
      ]);
      expect(await requests('DELETE', 'jobs')).toBe(deletes);
      expect(await requests('PATCH', 'jobs')).toBe(applies);
      expect(await requests('POST', 'jobs')).toBe(creates + 1);
      const job = await jobOf('first');
      expect(job?.metadata.labels?.from).toBe('template');
      await eventually(async () =>
        (await eventsFor(kube, app, 'first')).some((e) => e.reason === 'PlugCoupled'),
      );
    } finally {
      await follow.stop();
    }
  });

  it('recreates a Job left by someone else under the same name at the first coupling', async () => {
    await kube.create({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'leftover-job', namespace: db, labels: { from: 'someone-else' } },
      spec: {
        template: { spec: { restartPolicy: 'Never', containers: [{ name: 'old', image: 'busybox' }] } },
      },
    });
    const old = await jobOf('leftover');
    await kube.create(plugObj(app, 'leftover', { socket: { name: 'jobs', namespace: db }, epoch: '1' }));
    await waitForCondition(kube, 'Plug', app, 'leftover', 'Ready', 'True');
    const job = await jobOf('leftover');
    expect(job?.metadata.uid).not.toBe(old?.metadata.uid);
    expect(job?.metadata.labels?.from).toBe('template');
  });

  it('shows the update in process while the old Job is still terminating, and recreates it once gone', async () => {
    await kube.create(plugObj(app, 'held', { socket: { name: 'jobs', namespace: db }, epoch: '1' }));
    await waitForCondition(kube, 'Plug', app, 'held', 'Ready', 'True');
    const old = await jobOf('held');
    const jobRef = { apiVersion: 'batch/v1', kind: 'Job', namespace: db, name: 'held-job' };
    await kube.mergePatch(jobRef, { metadata: { finalizers: ['example.com/hold'] } });
    await kube.mergePatch(
      { apiVersion, kind: 'Plug', namespace: app, name: 'held' },
      { spec: { epoch: '2' } },
    );
    const during = await waitForCondition(kube, 'Plug', app, 'held', 'Ready', 'False', 'UpdatingInProcess');
    expect(condition(during, 'Coupled')?.status).toBe('True');
    expect((await jobOf('held'))?.metadata.deletionTimestamp).toBeTruthy();
    await kube.mergePatch(jobRef, { metadata: { finalizers: null } });
    await waitForCondition(kube, 'Plug', app, 'held', 'Ready', 'True');
    const job = await jobOf('held');
    expect(job?.metadata.uid).not.toBe(old?.metadata.uid);
    const env = (
      job!.spec as { template: { spec: { containers: Array<{ env: Array<{ value: string }> }> } } }
    ).template.spec.containers[0]!.env;
    expect(env[0]!.value).toBe('2');
  });
});
