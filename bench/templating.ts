// Benchmark of the template sandbox: node_modules/.bin/node bench/templating.ts
// Prints renders/s per worker (fresh QuickJS context per render), latency percentiles, pool throughput with
// 2 workers, and RSS after 5,000 renders. Numbers depend on the machine; run it alone.

import { renderObjectTemplate, TemplateRenderer } from '../src/templating/index.ts';

/** A 40-line Job template with 21 tags (interpolations, an if, a for loop), in eta. */
const JOB_TEMPLATE = `apiVersion: batch/v1
kind: Job
metadata:
  name: {%= it.plug.metadata.name %}-migrate
  namespace: {%= it.plug.metadata.namespace %}
  labels:
    app.kubernetes.io/name: {%= it.plug.metadata.name %}
    app.kubernetes.io/component: migrate
    socket: {%= it.socket.metadata.name %}
    plug-uid: {%= it.plug.metadata.uid %}
spec:
  backoffLimit: {%= it.socketConfig.retries %}
  template:
    metadata:
      labels:
        job: {%= it.plug.metadata.name %}-migrate
    spec:
      restartPolicy: {%= it.socketConfig.restartPolicy ?? 'Never' %}
      containers:
        - name: {%= it.plug.metadata.name %}
          image: {%= it.plugConfig.image %}
          env:
            - name: DATABASE
              value: {%= JSON.stringify(it.plugConfig.database) %}
            - name: USERNAME
              value: {%= JSON.stringify(it.plugConfig.username) %}
            - name: PASSWORD
              value: {%= JSON.stringify(it.plugConfig.password) %}
            - name: HOST
              value: {%= JSON.stringify(it.socketConfig.host) %}
            - name: PORT
              value: "{%= it.socketConfig.port %}"
{% if (it.plugConfig.sslmode) { %}
            - name: PGSSLMODE
              value: {%= JSON.stringify(it.plugConfig.sslmode) %}
{% } %}
          args:
{% for (const arg of ['migrate', 'up', '--verbose']) { %}
            - {%= JSON.stringify(arg) %}
{% } %}
`;

const GO_TEMPLATE = `apiVersion: v1
kind: ConfigMap
metadata:
  name: {% .plug.metadata.name %}-config
data:
  database: {% .plugConfig.database %}
  username: {% .plugConfig.username %}
  host: {% .socketConfig.host %}
  port: "{% .socketConfig.port %}"
`;

const DATA = {
  plug: {
    apiVersion: 'integration.rock8s.com/v1beta1',
    kind: 'Plug',
    metadata: { name: 'app', namespace: 'team-a', uid: 'u1' },
  },
  socket: {
    apiVersion: 'integration.rock8s.com/v1beta1',
    kind: 'Socket',
    metadata: { name: 'postgres', namespace: 'db', uid: 'u2' },
  },
  plugConfig: {
    image: 'postgres:16',
    database: 'app',
    username: 'app',
    password: 'p"a:ss\nword',
    sslmode: 'require',
  },
  socketConfig: { host: 'postgres.db.svc', port: 5432, retries: 3 },
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function sequential(
  r: TemplateRenderer,
  n: number,
  template: (i: number) => string,
): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await r.render(template(i), DATA);
    latencies.push(performance.now() - t0);
  }
  return latencies;
}

function report(label: string, latencies: number[]): void {
  const total = latencies.reduce((a, b) => a + b, 0);
  const sorted = [...latencies].sort((a, b) => a - b);
  console.log(
    `${label.padEnd(58)} ${(latencies.length / (total / 1000)).toFixed(0).padStart(5)} renders/s  ` +
      `p50 ${percentile(sorted, 50).toFixed(2)} ms  p99 ${percentile(sorted, 99).toFixed(2)} ms`,
  );
}

const tags = JOB_TEMPLATE.match(/\{%/g)?.length ?? 0;
console.log(
  `Job template: ${JOB_TEMPLATE.trimEnd().split('\n').length} lines, ${tags} tags; node ${process.version}`,
);

{
  // Memory first, in a fresh process: 5,000 renders on 2 workers (default recycling after 1,000 renders each),
  // with the RSS of the whole process (worker threads included) along the way.
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
  const rss0 = process.memoryUsage().rss;
  const r = new TemplateRenderer({ workers: 2 });
  const marks: string[] = [];
  for (let i = 0; i < 5000; i += 10) {
    await Promise.all(Array.from({ length: 10 }, () => r.render(JOB_TEMPLATE, DATA)));
    if ((i + 10) % 1000 === 0) marks.push(`${i + 10}: ${mib(process.memoryUsage().rss)}`);
  }
  console.log(
    `RSS before the pool ${mib(rss0)}; after N renders (2 workers, 64 MiB WebAssembly memory cap each):`,
  );
  console.log(`  ${marks.join(', ')}; workers spawned: ${r.stats().spawned}`);
  await r.close();
  console.log(`  after close(): ${mib(process.memoryUsage().rss)}`);
}

{
  // One worker, renders one after another: the per-worker rate, every render in a fresh QuickJS context.
  const r = new TemplateRenderer({ workers: 1, recycleAfter: 1_000_000 });
  await sequential(r, 300, () => JOB_TEMPLATE); // warm up (worker start, WebAssembly tier-up)
  report('1 worker, eta Job, fresh context (compile cached)', await sequential(r, 2000, () => JOB_TEMPLATE));
  report(
    '1 worker, eta Job, fresh context, compiled every time',
    await sequential(r, 1000, (i) => `${JOB_TEMPLATE}# ${i}\n`),
  );
  report('1 worker, Go shorthand ConfigMap (9 lines, 5 tags)', await sequential(r, 1000, () => GO_TEMPLATE));
  const objectTemplate = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: '{%= it.plug.metadata.name %}-cm', labels: { app: '{%= it.plug.metadata.name %}' } },
    data: Object.fromEntries(
      Array.from({ length: 18 }, (_, i) => [`key${i}`, `{%= it.plugConfig.database %}-${i}`]),
    ),
  };
  const objectLatencies: number[] = [];
  for (let i = 0; i < 500; i++) {
    const t0 = performance.now();
    await renderObjectTemplate(r, objectTemplate, DATA);
    objectLatencies.push(performance.now() - t0);
  }
  report('1 worker, object template with 20 templated strings', objectLatencies);
  const plain: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const t0 = performance.now();
    await r.render('kind: ConfigMap\napiVersion: v1\n', DATA);
    plain.push(performance.now() - t0);
  }
  report('no tags (fast path, no sandbox)', plain);
  await r.close();
}

{
  // Two workers, 16 renders in flight.
  const r = new TemplateRenderer({ workers: 2, recycleAfter: 1_000_000 });
  await Promise.all(Array.from({ length: 200 }, () => r.render(JOB_TEMPLATE, DATA)));
  const n = 4000;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < n) {
        next++;
        await r.render(JOB_TEMPLATE, DATA);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    `${'2 workers, 16 in flight, eta Job'.padEnd(58)} ${(n / seconds).toFixed(0).padStart(5)} renders/s`,
  );
  await r.close();
}
