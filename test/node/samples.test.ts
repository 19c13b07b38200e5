// config/samples doing real work on the node, with the operator installed from the chart and the
// image built here: the Postgres socket's Job creates the plug's database in the sample's real
// Postgres (checked with psql); the eta and Go-dialect samples produce their objects; the example
// apparatus answers through its Service; a socket with `apparatus.containers` gets its Pod started
// by the operator as the socket's ServiceAccount, called through the Service's DNS name, removed
// after its idle timeout and started again by the next event; the DeferredResource sample resolves
// once what it waits for exists and its Job runs; a deleted plug decouples and what it applied goes.
// Public images the samples name are replaced by the ones built here in one place
// (tools/images/stand-ins.ts).
import { Resolver } from 'node:dns/promises';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passwordFor, usernameFor } from '../../examples/apparatus/apparatus.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { nodeNet } from '../../tools/controlplane/node.ts';
import { withStandIns } from '../../tools/images/stand-ins.ts';
import { parseManifests, sampleNamespaces, samplesDir } from '../e2e/support/chart.ts';
import { installOperator, kubectl, type OperatorInstall, operatorMay } from '../e2e/support/install.ts';
import { randomName } from '../support/kube.ts';
import {
  adminKube,
  condition,
  deleteNamespaces,
  getObj,
  grant,
  plugObj,
  repoRoot,
  waitForCondition,
} from '../support/operator.ts';
import { eventually } from '../support/poll.ts';

const kube = adminKube();
const releaseNs = randomName('node-samples-operator');
const deferredNs = randomName('node-deferred');
const apparatusNs = randomName('node-apparatus');
/** Pods really start here: an image is imported, a Postgres initialises, a Job runs. */
const slow = 240_000;
const timings: Record<string, number> = {};
let op: OperatorInstall | undefined;

const ms = (since: number) => Math.round(performance.now() - since);

type JobLike = KubeObject & { status?: { succeeded?: number; failed?: number; active?: number } };
type PodLike = KubeObject & {
  spec: { serviceAccountName?: string };
  status?: { conditions?: Array<{ type: string; status: string }> };
};

async function get(apiVersion: string, kind: string, namespace: string, name: string) {
  return kube.get({ apiVersion, kind, namespace, name });
}

/** The sample manifests as a user applies them, with the stand-in images. */
async function applyFile(file: string, namespace?: string): Promise<void> {
  const yaml = withStandIns(readFileSync(file, 'utf8'));
  await kubectl(['apply', '--server-side', ...(namespace ? ['-n', namespace] : []), '-f', '-'], yaml);
}

async function jobSucceeded(namespace: string, name: string, timeoutMs = slow): Promise<JobLike> {
  return eventually(
    async () => {
      const job = (await get('batch/v1', 'Job', namespace, name)) as JobLike | undefined;
      return (job?.status?.succeeded ?? 0) >= 1 ? job : undefined;
    },
    { what: `Job ${namespace}/${name} to succeed`, timeoutMs, intervalMs: 500 },
  );
}

beforeAll(async () => {
  for (const ns of sampleNamespaces) {
    if (await kube.get({ apiVersion: 'v1', kind: 'Namespace', name: ns })) {
      throw new Error(
        `namespace ${ns} already exists: this suite applies and deletes the samples, so it refuses to run on a cluster that has them`,
      );
    }
  }
  const t0 = performance.now();
  op = await installOperator({
    release: 'io-node-samples',
    namespace: releaseNs,
    // Idle apparatus Pods are looked for every 3 s, so the idle timeout below is what the test waits.
    values: { apparatus: { reapIntervalSeconds: 3 }, logFormat: 'text', logLevel: 'debug' },
  });
  timings['helm install to Ready'] = ms(t0);
  const t1 = performance.now();
  for (const f of readdirSync(samplesDir).sort()) {
    if (f.endsWith('.yaml') && f !== 'deferredresource.yaml') await applyFile(path.join(samplesDir, f));
  }
  timings['apply samples'] = ms(t1);
});

