// Apparatus on the real API server: the calls a plug's and a socket's apparatus receive over a
// coupling's life (order, bodies, keys), an apparatus that is down for a while, and managed
// apparatus Pods (shape, readiness, idle reaping, also across an operator restart).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiVersion } from '../../src/api/common.ts';
import { parseEndpointOverrides } from '../../src/apparatus/index.ts';
import { lastUsedAnnotation } from '../../src/controllers/managed-apparatus.ts';
import { type ApparatusRecorder, startRecorder } from '../support/apparatus-recorder.ts';
import { randomName } from '../support/kube.ts';
import {
  adminKube,
  condition,
  deleteNamespaces,
  eventsFor,
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
const prefix = randomName('ap');
const ns = `${prefix}-a`;
const ops: InProcessOperator[] = [];
const recorders: ApparatusRecorder[] = [];

beforeAll(async () => {
  await kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
});

afterAll(async () => {
  const cleaner = await startOperator({ namespaces: [ns], cleanupTimeoutMs: 0 });
  for (const o of ops) await o.stop().catch(() => undefined);
  await deleteNamespaces(kube, [ns]);
  await cleaner.stop();
  for (const r of recorders) await r.close();
});

async function recorder(opts: Parameters<typeof startRecorder>[0] = {}): Promise<ApparatusRecorder> {
  const r = await startRecorder(opts);
  recorders.push(r);
  return r;
}

async function operator(opts: Parameters<typeof startOperator>[0]): Promise<InProcessOperator> {
  const o = await startOperator(opts);
  ops.push(o);
  return o;
}

function endpoints(r: ApparatusRecorder, plug?: string): string[] {
  return r.calls
    .filter((c) => !plug || c.plug === plug || (c.endpoint === 'created' && !c.plug))
    .map((c) => c.endpoint);
}

describe('apparatus', () => {
  it('records nothing for a step cut short by the operator stopping (no Warning, no failure in status); the next operator performs it with the same key', async () => {
    let slow = true;
    const app = await recorder({ delayMs: (e) => (e === 'coupled' && slow ? 1_500 : 0) });
    const overrides = parseEndpointOverrides({
      APPARATUS_ENDPOINT_OVERRIDES: `Plug/${ns}/cut=${app.url}`,
    });
    const first = await startOperator({ namespaces: [ns], overrides });
    await kube.create(socketObj(ns, 'cut-socket', { config: { host: 'db.example' } }));
    // Known to the operator before the plug comes (else the plug warns SocketNotCreated first).
    await waitForCondition(kube, 'Socket', ns, 'cut-socket', 'Ready', 'True');
    await kube.create(plugObj(ns, 'cut', { socket: { name: 'cut-socket' }, apparatus: { containers: [] } }));
    await eventually(() => app.calls.some((c) => c.endpoint === 'coupled' && c.plug === 'cut'), {
      what: 'the coupled call to be in flight',
    });
    // Stops while /coupled is answered: the call is aborted, the step cut short.
    await first.stop();
    const warnings = (await eventsFor(kube, ns, 'cut')).filter((e) => e.type === 'Warning');
    expect(warnings).toEqual([]);
    const plug = await getObj(kube, 'Plug', ns, 'cut');
    expect((plug?.status as { failure?: unknown } | undefined)?.failure).toBeUndefined();
    expect(condition(plug, 'Coupled')?.status).not.toBe('True');

    slow = false;
    const second = await operator({ namespaces: [ns], overrides });
    await waitForCondition(kube, 'Plug', ns, 'cut', 'Coupled', 'True');
    const coupled = app.calls.filter((c) => c.endpoint === 'coupled' && c.plug === 'cut');
    expect(coupled.length).toBe(2);
    expect(coupled[1]!.key).toBe(coupled[0]!.key);
    expect((await eventsFor(kube, ns, 'cut')).filter((e) => e.type === 'Warning')).toEqual([]);
    await second.stop();
  });

  it('receives /config, /created, /coupled, /updated, /decoupled, /deleted in order, with the wire bodies apparatus services rely on', async () => {
    const plugApp = await recorder({ config: () => ({ fromApparatus: 'yes', port: 5432, on: true }) });
    const socketApp = await recorder({ config: () => ({ host: 'db.example' }) });
    const overrides = parseEndpointOverrides({
      APPARATUS_ENDPOINT_OVERRIDES: `Plug/${ns}/life=${plugApp.url},Socket/${ns}/life-socket=${socketApp.url}`,
    });
    // The plug's ServiceAccount may read the ConfigMap its var names (reads are made as it).
    await grant(kube, ns, 'default', [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }], {
      existing: true,
      role: 'read-configmaps',
    });
    const op = await operator({ namespaces: [ns], overrides });
    await kube.create(
      socketObj(ns, 'life-socket', { apparatus: { containers: [] }, config: { host: 'literal' } }),
    );
    await kube.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'vars-src', namespace: ns },
      data: { k: 'v1' },
    });
    await kube.create(
      plugObj(ns, 'life', {
        socket: { name: 'life-socket' },
        apparatus: { containers: [] },
        config: { fromApparatus: 'no' },
        vars: [
          {
            name: 'k',
            objref: { apiVersion: 'v1', kind: 'ConfigMap', name: 'vars-src' },
            fieldref: { fieldPath: 'data.k' },
          },
        ],
      }),
    );
    const plug = await waitForCondition(kube, 'Plug', ns, 'life', 'Coupled', 'True');
    expect(endpoints(plugApp, 'life')).toEqual(['created', 'config', 'coupled']);
    expect(socketApp.calls.filter((c) => c.plug === 'life').map((c) => c.endpoint)).toEqual([
      'config',
      'coupled',
    ]);

    const cfg = plugApp.calls.find((c) => c.endpoint === 'config')!;
    expect(cfg.body.version).toBe(1);
    expect(cfg.body.vars).toEqual({ k: 'v1' });
    expect(cfg.body.plugData).toEqual({});
    expect((cfg.body.socket as Record<string, unknown>).status).toBeUndefined();
    const socketCfg = socketApp.calls.find((c) => c.endpoint === 'config')!;
    expect(socketCfg.body).not.toHaveProperty('vars');
    expect((socketCfg.body.plug as Record<string, unknown>).status).toBeUndefined();
    const created = plugApp.calls.find((c) => c.endpoint === 'created')!;
    expect(created.body).toMatchObject({ version: '1', plug: { metadata: { name: 'life' } } });
    expect(created.body).not.toHaveProperty('socket');
    const coupled = plugApp.calls.find((c) => c.endpoint === 'coupled')!;
    expect(coupled.body.version).toBe('1');
    // apparatus config wins over literal config; numbers and booleans arrive as their JSON text
    expect(coupled.body.plugConfig).toEqual({ fromApparatus: 'yes', port: '5432', on: 'true' });
    expect(coupled.body.socketConfig).toEqual({ host: 'db.example' });
    expect(coupled.key).toMatch(/^[0-9a-f]{64}$/);
    expect(socketApp.calls.find((c) => c.endpoint === 'coupled')!.at).toBeGreaterThanOrEqual(coupled.at);
    expect(condition(plug, 'Ready')?.status).toBe('True');

    // A change of a var's source (not of any spec) fires updated, found by re-reading.
    await kube.mergePatch(
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'vars-src' },
      { data: { k: 'v2' } },
    );
    await eventually(
      () =>
        plugApp.calls.some((c) => c.endpoint === 'updated') &&
        socketApp.calls.some((c) => c.endpoint === 'updated'),
      {
        what: 'updated on both sides after the ConfigMap changed',
      },
    );
    const updated = plugApp.calls.find((c) => c.endpoint === 'updated')!;
    expect(updated.key).not.toBe(coupled.key);

    await kube.delete({ apiVersion, kind: 'Plug', namespace: ns, name: 'life' });
    await eventually(async () => (await getObj(kube, 'Plug', ns, 'life')) === undefined, {
      what: 'the plug to be gone',
    });
    expect(endpoints(plugApp, 'life').slice(-2)).toEqual(['decoupled', 'deleted']);
    expect(socketApp.calls.filter((c) => c.endpoint === 'decoupled').map((c) => c.plug)).toEqual(['life']);
    const plugDecoupled = plugApp.calls.find((c) => c.endpoint === 'decoupled')!;
    const socketDecoupled = socketApp.calls.find((c) => c.endpoint === 'decoupled')!;
    expect(plugDecoupled.at).toBeLessThanOrEqual(socketDecoupled.at);
    await op.stop();
    ops.splice(ops.indexOf(op), 1);
  });

  it('while the apparatus is down, reports ApparatusUnavailable, keeps the coupling, and delivers the owed event with the same key when it is back', async () => {
    let down = false;
    const app = await recorder({
      failWith: (endpoint) => (down && endpoint === 'updated' ? 503 : undefined),
    });
    const overrides = parseEndpointOverrides({ APPARATUS_ENDPOINT_OVERRIDES: `Plug/${ns}/flaky=${app.url}` });
    const op = await operator({ namespaces: [ns], overrides });
    await kube.create(socketObj(ns, 'flaky-socket'));
    await kube.create(
      plugObj(ns, 'flaky', { socket: { name: 'flaky-socket' }, apparatus: { containers: [] } }),
    );
    await waitForCondition(kube, 'Plug', ns, 'flaky', 'Coupled', 'True');
    down = true;
    const before = app.calls.length;
    await kube.mergePatch(
      { apiVersion, kind: 'Plug', namespace: ns, name: 'flaky' },
      { spec: { epoch: 'x' } },
    );
    const failing = await waitForCondition(
      kube,
      'Plug',
      ns,
      'flaky',
      'Ready',
      'False',
      'ApparatusUnavailable',
    );
    expect(condition(failing, 'Coupled')?.status).toBe('True');
    expect(condition(failing, 'Ready')?.message).toMatch(/503/);
    await eventually(() => app.calls.slice(before).filter((c) => c.endpoint === 'updated').length >= 2, {
      what: 'retries of /updated',
    });
    down = false;
    await waitForCondition(kube, 'Plug', ns, 'flaky', 'Ready', 'True');
    const keys = new Set(
      app.calls
        .slice(before)
        .filter((c) => c.endpoint === 'updated')
        .map((c) => c.key),
    );
    expect(keys.size).toBe(1);
    await op.stop();
    ops.splice(ops.indexOf(op), 1);
  });

  it('shows UpdatingInProcess (Coupled stays True) while an update is performed', async () => {
    const app = await recorder({ delayMs: (endpoint) => (endpoint === 'updated' ? 1_500 : 0) });
    const overrides = parseEndpointOverrides({ APPARATUS_ENDPOINT_OVERRIDES: `Plug/${ns}/slow=${app.url}` });
    const op = await operator({ namespaces: [ns], overrides });
    await kube.create(socketObj(ns, 'slow-socket'));
    await kube.create(
      plugObj(ns, 'slow', { socket: { name: 'slow-socket' }, apparatus: { containers: [] } }),
    );
    await waitForCondition(kube, 'Plug', ns, 'slow', 'Ready', 'True');
    await kube.mergePatch(
      { apiVersion, kind: 'Plug', namespace: ns, name: 'slow' },
      { spec: { epoch: 'slow' } },
    );
    const during = await waitForCondition(kube, 'Plug', ns, 'slow', 'Ready', 'False', 'UpdatingInProcess');
    expect(condition(during, 'Coupled')?.status).toBe('True');
    expect(condition(during, 'Ready')?.message).toContain('updated (plug side)');
    await waitForCondition(kube, 'Plug', ns, 'slow', 'Ready', 'True');
    await op.stop();
    ops.splice(ops.indexOf(op), 1);
  });

  it('runs a managed apparatus Pod and Service as the owner ServiceAccount, waits for Ready, and deletes the idle Pod, also after a restart', async () => {
    const app = await recorder({ config: () => ({ token: 'abc' }), basePath: '/api' });
    // The tenant's ServiceAccount may run Pods and Services in its namespace.
    await grant(
      kube,
      ns,
      'tenant',
      [{ apiGroups: [''], resources: ['pods', 'services'], verbs: writeVerbs }],
      {
        role: 'apparatus',
      },
    );
    const op = await operator({ namespaces: [ns], managedUrlTemplate: app.url, reapIntervalMs: 500 });
    await kube.create(socketObj(ns, 'managed-socket'));
    await kube.create(
      plugObj(ns, 'managed', {
        socket: { name: 'managed-socket' },
        serviceAccountName: 'tenant',
        apparatus: {
          endpoint: '/api',
          idleTimeout: 3,
          containers: [
            {
              name: 'app',
              image: 'example/apparatus:1',
              ports: [{ containerPort: 3000, name: 'container' }],
            },
          ],
        },
      }),
    );
    const podName = 'managed-plug-apparatus';
    const pod = await eventually(
      () => kube.get({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name: podName }),
      { what: 'the apparatus Pod' },
    );
    const meta = pod.metadata;
    expect(meta.labels?.apparatus).toBe(podName);
    expect(meta.annotations?.['sidecar.istio.io/inject']).toBe('false');
    expect(meta.ownerReferences?.[0]).toMatchObject({ kind: 'Plug', name: 'managed', controller: true });
    const spec = pod.spec as {
      serviceAccountName: string;
      affinity?: unknown;
      containers: Array<{ resources: { requests: unknown; limits: unknown } }>;
    };
    expect(spec.serviceAccountName).toBe('tenant');
    expect(spec.affinity).toBeUndefined();
    expect(spec.containers[0]!.resources.requests).toEqual({ cpu: '50m', memory: '64Mi' });
    const managedFields =
      (pod.metadata as { managedFields?: Array<{ manager: string }> }).managedFields ?? [];
    expect(managedFields.map((m) => m.manager)).toContain('integration-operator');
    // The Service is applied right after the Pod.
    const svc = await eventually(
      () => kube.get({ apiVersion: 'v1', kind: 'Service', namespace: ns, name: podName }),
      { what: 'the apparatus Service' },
    );
    expect(
      (svc?.spec as { ports: Array<{ port: number; targetPort: string }> } | undefined)?.ports[0],
    ).toMatchObject({
      port: 80,
      targetPort: 'container',
    });
    // Not Ready: nothing is called yet; the plug says why.
    await waitForCondition(kube, 'Plug', ns, 'managed', 'Ready', 'False', 'ApparatusUnavailable');
    expect(app.calls).toHaveLength(0);
    // Mark it Ready as a kubelet would.
    const ready = {
      status: {
        phase: 'Running',
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          },
        ],
      },
    };
    await kube.mergePatch({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name: podName }, ready, {
      subresource: 'status',
    });
    await waitForCondition(kube, 'Plug', ns, 'managed', 'Coupled', 'True', undefined, 60_000);
    expect(app.calls.map((c) => c.endpoint)).toEqual(
      expect.arrayContaining(['created', 'config', 'coupled']),
    );
    const used = await kube.get({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name: podName });
    expect(used?.metadata.annotations?.[lastUsedAnnotation]).toBeTruthy();
    // Idle: the Pod goes after idleTimeout (3 s).
    await eventually(
      async () =>
        (await kube.get({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name: podName })) === undefined,
      {
        what: 'the idle Pod to be deleted',
        timeoutMs: 30_000,
      },
    );
    // A change needs the apparatus again: the Pod comes back.
    await kube.mergePatch(
      { apiVersion, kind: 'Plug', namespace: ns, name: 'managed' },
      { spec: { epoch: '2' } },
    );
    await eventually(() => kube.get({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name: podName }), {
      what: 'the Pod again',
    });
    await kube.mergePatch({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name: podName }, ready, {
      subresource: 'status',
    });
    await eventually(() => app.calls.some((c) => c.endpoint === 'updated'), { what: '/updated' });
    // The operator restarts: a new instance reaps the idle Pod from the annotation on the Pod.
    await op.stop();
    ops.splice(ops.indexOf(op), 1);
    await operator({ namespaces: [ns], managedUrlTemplate: app.url, reapIntervalMs: 500 });
    await eventually(
      async () =>
        (await kube.get({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name: podName })) === undefined,
      {
        what: 'the idle Pod to be deleted by the restarted operator',
        timeoutMs: 30_000,
      },
    );
  });
});
