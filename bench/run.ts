// npm run bench [-- scenario...]: benchmark scenarios against a local control plane of its own
// (audited, see harness.ts). Each prints one table row; JSON goes to bench/results/.
//   ceiling        the API server's own write rate: status patches from a plain client, 32 concurrent
//   couple:N       N plugs created at once on one socket with literal config
//   resources:N    N plugs on a socket with two resource templates (a ConfigMap and a 40-line Job)
//   latency:N      one plug every 100 ms on an idle operator: create -> Coupled, p50/p99
//   update:N       N coupled plugs, then the socket's config changes: seconds until all performed updated
//   restart:N      N coupled plugs, then the operator restarts: seconds to ready and idle, writes, repeats
//   refs:N         N plugs on the Go sample's Secret-config socket (a Job per plug), 50 of them with a
//                  Secret of their own: idle API requests/s once coupled (audit log, BENCH_IDLE_SECONDS,
//                  default 60), the shared Secret changed -> all updated (N <= 1000, or BENCH_REFS_FANOUT=1),
//                  each of the 50 own Secrets changed in turn -> that plug updated, p50/p99; then, the
//                  operator stopped, the shared change's writes again from a plain client (what the
//                  cluster needs for them without the operator: the floor under the fan-out).
//                  BENCH_REFERENCE_WATCH=false runs the operator without metadata watches (polling).
//   recreate:N     the Go operator's sample socket (config from a Secret, a Job per plug recreated on
//                  coupled/updated: bench/go-sample.ts), N plugs at once; then a literal config key of
//                  the socket changes and every Job is recreated (two rows)
//   requests:N     API server and etcd CPU per request, for each kind of request a recreated Job costs
//                  the operator (Job POST, server-side apply, delete, Plug status, Event), N of each
// `npm run bench:smoke` runs small variants (CI keeps the suite alive with it).
import { writeFileSync } from 'node:fs';
import { apiVersion } from '../src/api/common.ts';
import type { KubeObject } from '../src/kube/types.ts';
import { silentLogger } from '../src/observe/log.ts';
import { Informer } from '../src/runtime/informer.ts';
import { grant } from '../test/support/rbac.ts';
import {
  goSamplePlugs,
  goSampleRights,
  goSampleSecret,
  goSampleSocket,
  goSampleUpdatedRecord,
  goSampleWrites,
} from './go-sample.ts';
import {
  auditCounts,
  type Bench,
  benchStateDir,
  cpuSeconds,
  createAll,
  type OperatorProc,
  operatorKube,
  perUnit,
  printRows,
  progress,
  type Row,
  saveResult,
  scrapeCounter,
  startBench,
  startOperatorProcess,
  stopOnSignal,
} from './harness.ts';

interface PlugState {
  coupledAt?: number;
  plugEvent?: string;
  plugHash?: string;
  socketEvent?: string;
  socketHash?: string;
}

/** Follows the plugs of a namespace through a watch (listing thousands in a loop would load the API server more than the operator). */
function watchPlugs(bench: Bench, ns: string) {
  const inf = new Informer<KubeObject>({
    client: bench.client,
    resource: {
      group: 'integration.rock8s.com',
      version: 'v1beta1',
      resource: 'plugs',
      kind: 'Plug',
      namespaced: true,
    },
    namespaces: [ns],
    log: silentLogger,
  });
  const plugs = new Map<string, PlugState>();
  const see = (p: KubeObject) => {
    const name = p.metadata.name ?? '';
    const st = p.status as
      | {
          conditions?: Array<{ type: string; status: string }>;
          lifecycle?: {
            coupling?: {
              plug?: { event?: string; hash?: string };
              socket?: { event?: string; hash?: string };
            };
          };
        }
      | undefined;
    const s = plugs.get(name) ?? {};
    if (st?.conditions?.find((x) => x.type === 'Coupled')?.status === 'True')
      s.coupledAt ??= performance.now();
    s.plugEvent = st?.lifecycle?.coupling?.plug?.event;
    s.plugHash = st?.lifecycle?.coupling?.plug?.hash;
    s.socketEvent = st?.lifecycle?.coupling?.socket?.event;
    s.socketHash = st?.lifecycle?.coupling?.socket?.hash;
    plugs.set(name, s);
  };
  inf.addHandler({ onAdd: see, onUpdate: (_o, p) => see(p) });
  const stop = new AbortController();
  const running = inf.start(stop.signal);
  return {
    plugs,
    synced: () => inf.waitForSync(),
    coupled: () => [...plugs.values()].filter((s) => s.coupledAt !== undefined).length,
    stop: async () => {
      stop.abort();
      await running;
    },
  };
}

