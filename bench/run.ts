// npm run bench [-- scenario...]: runs benchmark scenarios against a local control plane of its
// own and prints one table row per scenario (JSON under bench/results/).
//   couple:N     N plugs created at once on one socket with literal config
//   ceiling      the API server's own write rate (status patches from a plain concurrent client)
// `npm run bench:smoke` runs a small variant (used by CI to keep the suite alive).
import { apiVersion } from '../src/api/common.ts';
import type { KubeObject } from '../src/kube/types.ts';
import { silentLogger } from '../src/observe/log.ts';
import { Informer } from '../src/runtime/informer.ts';
import {
  auditCounts,
  type Bench,
  cpuSeconds,
  createAll,
  printRows,
  progress,
  type Row,
  saveResult,
  scrapeCounter,
  startBench,
  startOperatorProcess,
} from './harness.ts';

/** Counts Coupled plugs of a namespace from a watch (listing 1,000s of plugs in a loop would load the API server more than the operator does). */
function coupledCounter(bench: Bench, ns: string) {
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
  const coupled = new Set<string>();
  const see = (p: KubeObject) => {
    const c = (
      p.status as { conditions?: Array<{ type: string; status: string }> } | undefined
    )?.conditions?.find((x) => x.type === 'Coupled');
    if (c?.status === 'True') coupled.add(p.metadata.name ?? '');
    else coupled.delete(p.metadata.name ?? '');
  };
  inf.addHandler({ onAdd: see, onUpdate: (_o, p) => see(p) });
  const stop = new AbortController();
  const running = inf.start(stop.signal);
  return {
    synced: () => inf.waitForSync(),
    count: () => coupled.size,
    stop: async () => {
      stop.abort();
      await running;
    },
  };
}

async function couple(bench: Bench, n: number): Promise<Row> {
  const ns = `couple-${n}-${Date.now() % 100000}`;
  await bench.kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const op = await startOperatorProcess(bench, {
    WATCH_NAMESPACE: ns,
    ...(process.env.BENCH_WORKERS ? { MAX_CONCURRENT_RECONCILES: process.env.BENCH_WORKERS } : {}),
  });
  const audit0 = await auditCounts(bench.state);
  const reconciles0 = await scrapeCounter(op, 'integration_operator_reconcile_total', 'controller="plug"');
  await bench.kube.create({
    apiVersion,
    kind: 'Socket',
    metadata: { name: 'db', namespace: ns },
    spec: { interface: { config: { plug: { database: { required: true } } } }, config: { host: 'db.svc' } },
  });
  const plugs: KubeObject[] = Array.from({ length: n }, (_, i) => ({
    apiVersion,
    kind: 'Plug',
    metadata: { name: `p-${i}`, namespace: ns },
    spec: { socket: { name: 'db' }, config: { database: `db${i}` } },
  }));
  const counter = coupledCounter(bench, ns);
  await counter.synced();
  progress(`couple ${n}: creating ${n} plugs`);
  const cpu0 = { apiserver: cpuSeconds(bench.state.pids.apiserver), etcd: cpuSeconds(bench.state.pids.etcd) };
  const t0 = performance.now();
  await createAll(bench.kube, plugs);
  const created = performance.now() - t0;
  let coupled = 0;
  let lastReport = 0;
  for (;;) {
    coupled = counter.count();
    const el = performance.now() - t0;
    if (el - lastReport > 5000) {
      progress(`couple ${n}: ${coupled}/${n} coupled after ${(el / 1000).toFixed(1)} s`);
      lastReport = el;
    }
    if (coupled >= n) break;
    if (el > 600_000) throw new Error(`couple ${n}: only ${coupled} coupled after 10 minutes`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = (performance.now() - t0) / 1000;
  progress(
    `couple ${n}: API server ${(cpuSeconds(bench.state.pids.apiserver) - cpu0.apiserver).toFixed(1)} CPU s, etcd ${(cpuSeconds(bench.state.pids.etcd) - cpu0.etcd).toFixed(1)} CPU s over ${seconds.toFixed(1)} s`,
  );
  // Let the socket summary settle before counting.
  for (;;) {
    const s = await bench.kube.get({ apiVersion, kind: 'Socket', namespace: ns, name: 'db' });
    if ((s?.status as { coupledPlugCount?: number })?.coupledPlugCount === n) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 1500));
  const audit = await auditCounts(bench.state, audit0.offset);
  const reconciles =
    (await scrapeCounter(op, 'integration_operator_reconcile_total', 'controller="plug"')) - reconciles0;
  const socket = await bench.kube.get({ apiVersion, kind: 'Socket', namespace: ns, name: 'db' });
  await counter.stop();
  const usage = op.usage();
  const reqSeconds = await scrapeCounter(op, 'integration_operator_kube_request_duration_seconds_sum');
  const reqCount = await scrapeCounter(op, 'integration_operator_kube_request_duration_seconds_count');
  const recSeconds = await scrapeCounter(
    op,
    'integration_operator_reconcile_duration_seconds_sum',
    'controller="plug"',
  );
  progress(
    `couple ${n}: mean request ${((reqSeconds / reqCount) * 1000).toFixed(1)} ms, mean plug reconcile ${((recSeconds / reconciles) * 1000).toFixed(1)} ms`,
  );
  await op.stop();
  const row: Row = {
    scenario: `couple ${n}`,
    seconds: Number(seconds.toFixed(2)),
    'couplings/s': Math.round(n / seconds),
    'create s': Number((created / 1000).toFixed(2)),
    'requests/coupling': Number((audit.requests / n).toFixed(2)),
    'writes/coupling': Number((audit.writes / n).toFixed(2)),
    'reconciles/coupling': Number((reconciles / n).toFixed(2)),
    'peak RSS MiB': usage.peakRssMiB,
    'CPU s': usage.cpuSeconds,
    'socket status bytes': JSON.stringify(socket?.status ?? {}).length,
  };
  saveResult(`couple-${n}`, { row, audit });
  progress(`couple ${n}: ${JSON.stringify(audit.byResource)}`);
  return row;
}

async function ceiling(bench: Bench): Promise<Row> {
  const ns = `ceiling-${Date.now() % 100000}`;
  await bench.kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
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

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const scenarios = args.length ? args : ['ceiling', 'couple:200', 'couple:1000'];
  const bench = await startBench();
  const rows: Row[] = [];
  try {
    for (const s of scenarios) {
      const [name, arg] = s.split(':');
      if (name === 'couple') rows.push(await couple(bench, Number(arg ?? 200)));
      else if (name === 'ceiling') rows.push(await ceiling(bench));
      else throw new Error(`unknown scenario ${s}`);
      printRows([rows.at(-1)!]);
    }
  } finally {
    await bench.close();
  }
  console.log('');
  printRows(rows);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
