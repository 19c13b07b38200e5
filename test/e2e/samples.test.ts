import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createExampleApparatus, passwordFor } from '../../examples/apparatus/apparatus.ts';
import { randomName } from '../support/kube.ts';
import {
  adminKube,
  condition,
  deleteNamespaces,
  eventsFor,
  getObj,
  plugObj,
  waitForCondition,
} from '../support/operator.ts';
import { eventually } from '../support/poll.ts';
import { sampleNamespaces, samplesDir } from './support/chart.ts';
import { installOperator, kubectl, type OperatorInstall } from './support/install.ts';

const kube = adminKube();
const releaseNamespace = randomName('e2e-operator');
const release = 'io-e2e';
/** Generous on kind, where Pods really start and images are pulled. */
const slow = inject('e2eImage') ? 180_000 : 30_000;
const timings: Record<string, number> = {};

let op: OperatorInstall | undefined;
const apparatusLog: string[] = [];
let apparatusClose: (() => Promise<void>) | undefined;

function ms(since: number): number {
  return Math.round(performance.now() - since);
}

beforeAll(async () => {
  for (const ns of sampleNamespaces) {
    if (await kube.get({ apiVersion: 'v1', kind: 'Namespace', name: ns })) {
      throw new Error(
        `namespace ${ns} already exists: this suite creates and deletes the samples' namespaces, so it refuses to run on a cluster that has them (delete them, or on the local control plane run npm run cluster:down)`,
      );
    }
  }
  // The watched namespaces first: in watchNamespace mode the chart binds the operator's rights there.
  await kubectl(['apply', '--server-side', '-f', path.join(samplesDir, '00-namespaces.yaml')]);
  await kubectl(['create', 'namespace', releaseNamespace]);

  const processEnv: Record<string, string> = {};
  if (!inject('e2eImage')) {
    // No Pods run on the local control plane: the samples' example apparatus runs here, and the
    // operator is pointed at it for that one socket (an operator-level override, not tenant input).
    const app = createExampleApparatus({
      passwordSeed: 'e2e-only',
      basePath: '/socket',
      log: (line) => apparatusLog.push(line),
    });
    const server = await app.listen(0);
    apparatusClose = () => server.close();
    processEnv.APPARATUS_ENDPOINT_OVERRIDES = `Socket/sample-provider/credentials=http://127.0.0.1:${server.port}/socket`;
  }
  const t0 = performance.now();
  op = await installOperator({
    release,
    namespace: releaseNamespace,
    values: {
      watchNamespace: sampleNamespaces,
      leaderElection: { always: true },
      logFormat: 'text',
      logLevel: 'debug',
    },
    processEnv,
  });
  timings['install to leading'] = ms(t0);
});

afterAll(async () => {
  try {
    // Plugs, then sockets, then the namespaces, while the operator still runs (their finalizers
    // need it, and the tenants' RoleBindings must outlive the decoupling).
    const t0 = performance.now();
    for (const kind of ['plugs', 'sockets']) {
      for (const ns of sampleNamespaces) {
        await kubectl(['delete', kind, '--all', '-n', ns, '--ignore-not-found', '--timeout=120s']).catch(
          (err: unknown) => console.error(String(err)),
        );
      }
    }
    timings['delete every plug and socket'] = ms(t0);
    await deleteNamespaces(kube, sampleNamespaces, 120_000);
  } finally {
    if (op) {
      const logs = await op.logs();
      if (/cannot (get|list|watch|patch|create|update) resource/.test(logs) && process.env.E2E_VERBOSE) {
        console.log(logs);
      }
      await op.uninstall();
    }
    await kubectl(['delete', 'namespace', releaseNamespace, '--ignore-not-found', '--wait=false']).catch(
      () => undefined,
    );
    await apparatusClose?.();
    console.log(`e2e timings (ms): ${JSON.stringify(timings)}`);
  }
});

async function configMap(namespace: string, name: string) {
  return kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name });
}

describe('operator installed from the chart', () => {
  it('leads through its Lease in the release namespace and answers its probes and metrics', async () => {
    const installed = op!;
    const lease = await eventually(
      () =>
        kube.get({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          namespace: releaseNamespace,
          name: installed.fullname,
        }),
      { what: 'the leader Lease' },
    );
    expect((lease.spec as { holderIdentity?: string }).holderIdentity).toBeTruthy();
    let metrics: string;
    if (installed.mode === 'process') {
      expect((await fetch(`${installed.probeUrl}/healthz`)).status).toBe(200);
      expect((await fetch(`${installed.probeUrl}/readyz`)).status).toBe(200);
      metrics = await (await fetch(`${installed.metricsUrl}/metrics`)).text();
    } else {
      // The Deployment is available only once its readiness probe (/readyz) passed.
      const dep = await kube.get({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        namespace: releaseNamespace,
        name: installed.fullname,
      });
      expect(
        (dep?.status as { availableReplicas?: number } | undefined)?.availableReplicas,
      ).toBeGreaterThanOrEqual(1);
      metrics = (
        await kubectl([
          'get',
          '--raw',
          `/api/v1/namespaces/${releaseNamespace}/services/${installed.fullname}-metrics:metrics/proxy/metrics`,
        ])
      ).stdout;
    }
    expect(metrics).toContain('integration_operator_leader 1');
    expect(metrics).toContain('integration_operator_reconcile_total');
  });
});

