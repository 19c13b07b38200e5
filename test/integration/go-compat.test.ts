// Drop-in for the Go operator: the examples of its README couple with the right rendered objects,
// and objects whose status the Go operator wrote are adopted without firing anything again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiVersion, finalizer } from '../../src/api/common.ts';
import { parseEndpointOverrides } from '../../src/apparatus/index.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { type ApparatusRecorder, startRecorder } from '../support/apparatus-recorder.ts';
import { randomName } from '../support/kube.ts';
import {
  adminKube,
  condition,
  deleteNamespaces,
  getObj,
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
const prefix = randomName('go');
const db = `${prefix}-db`;
const app = `${prefix}-app`;
const ops: InProcessOperator[] = [];
const recorders: ApparatusRecorder[] = [];

const write = writeVerbs;

beforeAll(async () => {
  for (const name of [db, app])
    await kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  await grant(kube, db, 'dba', [
    { apiGroups: [''], resources: ['configmaps'], verbs: write },
    { apiGroups: ['batch'], resources: ['jobs'], verbs: write },
  ]);
  await grant(kube, app, 'web', [
    { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] },
    { apiGroups: [''], resources: ['configmaps'], verbs: write },
  ]);
});

afterAll(async () => {
  const cleaner = await startOperator({ namespaces: [db, app], cleanupTimeoutMs: 0 });
  for (const o of ops) await o.stop().catch(() => undefined);
  await deleteNamespaces(kube, [db, app]);
  await cleaner.stop();
  for (const r of recorders) await r.close();
});

async function operator(opts: Parameters<typeof startOperator>[0]): Promise<InProcessOperator> {
  const o = await startOperator(opts);
  ops.push(o);
  return o;
}

async function stop(o: InProcessOperator): Promise<void> {
  await o.stop();
  ops.splice(ops.indexOf(o), 1);
}

describe('the Go operator README examples', () => {
  it('couples a socket with a Job on coupled/updated (Go dialect), vars with a fieldPath, resultVars and a conditional resultResource', async () => {
    const op = await operator({ namespaces: [db, app], referenceResyncMs: 1_000 });
    await kube.create({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: app, labels: { 'app.kubernetes.io/name': 'web' } },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { serviceAccountName: 'web', containers: [{ name: 'web', image: 'nginx' }] },
        },
      },
    });
    await kube.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'migration-state', namespace: app },
      data: { done: '0' },
    });
    await kube.create(
      socketObj(db, 'postgres', {
        serviceAccountName: 'dba',
        interface: {
          config: {
            plug: { hello: { default: 'world' }, database: { required: true } },
            socket: { howdy: { required: true } },
          },
          result: { plug: { resultJob: {} } },
        },
        config: { howdy: 'partner' },
        resources: [
          {
            when: ['coupled', 'updated'],
            do: 'apply',
            template: {
              apiVersion: 'batch/v1',
              kind: 'Job',
              metadata: { name: 'my-job-{% .plug.metadata.name %}' },
              spec: {
                template: {
                  spec: {
                    restartPolicy: 'Never',
                    containers: [
                      {
                        name: 'my-job',
                        image: 'my-job-image',
                        env: [
                          { name: 'HELLO', value: '{% .plugConfig.hello %}' },
                          { name: 'DATABASE', value: '{% .plugConfig.database %}' },
                        ],
                      },
                    ],
                  },
                },
              },
            },
          },
        ],
      }),
    );
    await kube.create(
      plugObj(app, 'web', {
        socket: { name: 'postgres', namespace: db },
        serviceAccountName: 'web',
        vars: [
          {
            name: 'serviceAccountName',
            objref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: app },
            fieldref: { fieldPath: 'spec.template.spec.serviceAccountName' },
          },
          {
            name: 'appName',
            objref: { group: 'apps', version: 'v1', kind: 'Deployment', name: 'web' },
            fieldref: { fieldPath: 'metadata.labels.app\\.kubernetes\\.io/name' },
          },
        ],
        configTemplate: { database: '{% .vars.appName %}_{% .vars.serviceAccountName %}' },
        resultVars: [
          {
            name: 'migrated',
            objref: { apiVersion: 'v1', kind: 'ConfigMap', name: 'migration-state', namespace: app },
            fieldref: { fieldPath: 'data.done' },
          },
        ],
        resultTemplate: { resultJob: '{% .resultVars.migrated %}' },
        resultResources: [
          {
            do: 'apply',
            // The README's conditional pattern, `endif` included (Go itself refused it).
            stringTemplate:
              '{%- if (eq .result.resultJob "1") %}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: my-result\ndata:\n  socket: {% .socketConfig.howdy | quote %}\n{%- endif %}\n',
          },
        ],
      }),
    );
    const plug = await waitForCondition(kube, 'Plug', app, 'web', 'Coupled', 'True', undefined, 60_000);
    const job = await eventually(
      () => kube.get({ apiVersion: 'batch/v1', kind: 'Job', namespace: db, name: 'my-job-web' }),
      { what: 'the Job' },
    );
    const env = (
      job.spec as {
        template: { spec: { containers: Array<{ env: Array<{ name: string; value: string }> }> } };
      }
    ).template.spec.containers[0]!.env;
    expect(env).toEqual([
      { name: 'HELLO', value: 'world' },
      { name: 'DATABASE', value: 'web_web' },
    ]);
    expect((plug.status as { coupledResult: { plug: Record<string, string> } }).coupledResult.plug).toEqual({
      resultJob: '0',
    });
    // Empty conditional: no resource.
    expect(
      await kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: app, name: 'my-result' }),
    ).toBeUndefined();
    // The migration finishes: the resultVar changes, the result follows on the next look (no spec
    // change needed), and the conditional resource appears.
    await kube.mergePatch(
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: app, name: 'migration-state' },
      { data: { done: '1' } },
    );
    const result = await eventually(
      () => kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: app, name: 'my-result' }),
      {
        what: 'the conditional result resource',
      },
    );
    expect(result.data).toEqual({ socket: 'partner' });
    await eventually(async () => {
      const p = await getObj(kube, 'Plug', app, 'web');
      return (
        (p?.status as { coupledResult?: { plug?: Record<string, string> } })?.coupledResult?.plug
          ?.resultJob === '1'
      );
    });
    await stop(op);
  });
});

