// Apparatus client benchmark: client ↔ SDK over loopback, and an oversized answer.
// Run: node_modules/.bin/node --expose-gc bench/apparatus-client.ts
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApparatusClient } from '../src/apparatus/client.ts';
import { parseAllowedHosts } from '../src/apparatus/endpoint.ts';
import { configRequestBody, couplingEventBody, idempotencyKey } from '../src/apparatus/protocol.ts';
import { createApparatus } from '../src/apparatus/sdk/index.ts';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

const plug = {
  apiVersion: 'integration.rock8s.com/v1beta1',
  kind: 'Plug',
  metadata: { name: 'app', namespace: 'ns', uid: 'p1', generation: 1 },
  spec: {
    socket: { name: 'db' },
    data: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, `v${i}`])),
  },
};
const socket = {
  ...plug,
  kind: 'Socket',
  metadata: { name: 'db', namespace: 'ns', uid: 's1', generation: 1 },
};

const app = createApparatus({
  config: ({ plug: p }) => ({ username: p.metadata?.name ?? '', port: 5432, tls: true }),
  coupled: () => {},
});
const running = await app.listen(0, '127.0.0.1');
const base = `http://127.0.0.1:${running.port}`;
const client = createApparatusClient({ allowedHosts: parseAllowedHosts('127.0.0.0/8') });
const body = configRequestBody({ side: 'Plug', plug, socket, plugData: {}, socketData: {} });
const event = couplingEventBody({
  side: 'Plug',
  plug,
  socket,
  plugConfig: { a: 'b' },
  socketConfig: { c: 'd' },
});

for (let i = 0; i < 200; i++) await client.config(base, body); // warm-up

const latencies: number[] = [];
const n = 2000;
for (let i = 0; i < n; i++) {
  const t = performance.now();
  await client.config(base, body);
  latencies.push(performance.now() - t);
}
latencies.sort((a, b) => a - b);
console.log(
  `config sequential: n=${n} p50=${pct(latencies, 50).toFixed(3)} ms p99=${pct(latencies, 99).toFixed(3)} ms`,
);

for (const concurrency of [10, 50]) {
  const total = 5000;
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        await client.event(base, 'coupled', event, {
          idempotencyKey: idempotencyKey({
            ownerUid: 'p1',
            coupling: 'p1/s1',
            event: 'coupled',
            generation: i,
          }),
        });
      }
    }),
  );
  const seconds = (performance.now() - t) / 1000;
  console.log(
    `events concurrency=${concurrency}: ${total} calls in ${seconds.toFixed(2)} s = ${(total / seconds).toFixed(0)} calls/s`,
  );
}
await running.close();

// A 50 MB answer, streamed (no Content-Length): aborted at the 1 MiB cap.
let written = 0;
const chunk = Buffer.alloc(64 * 1024, 0x61);
const big = createServer(async (_req, res) => {
  let wake: (() => void) | undefined;
  res.on('drain', () => wake?.());
  res.on('close', () => wake?.());
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write('{"a":"');
  while (written < 50 * 1024 * 1024 && !res.destroyed) {
    written += chunk.length;
    if (!res.write(chunk) && !res.destroyed) await new Promise<void>((resolve) => (wake = resolve));
  }
  res.end('"}');
});
await new Promise<void>((resolve) => big.listen(0, '127.0.0.1', resolve));
const bigUrl = `http://127.0.0.1:${(big.address() as AddressInfo).port}`;
gc();
const before = process.memoryUsage();
let peakRss = before.rss;
let peakBuffers = before.arrayBuffers;
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  peakBuffers = Math.max(peakBuffers, m.arrayBuffers);
}, 1);
const t = performance.now();
const outcome = await client.config(bigUrl, body).then(
  () => 'accepted (WRONG)',
  (err: { code?: string }) => err.code,
);
const ms = performance.now() - t;
clearInterval(sampler);
await new Promise((r) => setTimeout(r, 50));
console.log(
  `50 MB answer: ${outcome} after ${ms.toFixed(1)} ms; server wrote ${mib(written)} before the abort; ` +
    `peak arrayBuffers +${mib(peakBuffers - before.arrayBuffers)}, peak rss +${mib(peakRss - before.rss)}`,
);
big.closeAllConnections();
big.close();
client.close();