describe('config/samples', () => {
  it('applies as written, and every socket becomes Ready', async () => {
    const t0 = performance.now();
    await kubectl(['apply', '--server-side', '-f', samplesDir]);
    const names = async (kind: 'Plug' | 'Socket') => {
      const out: string[] = [];
      for (const ns of sampleNamespaces) {
        const list = await kube.list({ apiVersion: 'integration.rock8s.com/v1beta1', kind, namespace: ns });
        out.push(...list.items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`));
      }
      return out.sort();
    };
    expect(await names('Socket')).toEqual([
      'sample-postgres/postgres',
      'sample-provider/credentials',
      'sample-provider/greeter',
      'sample-provider/hello',
    ]);
    expect(await names('Plug')).toEqual([
      'sample-app/app-db',
      'sample-app/credentials',
      'sample-app/greeter',
      'sample-app/hello',
    ]);
    for (const [ns, name] of [
      ['sample-postgres', 'postgres'],
      ['sample-provider', 'credentials'],
      ['sample-provider', 'greeter'],
      ['sample-provider', 'hello'],
    ] as const) {
      await waitForCondition(kube, 'Socket', ns, name, 'Ready', 'True', 'SocketCreated', slow);
      await eventually(
        async () => (await eventsFor(kube, ns, name)).some((e) => e.reason === 'SocketCreated'),
        {
          what: `a SocketCreated Event on ${ns}/${name}`,
        },
      );
    }
    timings['apply samples to sockets ready'] = ms(t0);
  });

  it('couples the hello pair: validated config, results, and each side applies its object as its ServiceAccount', async () => {
    const t0 = performance.now();
    const plug = await waitForCondition(
      kube,
      'Plug',
      'sample-app',
      'hello',
      'Coupled',
      'True',
      'CouplingSucceeded',
      slow,
    );
    timings['hello coupled'] = ms(t0);
    expect(condition(plug, 'Ready')?.status).toBe('True');
    const socket = await getObj(kube, 'Socket', 'sample-provider', 'hello');
    const st = plug.status as {
      coupledSocket: { name: string; namespace: string; uid: string };
      coupledResult: { plug: Record<string, string>; socket: Record<string, string> };
    };
    expect(st.coupledSocket).toMatchObject({
      name: 'hello',
      namespace: 'sample-provider',
      uid: socket?.metadata.uid,
    });
    expect(st.coupledResult.plug).toEqual({ answer: '42' });

    const plugSide = await eventually(() => configMap('sample-app', 'hello-plug-side'), {
      what: 'hello-plug-side',
    });
    expect(plugSide.data).toEqual({ greeting: 'hi' });
    const managers = (plugSide.metadata.managedFields as Array<{ manager: string; operation: string }>).map(
      (m) => `${m.manager}/${m.operation}`,
    );
    expect(managers).toContain('integration-operator/Apply');
    expect(await configMap('sample-provider', 'hello-socket-side')).toBeDefined();

    await eventually(
      async () => {
        const s = (await getObj(kube, 'Socket', 'sample-provider', 'hello'))?.status as
          | { coupledPlugCount?: number; coupledPlugs?: Array<{ name: string; namespace: string }> }
          | undefined;
        return s?.coupledPlugCount === 1 && s.coupledPlugs?.[0]?.name === 'hello';
      },
      { what: 'the hello socket to list its plug' },
    );
    await eventually(
      async () => (await eventsFor(kube, 'sample-app', 'hello')).some((e) => e.reason === 'PlugCoupled'),
      { what: 'a PlugCoupled Event' },
    );
  });

  it('performs updated when the plug’s epoch changes, re-applying its coupled resources', async () => {
    await kube.delete({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: 'sample-app',
      name: 'hello-plug-side',
    });
    const t0 = performance.now();
    await kube.mergePatch(
      { apiVersion: 'integration.rock8s.com/v1beta1', kind: 'Plug', namespace: 'sample-app', name: 'hello' },
      { spec: { epoch: 'e2e-1' } },
    );
    await eventually(() => configMap('sample-app', 'hello-plug-side'), {
      what: 'hello-plug-side re-applied',
    });
    timings['epoch change to re-applied'] = ms(t0);
    await eventually(
      async () => (await eventsFor(kube, 'sample-app', 'hello')).some((e) => e.reason === 'PlugUpdated'),
      { what: 'a PlugUpdated Event' },
    );
    const plug = await waitForCondition(kube, 'Plug', 'sample-app', 'hello', 'Ready', 'True');
    expect(condition(plug, 'Coupled')?.status).toBe('True');
  });

  it('couples a plug to the socket whose config comes from its apparatus', async () => {
    await kube.create(
      plugObj('sample-app', 'credentials-check', {
        socket: { name: 'credentials', namespace: 'sample-provider' },
        serviceAccountName: 'app-plugs',
      }),
    );
    // The interface requires username and password: only the apparatus' /config answer has them.
    await waitForCondition(
      kube,
      'Plug',
      'sample-app',
      'credentials-check',
      'Coupled',
      'True',
      'CouplingSucceeded',
      slow,
    );
    const seen = async () =>
      op?.mode === 'process'
        ? apparatusLog.join('\n')
        : (await kubectl(['logs', '-n', 'sample-provider', 'deployment/example-apparatus'])).stdout;
    await eventually(
      async () =>
        (await seen())
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { event?: string; plug?: string })
          .some((l) => l.event === 'coupled' && l.plug === 'sample-app/credentials-check'),
      { what: 'the apparatus to receive /coupled for the plug', timeoutMs: slow },
    );
  });

  it('reports Forbidden, naming the ServiceAccount and the right, when a plug’s ServiceAccount lacks it', async () => {
    await kube.create(
      plugObj('sample-app', 'forbidden-check', {
        socket: { name: 'hello', namespace: 'sample-provider' },
        // "default" has no Role in sample-app: it may not create ConfigMaps.
        config: { greeting: 'hi' },
        result: { answer: '1' },
        resources: [
          {
            when: ['coupled'],
            template: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'forbidden-check' } },
          },
        ],
      }),
    );
    const plug = await waitForCondition(
      kube,
      'Plug',
      'sample-app',
      'forbidden-check',
      'Ready',
      'False',
      'Forbidden',
    );
    const message = condition(plug, 'Ready')?.message ?? '';
    expect(message).toContain('system:serviceaccount:sample-app:default');
    expect(message).toContain('configmaps');
    expect(condition(plug, 'Coupled')?.status).toBe('False');
    expect(await configMap('sample-app', 'forbidden-check')).toBeUndefined();
    await eventually(
      async () =>
        (await eventsFor(kube, 'sample-app', 'forbidden-check')).some(
          (e) => e.type === 'Warning' && e.reason === 'Forbidden',
        ),
      { what: 'a Forbidden Warning Event' },
    );
  });

  it('keeps plugs from unlabelled namespaces out of the postgres socket (namespaceSelector)', async () => {
    // sample-provider is watched but lacks the tenant label that sample-app has.
    await kube.create(
      plugObj('sample-provider', 'not-a-tenant', {
        socket: { name: 'postgres', namespace: 'sample-postgres' },
        config: { database: 'intruder' },
      }),
    );
    const plug = await waitForCondition(
      kube,
      'Plug',
      'sample-provider',
      'not-a-tenant',
      'Coupled',
      'False',
      'NamespaceNotAllowed',
    );
    expect(condition(plug, 'Coupled')?.message).toContain('postgres');
    expect(
      await kube.get({
        apiVersion: 'batch/v1',
        kind: 'Job',
        namespace: 'sample-postgres',
        name: 'create-database-sample-provider-not-a-tenant',
      }),
    ).toBeUndefined();
  });

  it('couples the eta greeter pair: results on both sides and result resources', async () => {
    const plug = await waitForCondition(
      kube,
      'Plug',
      'sample-app',
      'greeter',
      'Ready',
      'True',
      'CouplingSucceeded',
      slow,
    );
    expect((plug.status as { coupledResult: unknown }).coupledResult).toMatchObject({
      plug: { acknowledged: 'true' },
      socket: { message: 'Hello, World!' },
    });
    const greeting = await eventually(() => configMap('sample-app', 'greeting'), {
      what: 'the greeting ConfigMap',
    });
    expect(greeting.data).toEqual({ message: 'Hello, World!' });
    const providerSide = await eventually(() => configMap('sample-provider', 'greeting-sample-app-greeter'), {
      what: 'the provider-side greeting ConfigMap',
    });
    expect(providerSide.data).toEqual({ message: 'Hello, World!', plugAcknowledged: 'true' });
  });

  it('couples the Go-dialect postgres pair: the Job and the connection ConfigMap, recreate on update, pattern validation', async () => {
    await waitForCondition(kube, 'Plug', 'sample-app', 'app-db', 'Ready', 'True', 'CouplingSucceeded', slow);
    const jobRef = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      namespace: 'sample-postgres',
      name: 'create-database-sample-app-app-db',
    };
    const job = await eventually(() => kube.get(jobRef), { what: 'the create-database Job' });
    const env = (
      job.spec as {
        template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } };
      }
    ).template.spec.containers[0]!.env;
    const value = (name: string) => env.find((e) => e.name === name)?.value;
    expect(value('DATABASE')).toBe('app');
    expect(value('PGHOST')).toBe('postgres.sample-postgres.svc.cluster.local');
    expect(value('PGPORT')).toBe('5432');
    const conn = await eventually(() => configMap('sample-app', 'app-db-connection'), {
      what: 'app-db-connection',
    });
    expect(conn.data).toEqual({
      host: 'postgres.sample-postgres.svc.cluster.local',
      port: '5432',
      database: 'app',
      url: 'postgres://postgres.sample-postgres.svc.cluster.local:5432/app',
    });
    const plugRef = {
      apiVersion: 'integration.rock8s.com/v1beta1',
      kind: 'Plug',
      namespace: 'sample-app',
      name: 'app-db',
    };
    await kube.mergePatch(plugRef, { spec: { epoch: 'e2e-recreate' } });
    await eventually(
      async () => {
        const j = await kube.get(jobRef);
        return j && j.metadata.uid !== job.metadata.uid;
      },
      { what: 'the Job to be recreated', timeoutMs: slow },
    );
    await kube.mergePatch(plugRef, { spec: { config: { database: 'App-DB' } } });
    const bad = await waitForCondition(
      kube,
      'Plug',
      'sample-app',
      'app-db',
      'Ready',
      'False',
      'ConfigInvalid',
    );
    expect(condition(bad, 'Ready')?.message).toMatch(/database/);
    await kube.mergePatch(plugRef, { spec: { config: { database: 'app' } } });
    await waitForCondition(kube, 'Plug', 'sample-app', 'app-db', 'Ready', 'True', undefined, slow);
    await kubectl(['delete', 'plug', 'app-db', '-n', 'sample-app', '--timeout=60s']);
    await eventually(async () => (await kube.get(jobRef)) === undefined, { what: 'the Job to be deleted' });
    expect(await configMap('sample-app', 'app-db-connection')).toBeUndefined();
  });

  it('writes the apparatus-generated credentials into a Secret, never into the status', async () => {
    const plug = await waitForCondition(
      kube,
      'Plug',
      'sample-app',
      'credentials',
      'Ready',
      'True',
      undefined,
      slow,
    );
    const secret = await eventually(
      () => kube.get({ apiVersion: 'v1', kind: 'Secret', namespace: 'sample-app', name: 'app-credentials' }),
      { what: 'the app-credentials Secret' },
    );
    const data = secret.data as Record<string, string>;
    const decode = (k: string) => Buffer.from(data[k] ?? '', 'base64').toString('utf8');
    expect(decode('username')).toBe('sample_app_credentials');
    const socket = await getObj(kube, 'Socket', 'sample-provider', 'credentials');
    const seed = inject('e2eImage') ? 'sample-only-change-me' : 'e2e-only';
    const password = passwordFor(seed, plug.metadata.uid ?? '', socket?.metadata.uid ?? '');
    expect(decode('password')).toBe(password);
    expect(JSON.stringify(plug.status)).not.toContain(password);
  });

  it('decouples a deleted plug and deletes what its coupling applied, on both sides', async () => {
    const t0 = performance.now();
    await kubectl(['delete', 'plug', 'hello', '-n', 'sample-app', '--timeout=60s']);
    timings['delete hello plug (finalizer released)'] = ms(t0);
    expect(await configMap('sample-app', 'hello-plug-side')).toBeUndefined();
    expect(await configMap('sample-provider', 'hello-socket-side')).toBeUndefined();
    const events = await eventually(
      async () => {
        const evs = await eventsFor(kube, 'sample-app', 'hello');
        return evs.some((e) => e.reason === 'PlugDeleted') ? evs : undefined;
      },
      { what: 'a PlugDeleted Event' },
    );
    expect(
      events.some(
        (e) =>
          e.reason === 'PlugDeleted' && e.message.includes('decoupled from socket sample-provider/hello'),
      ),
    ).toBe(true);
    await eventually(
      async () =>
        ((await getObj(kube, 'Socket', 'sample-provider', 'hello'))?.status as { coupledPlugCount?: number })
          ?.coupledPlugCount === 0,
      { what: 'the hello socket to count no coupled plug' },
    );
  });
});