afterAll(async () => {
  try {
    for (const kind of ['plugs', 'sockets']) {
      for (const ns of [...sampleNamespaces, apparatusNs]) {
        await kubectl(['delete', kind, '--all', '-n', ns, '--ignore-not-found', '--timeout=120s']).catch(
          (err: unknown) => console.error(String(err)),
        );
      }
    }
    await deleteNamespaces(kube, [...sampleNamespaces, apparatusNs, deferredNs], 180_000).catch(
      (err: unknown) => console.error(String(err)),
    );
  } finally {
    if (op && process.env.NODE_SUITE_VERBOSE) console.log(await op.logs());
    await op?.uninstall();
    await kubectl(['delete', 'namespace', releaseNs, '--ignore-not-found', '--wait=false']).catch(
      () => undefined,
    );
    console.log(`node samples timings (ms): ${JSON.stringify(timings)}`);
  }
});

describe('config/samples on the node', () => {
  it('runs the Postgres socket’s Job, which creates the plug’s database in the sample’s real Postgres', async () => {
    const t0 = performance.now();
    await waitForCondition(
      kube,
      'Plug',
      'sample-app',
      'app-db',
      'Coupled',
      'True',
      'CouplingSucceeded',
      slow,
    );
    const job = await jobSucceeded('sample-postgres', 'create-database-sample-app-app-db');
    expect(job.status?.succeeded).toBe(1);
    timings['postgres Job succeeded'] = ms(t0);
    // Asked of the database itself, in its Pod.
    const found = await kubectl([
      'exec',
      '-n',
      'sample-postgres',
      'deploy/postgres',
      '--',
      'psql',
      '-U',
      'postgres',
      '-tAc',
      "SELECT datname FROM pg_database WHERE datname = 'app'",
    ]);
    expect(found.stdout.trim()).toBe('app');
    // The plug side: the connection details, rendered from the socket's config.
    const cm = await get('v1', 'ConfigMap', 'sample-app', 'app-db-connection');
    expect(cm?.data).toMatchObject({
      host: 'postgres.sample-postgres.svc.cluster.local',
      port: '5432',
      database: 'app',
    });
  });

  it('couples the eta and Go-dialect samples and applies their objects', async () => {
    for (const name of ['hello', 'greeter']) {
      await waitForCondition(kube, 'Plug', 'sample-app', name, 'Coupled', 'True', 'CouplingSucceeded', slow);
    }
    expect(await get('v1', 'ConfigMap', 'sample-app', 'hello-plug-side')).toBeDefined();
    expect(await get('v1', 'ConfigMap', 'sample-provider', 'hello-socket-side')).toBeDefined();
    expect(await get('v1', 'ConfigMap', 'sample-provider', 'greeting-sample-app-greeter')).toBeDefined();
    expect(await get('v1', 'ConfigMap', 'sample-app', 'greeting')).toBeDefined();
  });

  it('runs the example apparatus behind its Service, and the socket takes its config from it', async () => {
    await eventually(
      async () => {
        const dep = await get('apps/v1', 'Deployment', 'sample-provider', 'example-apparatus');
        return ((dep?.status as { availableReplicas?: number } | undefined)?.availableReplicas ?? 0) >= 1;
      },
      { what: 'the example apparatus Deployment to be available', timeoutMs: slow },
    );
    // Through the Service, by its DNS name as the cluster's DNS answers it (from this host).
    const resolver = new Resolver();
    resolver.setServers([nodeNet.dnsIp]);
    const [ip] = await resolver.resolve4('example-apparatus.sample-provider.svc.cluster.local');
    // kube-proxy programs a new Service's ClusterIP asynchronously, and on a loaded machine that has
    // taken over 10 s. Until then a connection to it leaves the machine un-translated, and whatever
    // answers there (this machine's gateway answers any HTTP request with 404) is not the apparatus:
    // poll until the apparatus itself answers, and say who answered meanwhile.
    const t0 = performance.now();
    let answers = 0;
    const ping = await eventually(
      async () => {
        const res = await fetch(`http://${ip}/socket/ping`, { signal: AbortSignal.timeout(5000) });
        answers++;
        const body = await res.text();
        if (res.status === 200) return JSON.parse(body) as unknown;
        throw new Error(
          `HTTP ${res.status} from ${res.headers.get('server') ?? 'a server that does not name itself'}: ${body.slice(0, 200)}`,
        );
      },
      {
        what: `the example apparatus to answer GET /socket/ping through its Service at ${ip}`,
        timeoutMs: 120_000,
        intervalMs: 500,
      },
    );
    expect(ping).toEqual({ ok: true });
    if (answers > 1)
      console.log(`the apparatus answered through its Service after ${ms(t0)} ms and ${answers} requests`);
    // The operator called it through that name for the credentials plug's socket config.
    const plug = await waitForCondition(
      kube,
      'Plug',
      'sample-app',
      'credentials',
      'Coupled',
      'True',
      'CouplingSucceeded',
      slow,
    );
    const socket = await getObj(kube, 'Socket', 'sample-provider', 'credentials');
    const secret = await get('v1', 'Secret', 'sample-app', 'app-credentials');
    const data = secret?.data as Record<string, string>;
    const decode = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString();
    expect(decode(data.username)).toBe(usernameFor(plug as Parameters<typeof usernameFor>[0]));
    expect(decode(data.password)).toBe(
      passwordFor('sample-only-change-me', plug.metadata.uid!, socket!.metadata.uid!),
    );
  });

  it('starts a socket’s apparatus Pod as its ServiceAccount, calls it through its Service, removes it when idle and starts it again on the next event', async () => {
    await kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: apparatusNs } });
    await grant(kube, apparatusNs, 'apparatus-owner', [
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'create', 'patch', 'delete'] },
      { apiGroups: [''], resources: ['services'], verbs: ['get', 'create', 'patch'] },
    ]);
    await grant(kube, apparatusNs, 'consumer', [
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'create', 'patch', 'delete'] },
    ]);
    await kube.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'example-apparatus-seed', namespace: apparatusNs },
      stringData: { seed: 'node-suite' },
    } as KubeObject);
    // The operator's own identity cannot create Pods: the apparatus Pod exists only by impersonation.
    expect(await operatorMay(op!, 'create', 'pods', apparatusNs)).toBe(false);

    // examples/apparatus/socket.yaml as written, with its ServiceAccount named and a short idle timeout.
    const [example] = parseManifests(
      readFileSync(path.join(repoRoot, 'examples/apparatus/socket.yaml'), 'utf8'),
    );
    const spec = example!.spec as { serviceAccountName?: string; apparatus: { idleTimeout: number } };
    spec.serviceAccountName = 'apparatus-owner';
    spec.apparatus.idleTimeout = 15;
    await kube.create({ ...example!, metadata: { name: 'postgres', namespace: apparatusNs } });
    await kube.create(
      plugObj(apparatusNs, 'app', {
        socket: { name: 'postgres' },
        serviceAccountName: 'consumer',
        resources: [
          {
            when: ['coupled', 'updated'],
            template: {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { name: 'app-credentials' },
              data: { username: '{% .socketConfig.username %}' },
            },
          },
        ],
      }),
    );
    const t0 = performance.now();
    const plug = await waitForCondition(
      kube,
      'Plug',
      apparatusNs,
      'app',
      'Coupled',
      'True',
      'CouplingSucceeded',
      slow,
    );
    timings['apparatus Pod started, Ready and called'] = ms(t0);
    const pod = (await get('v1', 'Pod', apparatusNs, 'postgres-socket-apparatus')) as PodLike | undefined;
    expect(pod?.spec.serviceAccountName).toBe('apparatus-owner');
    expect(pod?.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Socket', name: 'postgres' });
    expect(pod?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).toBe(true);
    expect(await get('v1', 'Service', apparatusNs, 'postgres-socket-apparatus')).toBeDefined();
    // Its /config answer reached the plug's template: the username the example derives.
    const cm = await get('v1', 'ConfigMap', apparatusNs, 'app-credentials');
    expect((cm?.data as Record<string, string> | undefined)?.username).toBe(
      usernameFor(plug as Parameters<typeof usernameFor>[0]),
    );

    // Idle for 15 s: the Pod is removed.
    const t1 = performance.now();
    await eventually(async () => !(await get('v1', 'Pod', apparatusNs, 'postgres-socket-apparatus')), {
      what: 'the idle apparatus Pod to be removed',
      timeoutMs: 120_000,
      intervalMs: 500,
    });
    timings['idle apparatus Pod removed after'] = ms(t1);

    // The next event needs it again: a new Pod, and the plug performs `updated`.
    await kubectl([
      'patch',
      'plug',
      'app',
      '-n',
      apparatusNs,
      '--type=merge',
      '-p',
      '{"spec":{"epoch":"2"}}',
    ]);
    await eventually(
      async () => {
        const p = await getObj(kube, 'Plug', apparatusNs, 'app');
        const c = (p?.status as { lifecycle?: { coupling?: { plug?: { event?: string } } } } | undefined)
          ?.lifecycle?.coupling;
        return c?.plug?.event === 'updated' && condition(p, 'Ready')?.status === 'True';
      },
      { what: 'the plug to perform updated with its socket’s apparatus', timeoutMs: slow },
    );
    const again = (await get('v1', 'Pod', apparatusNs, 'postgres-socket-apparatus')) as PodLike | undefined;
    expect(again).toBeDefined();
    expect(again?.metadata.uid).not.toBe(pod?.metadata.uid);
  });

  it('resolves the DeferredResource sample once the ConfigMap it waits for exists, and its Job runs', async () => {
    await kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: deferredNs } });
    await applyFile(path.join(samplesDir, 'deferredresource.yaml'), deferredNs);
    const resolved = async () =>
      condition(
        await kube.get({
          apiVersion: 'integration.rock8s.com/v1beta1',
          kind: 'DeferredResource',
          namespace: deferredNs,
          name: 'deferred-sample',
        }),
        'Resolved',
      );
    await eventually(async () => (await resolved())?.reason === 'Pending', {
      what: 'the DeferredResource to be Pending',
      timeoutMs: 60_000,
    });
    expect(await get('batch/v1', 'Job', deferredNs, 'deferred-sample-greet')).toBeUndefined();
    await kubectl([
      'create',
      'configmap',
      'deferred-sample-settings',
      '-n',
      deferredNs,
      '--from-literal=greeting=hello',
    ]);
    await eventually(async () => (await resolved())?.status === 'True', {
      what: 'the DeferredResource to resolve',
      timeoutMs: 60_000,
    });
    await jobSucceeded(deferredNs, 'deferred-sample-greet');
    const logs = await kubectl(['logs', '-n', deferredNs, 'job/deferred-sample-greet']);
    expect(logs.stdout).toContain('hello from a deferred Job');
  });

  it('decouples a deleted plug and deletes its ConfigMap and the socket’s Job for it', async () => {
    await kubectl(['delete', 'plug', 'app-db', '-n', 'sample-app', '--timeout=120s']);
    await eventually(
      async () =>
        !(await get('v1', 'ConfigMap', 'sample-app', 'app-db-connection')) &&
        !(await get('batch/v1', 'Job', 'sample-postgres', 'create-database-sample-app-app-db')),
      { what: 'the plug’s ConfigMap and the socket’s Job for it to be deleted', timeoutMs: 60_000 },
    );
    // The other couplings are untouched.
    const hello = await getObj(kube, 'Plug', 'sample-app', 'hello');
    expect(condition(hello, 'Coupled')?.status).toBe('True');
  });
});