async function waitUntil(
  what: string,
  check: () => boolean,
  t0: number,
  timeoutMs = 900_000,
  report?: () => string,
): Promise<number> {
  let last = 0;
  for (;;) {
    if (check()) return (performance.now() - t0) / 1000;
    const el = performance.now() - t0;
    if (el - last > 5000) {
      progress(`${what}: ${report?.() ?? ''} after ${(el / 1000).toFixed(1)} s`);
      last = el;
    }
    if (el > timeoutMs)
      throw new Error(`${what}: not done after ${timeoutMs / 1000} s (${report?.() ?? ''})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function namespace(bench: Bench, prefix: string): Promise<string> {
  const ns = `${prefix}-${Date.now() % 1_000_000}`;
  await bench.kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  return ns;
}

function plugs(ns: string, n: number, socket: string): KubeObject[] {
  return Array.from({ length: n }, (_, i) => ({
    apiVersion,
    kind: 'Plug',
    metadata: { name: `p-${i}`, namespace: ns },
    spec: { socket: { name: socket }, config: { database: `db${i}` } },
  }));
}

const literalSocket = (ns: string): KubeObject => ({
  apiVersion,
  kind: 'Socket',
  metadata: { name: 'db', namespace: ns },
  spec: { interface: { config: { plug: { database: { required: true } } } }, config: { host: 'db.svc' } },
});

/**
 * Whether the operator's own limits set the pace: seconds its requests waited for the client-side
 * rate limit, and the mean time of a template render including its wait for a sandbox worker.
 */
async function limitFigures(op: OperatorProc): Promise<Record<string, number>> {
  const renders = await scrapeCounter(op, 'integration_operator_template_render_duration_seconds_count');
  const renderSeconds = await scrapeCounter(op, 'integration_operator_template_render_duration_seconds_sum');
  return {
    'rate-limit wait s': Number(
      (await scrapeCounter(op, 'integration_operator_kube_rate_limit_wait_seconds_total')).toFixed(2),
    ),
    ...(renders ? { 'render ms': Number(((renderSeconds / renders) * 1000).toFixed(1)) } : {}),
  };
}

async function operatorFigures(
  bench: Bench,
  op: OperatorProc,
  n: number,
  auditFrom: number,
  extra: Record<string, number> = {},
) {
  const audit = await auditCounts(bench.state, auditFrom);
  const reconciles = await scrapeCounter(op, 'integration_operator_reconcile_total', 'controller="plug"');
  const usage = op.usage();
  return {
    audit,
    row: {
      'requests/coupling': Number((audit.requests / n).toFixed(2)),
      'writes/coupling': Number((audit.writes / n).toFixed(2)),
      'reconciles/coupling': Number((reconciles / n).toFixed(2)),
      'peak RSS MiB': usage.peakRssMiB,
      'CPU s': usage.cpuSeconds,
      ...(await limitFigures(op)),
      ...extra,
    },
  };
}

function envWorkers(): Record<string, string> {
  return process.env.BENCH_WORKERS ? { MAX_CONCURRENT_RECONCILES: process.env.BENCH_WORKERS } : {};
}

async function couple(bench: Bench, n: number): Promise<Row> {
  const ns = await namespace(bench, `couple-${n}`);
  const op = await startOperatorProcess(bench, { WATCH_NAMESPACE: ns, ...envWorkers() });
  const watch = watchPlugs(bench, ns);
  await watch.synced();
  const audit0 = await auditCounts(bench.state);
  await bench.kube.create(literalSocket(ns));
  const cpu0 = { apiserver: cpuSeconds(bench.state.pids.apiserver), etcd: cpuSeconds(bench.state.pids.etcd) };
  progress(`couple ${n}: creating ${n} plugs`);
  const t0 = performance.now();
  await createAll(bench.kube, plugs(ns, n, 'db'));
  const created = (performance.now() - t0) / 1000;
  const seconds = await waitUntil(
    `couple ${n}`,
    () => watch.coupled() >= n,
    t0,
    900_000,
    () => `${watch.coupled()}/${n} coupled`,
  );
  const apiCpu = cpuSeconds(bench.state.pids.apiserver) - cpu0.apiserver;
  const etcdCpu = cpuSeconds(bench.state.pids.etcd) - cpu0.etcd;
  // let the socket summary settle before counting
  for (;;) {
    const s = await bench.kube.get({ apiVersion, kind: 'Socket', namespace: ns, name: 'db' });
    if ((s?.status as { coupledPlugCount?: number })?.coupledPlugCount === n) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 1500));
  const socket = await bench.kube.get({ apiVersion, kind: 'Socket', namespace: ns, name: 'db' });
  const heapMiB = Math.round(
    (await scrapeCounter(op, 'integration_operator_nodejs_heap_size_used_bytes')) / 1048576,
  );
  const mib = async (m: string) => Math.round((await scrapeCounter(op, m)) / 1048576);
  progress(
    `couple ${n}: heap total ${await mib('integration_operator_nodejs_heap_size_total_bytes')} MiB, external ${await mib('integration_operator_nodejs_external_memory_bytes')} MiB, RSS now ${await mib('integration_operator_process_resident_memory_bytes')} MiB`,
  );
  const { row, audit } = await operatorFigures(bench, op, n, audit0.offset, {
    'heap used MiB': heapMiB,
    'connections opened': await scrapeCounter(op, 'integration_operator_kube_connections_opened_total'),
    'API server CPU s': Number(apiCpu.toFixed(1)),
    'etcd CPU s': Number(etcdCpu.toFixed(1)),
    'socket status bytes': JSON.stringify(socket?.status ?? {}).length,
  });
  await watch.stop();
  await op.stop();
  if (process.env.BENCH_OPERATOR_OUTPUT) writeFileSync(process.env.BENCH_OPERATOR_OUTPUT, op.output());
  const result: Row = {
    scenario: `couple ${n}`,
    seconds: Number(seconds.toFixed(2)),
    'couplings/s': Math.round(n / seconds),
    'create s': Number(created.toFixed(2)),
    ...row,
  };
  saveResult(`couple-${n}`, { result, audit });
  return result;
}

const jobTemplate = `apiVersion: batch/v1
kind: Job
metadata:
  name: {% .plug.metadata.name %}-migrate
  labels:
    app.kubernetes.io/name: {% .plug.metadata.name | quote %}
    app.kubernetes.io/managed-by: integration-operator
spec:
  # suspended: the benchmark measures the operator, not the job controller's Pods
  suspend: true
  backoffLimit: 2
  ttlSecondsAfterFinished: 3600
  template:
    metadata:
      labels:
        app: {% .plug.metadata.name | quote %}
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: {% .socketConfig.image | default "postgres:16" | quote %}
          command: ["sh", "-c", "psql -c 'create database if not exists $(DATABASE)'"]
          env:
            - name: DATABASE
              value: {% .plugConfig.database | quote %}
            - name: HOST
              value: {% .socketConfig.host | quote %}
            - name: USER
              value: {% .plug.metadata.name | quote %}
            - name: NAMESPACE
              value: {% .plug.metadata.namespace | quote %}
          resources:
            requests:
              cpu: 10m
              memory: 32Mi
            limits:
              cpu: 100m
              memory: 64Mi
`;

async function resources(bench: Bench, n: number): Promise<Row> {
  const ns = await namespace(bench, `resources-${n}`);
  await grant(bench.kube, ns, 'provisioner', [
    { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'create', 'patch', 'delete'] },
    { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'create', 'patch', 'delete'] },
  ]);
  const op = await startOperatorProcess(bench, { WATCH_NAMESPACE: ns, ...envWorkers() });
  const watch = watchPlugs(bench, ns);
  await watch.synced();
  const audit0 = await auditCounts(bench.state);
  const renders0 = await scrapeCounter(op, 'integration_operator_template_render_duration_seconds_count');
  await bench.kube.create({
    apiVersion,
    kind: 'Socket',
    metadata: { name: 'db', namespace: ns },
    spec: {
      serviceAccountName: 'provisioner',
      config: { host: 'db.svc' },
      resources: [
        {
          when: ['coupled', 'updated'],
          template: {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: '{% .plug.metadata.name %}-conn' },
            data: { host: '{% .socketConfig.host %}', database: '{% .plugConfig.database %}' },
          },
        },
        { when: ['coupled', 'updated'], stringTemplate: jobTemplate },
      ],
    },
  });
  progress(`resources ${n}: creating ${n} plugs`);
  const t0 = performance.now();
  await createAll(bench.kube, plugs(ns, n, 'db'));
  const seconds = await waitUntil(
    `resources ${n}`,
    () => watch.coupled() >= n,
    t0,
    900_000,
    () => `${watch.coupled()}/${n} coupled`,
  );
  const renders =
    (await scrapeCounter(op, 'integration_operator_template_render_duration_seconds_count')) - renders0;
  const { row, audit } = await operatorFigures(bench, op, n, audit0.offset, {
    'renders/s': Math.round(renders / seconds),
  });
  await watch.stop();
  await op.stop();
  const result: Row = {
    scenario: `resources ${n}`,
    seconds: Number(seconds.toFixed(2)),
    'couplings/s': Math.round(n / seconds),
    ...row,
  };
  saveResult(`resources-${n}`, { result, audit });
  return result;
}

async function latency(bench: Bench, n: number): Promise<Row> {
  const ns = await namespace(bench, 'latency');
  const op = await startOperatorProcess(bench, { WATCH_NAMESPACE: ns, ...envWorkers() });
  const watch = watchPlugs(bench, ns);
  await watch.synced();
  await bench.kube.create(literalSocket(ns));
  const createdAt = new Map<string, number>();
  const objs = plugs(ns, n, 'db');
  progress(`latency: one plug every 100 ms, ${n} plugs`);
  const t0 = performance.now();
  for (const o of objs) {
    const next = t0 + createdAt.size * 100;
    const wait = next - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const start = performance.now();
    await bench.kube.create(o);
    createdAt.set(o.metadata.name ?? '', start);
  }
  await waitUntil(
    'latency',
    () => watch.coupled() >= n,
    t0,
    120_000,
    () => `${watch.coupled()}/${n}`,
  );
  const lat = [...createdAt]
    .map(([name, at]) => watch.plugs.get(name)!.coupledAt! - at)
    .sort((a, b) => a - b);
  const pct = (p: number) => Math.round(lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))]!);
  await watch.stop();
  await op.stop();
  const result: Row = {
    scenario: `latency ${n}`,
    'p50 ms': pct(50),
    'p99 ms': pct(99),
    'max ms': Math.round(lat.at(-1)!),
  };
  saveResult('latency', { result, latencies: lat });
  return result;
}

/** Creates n coupled plugs with an operator, and returns the running pieces. */
async function coupledPlugs(bench: Bench, n: number, prefix: string) {
  const ns = await namespace(bench, `${prefix}-${n}`);
  const op = await startOperatorProcess(bench, { WATCH_NAMESPACE: ns, ...envWorkers() });
  const watch = watchPlugs(bench, ns);
  await watch.synced();
  await bench.kube.create(literalSocket(ns));
  progress(`${prefix} ${n}: coupling ${n} plugs first`);
  const t0 = performance.now();
  await createAll(bench.kube, plugs(ns, n, 'db'));
  await waitUntil(
    `${prefix} ${n} (setup)`,
    () => watch.coupled() >= n,
    t0,
    900_000,
    () => `${watch.coupled()}/${n} coupled`,
  );
  return { ns, op, watch };
}

async function update(bench: Bench, n: number): Promise<Row> {
  const { ns, op, watch } = await coupledPlugs(bench, n, 'update');
  const before = new Map([...watch.plugs].map(([k, v]) => [k, v.plugHash]));
  const audit0 = await auditCounts(bench.state);
  progress(`update ${n}: changing the socket's config`);
  const t0 = performance.now();
  await bench.kube.mergePatch(
    { apiVersion, kind: 'Socket', namespace: ns, name: 'db' },
    { spec: { config: { host: 'db2.svc' } } },
  );
  const updated = () =>
    [...watch.plugs].filter(([k, v]) => v.plugEvent === 'updated' && v.plugHash !== before.get(k)).length;
  const seconds = await waitUntil(
    `update ${n}`,
    () => updated() >= n,
    t0,
    600_000,
    () => `${updated()}/${n} updated`,
  );
  const { row } = await operatorFigures(bench, op, n, audit0.offset);
  await watch.stop();
  await op.stop();
  const result: Row = {
    scenario: `update ${n}`,
    seconds: Number(seconds.toFixed(2)),
    'updates/s': Math.round(n / seconds),
    'writes/update': row['writes/coupling'],
  };
  saveResult(`update-${n}`, { result });
  return result;
}

async function restart(bench: Bench, n: number): Promise<Row> {
  const { ns, op, watch } = await coupledPlugs(bench, n, 'restart');
  await new Promise((r) => setTimeout(r, 2000));
  await op.stop();
  const audit0 = await auditCounts(bench.state);
  progress(`restart ${n}: starting a new operator`);
  const t0 = performance.now();
  const op2 = await startOperatorProcess(bench, { WATCH_NAMESPACE: ns, ...envWorkers() });
  const ready = (performance.now() - t0) / 1000;
  // idle: every plug reconciled once (the initial list enqueues each), queue empty
  let reconciles = 0;
  const idle = await (async () => {
    let stable = 0;
    let last = -1;
    for (;;) {
      reconciles = await scrapeCounter(op2, 'integration_operator_reconcile_total', 'controller="plug"');
      const depth = await scrapeCounter(op2, 'integration_operator_workqueue_depth', 'controller="plug"');
      if (reconciles >= n && depth === 0 && reconciles === last) stable++;
      else stable = 0;
      last = reconciles;
      if (stable >= 3) return (performance.now() - t0) / 1000;
      if (performance.now() - t0 > 600_000) throw new Error('restart: never idle');
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  const lifecycle = await scrapeCounter(op2, 'integration_operator_lifecycle_events_total');
  const { row, audit } = await operatorFigures(bench, op2, n, audit0.offset);
  await watch.stop();
  await op2.stop();
  const result: Row = {
    scenario: `restart ${n}`,
    'ready s': Number(ready.toFixed(2)),
    'idle s': Number(idle.toFixed(2)),
    'API writes': audit.writes,
    'lifecycle events repeated': lifecycle,
    'peak RSS MiB': row['peak RSS MiB'] as number,
  };
  saveResult(`restart-${n}`, { result, audit });
  return result;
}

/**
 * Waits until the operator has settled: no write to the API server and no lifecycle event for 3 s.
 * (Reads are not looked at: an operator that polls keeps reading; that is what is measured next.)
 */
async function operatorSettled(op: OperatorProc, what: string, timeoutMs = 900_000): Promise<void> {
  const activity = async () => {
    let sum = await scrapeCounter(op, 'integration_operator_lifecycle_events_total');
    for (const verb of ['POST', 'PUT', 'PATCH', 'DELETE'])
      sum += await scrapeCounter(op, 'integration_operator_kube_requests_total', `verb="${verb}"`);
    return sum;
  };
  const t0 = performance.now();
  let stable = 0;
  let last = -1;
  for (;;) {
    const now = await activity();
    stable = now === last ? stable + 1 : 0;
    last = now;
    if (stable >= 15) return;
    if (performance.now() - t0 > timeoutMs) throw new Error(`${what}: the operator never settled`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Requests by identity, shortened for the terminal: "verb resource" counts per identity. */
function describeIdentities(byIdentity: Record<string, Record<string, number>>): string {
  return Object.entries(byIdentity)
    .map(([who, counts]) => `${who.replace(/^system:serviceaccount:/, 'sa:')} ${JSON.stringify(counts)}`)
    .join('; ');
}

/** CPU seconds of the operator and the control plane's processes, and their use since a snapshot. */
function cpuMeter(bench: Bench, op: OperatorProc) {
  const cpu = () => ({
    apiserver: cpuSeconds(bench.state.pids.apiserver),
    etcd: cpuSeconds(bench.state.pids.etcd),
    controllerManager: cpuSeconds(bench.state.pids.controllerManager),
    operator: op.usage().cpuSeconds,
  });
  const cpuSince = (c0: ReturnType<typeof cpu>) => {
    const c = cpu();
    return {
      'operator CPU s': Number((c.operator - c0.operator).toFixed(1)),
      'API server CPU s': Number((c.apiserver - c0.apiserver).toFixed(1)),
      'etcd CPU s': Number((c.etcd - c0.etcd).toFixed(1)),
      'controller-manager CPU s': Number((c.controllerManager - c0.controllerManager).toFixed(1)),
    };
  };
  return { cpu, cpuSince };
}

/**
 * Referenced Secrets at scale (issue 17): the Go operator's Postgres-style socket reads its config
 * from a Secret and recreates a Job per plug on coupled/updated (bench/go-sample.ts).
 */
async function references(bench: Bench, n: number): Promise<Row> {
  const watching = process.env.BENCH_REFERENCE_WATCH !== 'false';
  const label = `refs ${n}${watching ? '' : ' (polling)'}`;
  const ns = await namespace(bench, `refs-${n}`);
  const own = Math.min(50, n);
  // The socket and plugs run as the namespace's default ServiceAccount.
  await grant(bench.kube, ns, 'default', goSampleRights, { existing: true, role: 'tenant' });
  await bench.kube.create(goSampleSecret(ns));
  const ownSecret = (i: number, database: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `p-${i}-db`, namespace: ns },
    stringData: { database },
  });
  await createAll(
    bench.kube,
    Array.from({ length: own }, (_, i) => ownSecret(i, `db${i}`)),
  );
  const op = await startOperatorProcess(bench, {
    WATCH_NAMESPACE: ns,
    REFERENCE_WATCH: String(watching),
    ...envWorkers(),
  });
  const watch = watchPlugs(bench, ns);
  await watch.synced();
  await bench.kube.create(goSampleSocket(ns));
  // The first `own` plugs read their database from a Secret of their own; the rest are as in the sample.
  const objs = goSamplePlugs(ns, n).map((p, i) =>
    i < own ? { ...p, spec: { socket: { name: 'postgres' }, configSecretName: `p-${i}-db` } } : p,
  );
  progress(`${label}: creating ${n} plugs`);
  const t0 = performance.now();
  await createAll(bench.kube, objs);
  const coupleSeconds = await waitUntil(
    `${label} (coupling)`,
    () => watch.coupled() >= n,
    t0,
    1_800_000,
    () => `${watch.coupled()}/${n} coupled`,
  );
  await operatorSettled(op, label);

  // Idle: everything coupled, nothing changes.
  const idleSeconds = Number(process.env.BENCH_IDLE_SECONDS ?? 60);
  progress(`${label}: measuring idle requests for ${idleSeconds} s`);
  const idle0 = await auditCounts(bench.state);
  const ti = performance.now();
  await new Promise((r) => setTimeout(r, idleSeconds * 1000));
  const idle = await auditCounts(bench.state, idle0.offset);
  const idleRate = idle.requests / ((performance.now() - ti) / 1000);
  progress(`${label}: idle ${idleRate.toFixed(2)} requests/s: ${describeIdentities(idle.byIdentity)}`);

  // The shared Secret changes: every plug performs updated (its Job recreated).
  let fanoutSeconds: number | undefined;
  let firstSeconds: number | undefined;
  let fanoutCpu: ReturnType<ReturnType<typeof cpuMeter>['cpuSince']> | undefined;
  const { cpu, cpuSince } = cpuMeter(bench, op);
  const changes0 = await auditCounts(bench.state);
  if (n <= 1000 || process.env.BENCH_REFS_FANOUT === '1') {
    const before = new Map([...watch.plugs].map(([k, v]) => [k, v.plugHash]));
    const updated = () =>
      [...watch.plugs].filter(([k, v]) => v.plugEvent === 'updated' && v.plugHash !== before.get(k)).length;
    progress(`${label}: changing the shared Secret`);
    const cpuF = cpu();
    const tf = performance.now();
    await bench.kube.mergePatch(
      { apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'postgres-config' },
      { stringData: { password: 'rotated-password' } },
    );
    // The first plug updated: how long the change took to be noticed (the rest is the time to
    // perform N updates, here N Job recreations).
    firstSeconds = await waitUntil(`${label} (shared Secret change)`, () => updated() >= 1, tf, 900_000);
    fanoutSeconds = await waitUntil(
      `${label} (shared Secret change)`,
      () => updated() >= n,
      tf,
      900_000,
      () => `${updated()}/${n} updated`,
    );
    fanoutCpu = cpuSince(cpuF);
    progress(`${label}: CPU while the shared change fanned out: ${JSON.stringify(fanoutCpu)}`);
    await operatorSettled(op, label);
  }

  // One plug's own Secret changes, 50 times in turn: latency to that plug's updated.
  const latencies: number[] = [];
  for (let i = 0; i < own; i++) {
    const name = `p-${i}`;
    const before = watch.plugs.get(name)?.plugHash;
    const tc = performance.now();
    await bench.kube.mergePatch(
      { apiVersion: 'v1', kind: 'Secret', namespace: ns, name: `${name}-db` },
      { stringData: { database: `db${i}-renamed` } },
    );
    const s = await waitUntil(
      `${label} (own Secret of ${name})`,
      () => watch.plugs.get(name)?.plugHash !== before && watch.plugs.get(name)?.plugEvent === 'updated',
      tc,
      120_000,
    );
    latencies.push(s * 1000);
  }
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0);
  const changes = await auditCounts(bench.state, changes0.offset);
  const { row } = await operatorFigures(bench, op, n, changes0.offset);
  const polls = await scrapeCounter(op, 'integration_operator_reference_polls_total');
  const reads = await scrapeCounter(op, 'integration_operator_reference_reads_total');
  await op.stop();
  const plain = fanoutSeconds === undefined ? undefined : await plainClientFanout(bench, ns, n);
  await watch.stop();
  const result: Row = {
    scenario: label,
    'couple s': Number(coupleSeconds.toFixed(1)),
    'idle requests/s': Number(idleRate.toFixed(2)),
    'shared change -> first updated s':
      firstSeconds === undefined ? 'skipped' : Number(firstSeconds.toFixed(2)),
    'shared change -> all updated s':
      fanoutSeconds === undefined ? 'skipped' : Number(fanoutSeconds.toFixed(1)),
    'same writes, plain client s': plain === undefined ? 'skipped' : Number(plain.seconds.toFixed(1)),
    'own change p50 ms': pct(50),
    'own change p99 ms': pct(99),
    'peak RSS MiB': row['peak RSS MiB'] as number,
    'CPU s': row['CPU s'] as number,
  };
  saveResult(`refs-${n}${watching ? '' : '-polling'}`, {
    result,
    idle: { seconds: idleSeconds, requestsPerSecond: idleRate, audit: idle },
    changes: { audit: changes, firstSeconds, fanoutSeconds, fanoutCpu, latenciesMs: latencies },
    plainClient: plain,
    operator: { referenceReads: reads, referencePolls: polls },
  });
  progress(`${label}: during the changes: ${describeIdentities(changes.byIdentity)}`);
  return result;
}

/**
 * The shared change's writes once more, from a plain client with the operator stopped: for each
 * plug its Job deleted and created (as the tenant, as the operator does), its status record of the
 * event and the Event (as the operator's identity), 16 plugs at a time like the operator's workers,
 * with the job controller and the garbage collector running. What N recreated Jobs cost this
 * machine's cluster whoever sends them, with nothing to resolve or render: the floor under the
 * operator's fan-out.
 */
async function plainClientFanout(bench: Bench, ns: string, n: number) {
  const label = `refs ${n}: the same writes from a plain client`;
  progress(label);
  const { kube, close } = operatorKube(bench);
  const w = goSampleWrites(ns);
  const as = { serviceAccount: { namespace: ns, name: 'default' } };
  const cpu = () => ({
    apiserver: cpuSeconds(bench.state.pids.apiserver),
    etcd: cpuSeconds(bench.state.pids.etcd),
    controllerManager: cpuSeconds(bench.state.pids.controllerManager),
  });
  const c0 = cpu();
  const b0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  let deleted = 0;
  let created = 0;
  try {
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = next++; i < n; i = next++) {
          const plug = `p-${i}`;
          if (
            (await kube.deleteWithOutcome(w.jobRef(plug), { as, propagationPolicy: 'Background' })) !==
            'absent'
          )
            deleted++;
          if (await kube.createNew(w.job(plug), { as })) created++;
          await Promise.all([
            kube.mergePatch(
              w.plugRef(plug),
              { status: { lifecycle: { coupling: goSampleUpdatedRecord(`plain-${i}`) } } },
              { subresource: 'status' },
            ),
            kube.create(w.event(plug)),
          ]);
        }
      }),
    );
  } finally {
    close();
  }
  const seconds = (performance.now() - t0) / 1000;
  if (deleted !== n || created !== n)
    throw new Error(`${label}: ${deleted} Jobs deleted and ${created} created of ${n}`);
  const c = cpu();
  const b = process.cpuUsage(b0);
  const result = {
    seconds,
    'API server CPU s': Number((c.apiserver - c0.apiserver).toFixed(1)),
    'etcd CPU s': Number((c.etcd - c0.etcd).toFixed(1)),
    'controller-manager CPU s': Number((c.controllerManager - c0.controllerManager).toFixed(1)),
    'benchmark process CPU s': Number(((b.user + b.system) / 1e6).toFixed(1)),
  };
  progress(`${label}: ${seconds.toFixed(1)} s, ${JSON.stringify(result)}`);
  return result;
}

const jobRef = { apiVersion: 'batch/v1', kind: 'Job' };

interface JobSummary {
  uid: string;
  pgport: string | undefined;
}

/** Every object of a kind in a namespace, page by page. */
async function listAll(bench: Bench, ref: { apiVersion: string; kind: string; namespace: string }) {
  const items: KubeObject[] = [];
  let cont: string | undefined;
  do {
    const list = await bench.kube.list(ref, { limit: 500, continue: cont });
    items.push(...list.items);
    cont = list.metadata?.continue || undefined;
  } while (cont);
  return items;
}

/** The Jobs of a namespace by name, with the PGPORT their template carries. */
async function jobsOf(bench: Bench, ns: string): Promise<Map<string, JobSummary>> {
  const out = new Map<string, JobSummary>();
  for (const j of await listAll(bench, { ...jobRef, namespace: ns })) {
    const env = (
      j.spec as {
        template?: { spec?: { containers?: Array<{ env?: Array<{ name: string; value?: string }> }> } };
      }
    )?.template?.spec?.containers?.[0]?.env;
    out.set(j.metadata.name ?? '', {
      uid: j.metadata.uid ?? '',
      pgport: env?.find((e) => e.name === 'PGPORT')?.value,
    });
  }
  return out;
}

const noKubelet =
  'no kubelet in the local control plane: the Jobs never run, but kube-controller-manager (job controller, garbage collector) creates and deletes their Pods, loading the API server as in a real cluster';

/**
 * The socket users really write (bench/go-sample.ts: the Go operator's sample, config from a Secret,
 * a Job `createdb-<plug>` per plug with `do: recreate` on coupled and updated), n plugs created at
 * once; then a literal config key of the socket (`spec.config.port`, which wins over the Secret's)
 * changes, so every plug performs `updated` and every Job is recreated. The socket's spec is the
 * trigger, not the Secret: a changed Secret is found by reference tracking (a separate mechanism).
 */
async function recreate(bench: Bench, n: number): Promise<Row[]> {
  const ns = await namespace(bench, `recreate-${n}`);
  progress(`recreate ${n}: ${noKubelet}`);
  // The socket acts as its namespace's default ServiceAccount: reads its Secret, recreates Jobs.
  await grant(bench.kube, ns, 'default', goSampleRights, { existing: true });
  await bench.kube.create(goSampleSecret(ns));
  const op = await startOperatorProcess(bench, { WATCH_NAMESPACE: ns, ...envWorkers() });
  const watch = watchPlugs(bench, ns);
  await watch.synced();
  const { cpu, cpuSince } = cpuMeter(bench, op);
  const audit0 = await auditCounts(bench.state);
  await bench.kube.create(goSampleSocket(ns));
  const cpu0 = cpu();
  progress(`recreate ${n}: creating ${n} plugs`);
  const t0 = performance.now();
  await createAll(bench.kube, goSamplePlugs(ns, n));
  const seconds = await waitUntil(
    `recreate ${n}`,
    () => watch.coupled() >= n,
    t0,
    900_000,
    () => `${watch.coupled()}/${n} coupled`,
  );
  const coupleCpu = cpuSince(cpu0);
  // The Events are sent in the background: how long after the last coupling until every plug's is.
  const eventsSent = () =>
    scrapeCounter(op, 'integration_operator_kube_requests_total', 'resource="events",code="201"');
  while ((await eventsSent()) < n && performance.now() - t0 < seconds * 1000 + 120_000)
    await new Promise((r) => setTimeout(r, 100));
  const eventsLag = (performance.now() - t0) / 1000 - seconds;
  const limits = await limitFigures(op);
  const audit1 = await auditCounts(bench.state, audit0.offset);
  const jobs = await jobsOf(bench, ns);
  if (jobs.size !== n) throw new Error(`recreate ${n}: ${jobs.size} Jobs after coupling, expected ${n}`);
  const usage1 = op.usage();
  const coupleRow: Row = {
    scenario: `recreate ${n}`,
    seconds: Number(seconds.toFixed(2)),
    'couplings/s': Math.round(n / seconds),
    'writes/coupling': Number((audit1.writes / n).toFixed(2)),
    'requests/coupling': Number((audit1.requests / n).toFixed(2)),
    'peak RSS MiB': usage1.peakRssMiB,
    ...coupleCpu,
    ...limits,
    'Events lag s': Number(eventsLag.toFixed(2)),
    Jobs: jobs.size,
  };
  console.log(`recreate ${n}: requests per coupling by verb and resource (audit log)`);
  for (const l of perUnit(audit1, n)) console.log(l);

  // Phase 2: the socket's config changes; every plug performs updated, every Job is recreated.
  const before = new Map([...watch.plugs].map(([k, v]) => [k, v.socketHash]));
  const pods1 = (await listAll(bench, { apiVersion: 'v1', kind: 'Pod', namespace: ns })).length;
  progress(`recreate ${n}: ${pods1} Pods created by the job controller so far`);
  const audit2 = await auditCounts(bench.state);
  const cpu2 = cpu();
  progress(`recreate ${n}: changing the socket's spec.config.port (overrides the Secret's port)`);
  const t2 = performance.now();
  await bench.kube.mergePatch(
    { apiVersion, kind: 'Socket', namespace: ns, name: 'postgres' },
    { spec: { config: { port: '5433' } } },
  );
  const updated = () =>
    [...watch.plugs].filter(
      ([k, v]) =>
        v.plugEvent === 'updated' &&
        v.socketEvent === 'updated' &&
        v.socketHash !== undefined &&
        v.socketHash !== before.get(k),
    ).length;
  const updateSeconds = await waitUntil(
    `recreate ${n} update`,
    () => updated() >= n,
    t2,
    900_000,
    () => `${updated()}/${n} updated`,
  );
  const updateCpu = cpuSince(cpu2);
  const audit3 = await auditCounts(bench.state, audit2.offset);
  const after = await jobsOf(bench, ns);
  const recreated = [...after].filter(
    ([name, j]) => j.pgport === '5433' && jobs.get(name) && jobs.get(name)!.uid !== j.uid,
  ).length;
  if (recreated !== n)
    throw new Error(`recreate ${n}: ${recreated} of ${n} Jobs recreated with the new port`);
  const updateRow: Row = {
    scenario: `recreate ${n}: socket config changed`,
    seconds: Number(updateSeconds.toFixed(2)),
    'updates/s': Math.round(n / updateSeconds),
    'writes/update': Number((audit3.writes / n).toFixed(2)),
    'requests/update': Number((audit3.requests / n).toFixed(2)),
    'peak RSS MiB': op.usage().peakRssMiB,
    ...updateCpu,
    'Jobs recreated': recreated,
  };
  console.log(`recreate ${n}: requests per update by verb and resource (audit log)`);
  for (const l of perUnit(audit3, n)) console.log(l);
  console.log(`recreate ${n}: ${noKubelet}`);
  await watch.stop();
  await op.stop();
  saveResult(`recreate-${n}`, {
    note: noKubelet,
    workers: process.env.BENCH_WORKERS ?? 'default',
    couple: { result: coupleRow, audit: audit1, perCoupling: perUnit(audit1, n) },
    update: { result: updateRow, audit: audit3, perUpdate: perUnit(audit3, n) },
  });
  return [coupleRow, updateRow];
}

/**
 * What each kind of request the operator makes for a recreated Job costs the API server (and etcd):
 * n requests of one kind at a time, 16 concurrent, as the sample's tenant where the operator acts as
 * it. kube-controller-manager is paused meanwhile, so that what the job controller and the garbage
 * collector do about the Jobs is not counted (they resume at the end and catch up).
 */
async function requestCosts(bench: Bench, n: number): Promise<Row> {
  const ns = await namespace(bench, `requests-${n}`);
  await grant(bench.kube, ns, 'default', goSampleRights, { existing: true, role: 'tenant' });
  await bench.kube.create(goSampleSecret(ns));
  await bench.kube.create(goSampleSocket(ns));
  const plugObjs = goSamplePlugs(ns, n);
  await createAll(bench.kube, plugObjs);
  const as = { serviceAccount: { namespace: ns, name: 'default' } };
  const w = goSampleWrites(ns);
  const name = (i: number) => plugObjs[i]!.metadata.name!;
  const job = (i: number) => w.job(name(i));
  const jobRef = (i: number) => w.jobRef(name(i));
  const plugRef = (i: number) => w.plugRef(name(i));
  const status = (i: number, hash: string) => w.status(name(i), hash);
  const kinds: Array<[string, (i: number) => Promise<unknown>]> = [
    ['create Job (POST)', (i) => bench.kube.createNew(job(i), { as })],
    ['delete Job (made by POST)', (i) => bench.kube.deleteWithOutcome(jobRef(i), { as })],
    ['create Job (server-side apply)', (i) => bench.kube.apply(job(i), { as })],
    ['delete Job (made by apply)', (i) => bench.kube.deleteWithOutcome(jobRef(i), { as })],
    [
      'Plug status (merge patch)',
      (i) => bench.kube.mergePatch(plugRef(i), { status: status(i, 'a') }, { subresource: 'status' }),
    ],
    [
      'Plug status again',
      (i) => bench.kube.mergePatch(plugRef(i), { status: status(i, 'b') }, { subresource: 'status' }),
    ],
    ['Event (POST)', (i) => bench.kube.create(w.event(name(i)))],
  ];
  const kcm = bench.state.pids.controllerManager;
  const row: Row = { scenario: `requests ${n}` };
  process.kill(kcm, 'SIGSTOP');
  try {
    for (const [label, send] of kinds) {
      await new Promise((r) => setTimeout(r, 1000));
      const a0 = cpuSeconds(bench.state.pids.apiserver);
      const e0 = cpuSeconds(bench.state.pids.etcd);
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          for (let i = next++; i < n; i = next++) await send(i);
        }),
      );
      const ms = (c: number) => Number(((c / n) * 1000).toFixed(2));
      row[`${label}: API server ms`] = ms(cpuSeconds(bench.state.pids.apiserver) - a0);
      row[`${label}: etcd ms`] = ms(cpuSeconds(bench.state.pids.etcd) - e0);
      progress(`requests ${n}: ${label}: API server ${row[`${label}: API server ms`]} ms of CPU per request`);
    }
  } finally {
    process.kill(kcm, 'SIGCONT');
  }
  saveResult(`requests-${n}`, { result: row });
  return row;
}