describe('adopting objects coupled by the Go operator', () => {
  it('takes over Go-written status without firing created or coupled or re-applying resources; the next change fires updated once', async () => {
    const plugApp = await startRecorder();
    const socketApp = await startRecorder();
    recorders.push(plugApp, socketApp);
    // What the Go operator left: finalizers, its status shapes, and the resource it applied.
    const socket: KubeObject = await kube.create<KubeObject>({
      ...socketObj(db, 'legacy', {
        serviceAccountName: 'dba',
        apparatus: { containers: [] },
        resources: [
          {
            when: ['coupled', 'updated'],
            template: {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { name: 'legacy-{% .plug.metadata.name %}' },
              data: { v: '{% .plug.spec.epoch %}' },
            },
          },
        ],
      }),
      metadata: { name: 'legacy', namespace: db, finalizers: [finalizer] },
    });
    const plug: KubeObject = await kube.create<KubeObject>({
      ...plugObj(app, 'legacy-plug', {
        socket: { name: 'legacy', namespace: db },
        apparatus: { containers: [] },
        epoch: 'a',
      }),
      metadata: { name: 'legacy-plug', namespace: app, finalizers: [finalizer] },
    });
    const goTime = '2024-01-01T00:00:00Z';
    await kube.mergePatch(
      { apiVersion, kind: 'Socket', namespace: db, name: 'legacy' },
      {
        status: {
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'SocketCreated',
              message: '',
              lastTransitionTime: goTime,
            },
          ],
          coupledPlugs: [
            { apiVersion, kind: 'Plug', name: 'legacy-plug', namespace: app, uid: plug.metadata.uid },
          ],
        },
      },
      { subresource: 'status' },
    );
    await kube.mergePatch(
      { apiVersion, kind: 'Plug', namespace: app, name: 'legacy-plug' },
      {
        status: {
          conditions: [
            {
              type: 'Coupled',
              status: 'True',
              reason: 'CouplingSucceeded',
              message: '',
              lastTransitionTime: goTime,
            },
            { type: 'Failed', status: 'False', reason: 'Error', message: 'old', lastTransitionTime: goTime },
          ],
          coupledSocket: {
            apiVersion,
            kind: 'Socket',
            name: 'legacy',
            namespace: db,
            uid: socket.metadata.uid,
          },
          coupledResult: { plug: {}, socket: {}, observedGeneration: 1 },
        },
      },
      { subresource: 'status' },
    );
    const applied: KubeObject = await kube.create<KubeObject>({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'legacy-legacy-plug', namespace: db },
      data: { v: 'a' },
    });

    const overrides = parseEndpointOverrides({
      DEBUG_PLUG_ENDPOINT: plugApp.url,
      DEBUG_SOCKET_ENDPOINT: socketApp.url,
    });
    const op = await operator({ namespaces: [db, app], overrides });
    const adopted = await eventually(
      async () => {
        const p = await getObj(kube, 'Plug', app, 'legacy-plug');
        return (p?.status as { lifecycle?: { coupling?: { plug?: { hash?: string } } } })?.lifecycle?.coupling
          ?.plug?.hash
          ? p
          : undefined;
      },
      { what: 'the plug to be adopted' },
    );
    expect(condition(adopted, 'Coupled')?.status).toBe('True');
    expect(condition(adopted, 'Failed')).toBeUndefined();
    await eventually(async () => {
      const s = await getObj(kube, 'Socket', db, 'legacy');
      return (s?.status as { lifecycle?: { created?: string } })?.lifecycle?.created !== undefined;
    });
    // Nothing fired, nothing re-applied.
    const events = [...plugApp.calls, ...socketApp.calls]
      .map((c) => c.endpoint)
      .filter((e) => e !== 'config');
    expect(events).toEqual([]);
    const cm = await kube.get({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: db,
      name: 'legacy-legacy-plug',
    });
    expect(cm?.metadata.resourceVersion).toBe(applied.metadata.resourceVersion);

    // The next real change fires updated once per side.
    await kube.mergePatch(
      { apiVersion, kind: 'Plug', namespace: app, name: 'legacy-plug' },
      { spec: { epoch: 'b' } },
    );
    await eventually(
      () =>
        plugApp.calls.some((c) => c.endpoint === 'updated') &&
        socketApp.calls.some((c) => c.endpoint === 'updated'),
      {
        what: 'updated on both sides',
      },
    );
    await eventually(
      async () =>
        (
          (await kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: db, name: 'legacy-legacy-plug' }))
            ?.data as { v?: string } | undefined
        )?.v === 'b',
    );
    const all = [...plugApp.calls, ...socketApp.calls].map((c) => c.endpoint).filter((e) => e !== 'config');
    expect(all).toEqual(['updated', 'updated']);
    await stop(op);
  });
});