async function ceiling(bench: Bench): Promise<Row> {
  const ns = await namespace(bench, 'ceiling');
  const n = 1000;
  await createAll(
    bench.kube,
    Array.from({ length: n }, (_, i) => ({
      apiVersion,
      kind: 'Plug',
      metadata: { name: `c-${i}`, namespace: ns },
      spec: { socket: { name: 'x' } },
    })),
  );
  progress('ceiling: status patches from a plain client, 32 concurrent');
  const t0 = performance.now();
  let i = 0;
  const worker = async () => {
    while (i < n) {
      const k = i++;
      await bench.kube.mergePatch(
        { apiVersion, kind: 'Plug', namespace: ns, name: `c-${k}` },
        {
          status: {
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'Bench',
                message: 'x',
                lastTransitionTime: '2026-01-01T00:00:00Z',
              },
            ],
          },
        },
        { subresource: 'status' },
      );
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  const s = (performance.now() - t0) / 1000;
  return { scenario: 'ceiling', seconds: Number(s.toFixed(2)), 'status patches/s': Math.round(n / s) };
}

const scenarios: Record<string, (bench: Bench, n: number) => Promise<Row | Row[]>> = {
  ceiling: (b) => ceiling(b),
  couple,
  resources,
  latency,
  update,
  restart,
  refs: references,
  recreate,
  requests: requestCosts,
};
const defaults: Record<string, number> = {
  refs: 1000,
  couple: 1000,
  resources: 1000,
  latency: 100,
  update: 1000,
  restart: 10000,
  recreate: 1000,
  requests: 1000,
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const list = args.length
    ? args
    : [
        'ceiling',
        'couple:200',
        'couple:1000',
        'couple:10000',
        'resources:1000',
        'latency:100',
        'update:1000',
        'restart:10000',
        'refs:1000',
        'refs:10000',
        'recreate:1000',
      ];
  const bench = await startBench();
  const rows: Row[] = [];
  try {
    for (const s of list) {
      const [name, arg] = s.split(':');
      const fn = scenarios[name ?? ''];
      if (!fn) throw new Error(`unknown scenario ${s} (${Object.keys(scenarios).join(', ')})`);
      const out = await fn(bench, Number(arg ?? defaults[name ?? ''] ?? 100));
      for (const row of Array.isArray(out) ? out : [out]) {
        rows.push(row);
        printRows([row]);
      }
    }
  } finally {
    await bench.close();
  }
  console.log('');
  for (const r of rows) printRows([r]);
}

const interrupted = stopOnSignal(benchStateDir);
main().catch((err: unknown) => {
  // Interrupted: the signal handler stops the control plane and exits.
  if (interrupted()) return;
  console.error(err);
  process.exit(1);
});
