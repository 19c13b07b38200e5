// Apparatus services as real ones behave (issue 19): one written for the Go operator may not serve
// GET /ping, and one that fails (a 500 from the service behind it) must not be hammered: each
// coupling calls it once per step of its backoff (1 s doubling to 5 min), with the same
// Idempotency-Key, and the event is delivered once it recovers.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEndpointOverrides } from '../../src/apparatus/index.ts';
import { type ApparatusRecorder, type RecordedCall, startRecorder } from '../support/apparatus-recorder.ts';
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
const prefix = randomName('apr');
const ns = `${prefix}-a`;
const ops: InProcessOperator[] = [];
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  await kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
});

afterAll(async () => {
  const cleaner = await startOperator({ namespaces: [ns], cleanupTimeoutMs: 0 });
  for (const o of ops) await o.stop().catch(() => undefined);
  await deleteNamespaces(kube, [ns]);
  await cleaner.stop();
  for (const close of closers) await close();
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

/**
 * An apparatus written for the Go operator: it serves the event endpoints and no GET /ping, which
 * it answers the way its framework does for an unknown route (the status is chosen by the first
 * path segment, the apparatus Pod's name: `/<pod>/ping`).
 */
async function startApparatusWithoutPing(pingStatus: Record<string, number>) {
  const calls: Array<{ pod: string; method: string; endpoint: string; status: number }> = [];
  const server = http.createServer((req, res) => {
    const [, pod = '', endpoint = ''] = (req.url ?? '').split('?')[0]!.split('/');
    req.resume();
    req.on('end', () => {
      const status = endpoint === 'ping' ? (pingStatus[pod] ?? 404) : 200;
      calls.push({ pod, method: req.method ?? '', endpoint, status });
      if (status === 200) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      } else {
        res.writeHead(status, { 'content-type': 'text/html' });
        res.end(`<pre>Cannot ${req.method} /${endpoint}</pre>`);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  closers.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { url: `http://127.0.0.1:${port}`, calls };
}

/** Marks an apparatus Pod Ready, as a kubelet would (this control plane has no node). */
async function markReady(name: string): Promise<void> {
  const pod = await eventually(() => kube.get({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name }), {
    what: `the apparatus Pod ${name}`,
  });
  expect(pod.metadata.name).toBe(name);
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await kube.mergePatch(
    { apiVersion: 'v1', kind: 'Pod', namespace: ns, name },
    {
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }] },
    },
    { subresource: 'status' },
  );
}

describe('apparatus services as the Go operator called them', () => {
  it('an apparatus that does not serve GET /ping (404, 405) counts as up: its plug couples', async () => {
    const app = await startApparatusWithoutPing({ 'p404-plug-apparatus': 404, 'p405-plug-apparatus': 405 });
    await grant(
      kube,
      ns,
      'tenant',
      [{ apiGroups: [''], resources: ['pods', 'services'], verbs: writeVerbs }],
      {
        role: 'apparatus',
      },
    );
    const op = await operator({ namespaces: [ns], managedUrlTemplate: `${app.url}/{name}` });
    await kube.create(socketObj(ns, 'noping-socket'));
    for (const name of ['p404', 'p405']) {
      await kube.create(
        plugObj(ns, name, {
          socket: { name: 'noping-socket' },
          serviceAccountName: 'tenant',
          apparatus: {
            containers: [
              {
                name: 'app',
                image: 'example/go-apparatus:1',
                ports: [{ containerPort: 3000, name: 'container' }],
              },
            ],
          },
        }),
      );
    }
    for (const name of ['p404', 'p405']) await markReady(`${name}-plug-apparatus`);
    for (const name of ['p404', 'p405']) {
      const plug = await waitForCondition(kube, 'Plug', ns, name, 'Coupled', 'True', undefined, 60_000);
      expect(condition(plug, 'Ready')?.status).toBe('True');
      const mine = app.calls.filter((c) => c.pod === `${name}-plug-apparatus`);
      // It was asked for /ping, answered with an error status, and was called right after.
      const ping = mine.findIndex((c) => c.endpoint === 'ping');
      expect(ping).toBeGreaterThanOrEqual(0);
      expect(mine[ping]).toMatchObject({ method: 'GET', status: name === 'p404' ? 404 : 405 });
      expect(mine.slice(ping + 1).map((c) => c.endpoint)).toEqual(
        expect.arrayContaining(['created', 'config', 'coupled']),
      );
    }
    await stop(op);
  });

  it('an apparatus failing (500) for 2 minutes gets one call per backoff step per coupling, the same key each time, and the event once it recovers', async () => {
    const failForMs = 120_000;
    let failUntil: number | undefined;
    const app: ApparatusRecorder = await startRecorder({
      failWith: (endpoint) => {
        if (endpoint !== 'coupled') return undefined;
        failUntil ??= Date.now() + failForMs;
        return Date.now() < failUntil ? 500 : undefined;
      },
    });
    closers.push(() => app.close());
    const overrides = parseEndpointOverrides({
      APPARATUS_ENDPOINT_OVERRIDES: `Socket/${ns}/budget=${app.url}`,
    });
    const op = await operator({ namespaces: [ns], overrides });
    await kube.create(socketObj(ns, 'budget', { apparatus: { containers: [] } }));
    const plugs = ['x', 'y'];
    for (const name of plugs) await kube.create(plugObj(ns, name, { socket: { name: 'budget' } }));

    // While it fails: the plugs say why, and the socket says its side fails for both.
    for (const name of plugs) {
      const plug = await waitForCondition(kube, 'Plug', ns, name, 'Ready', 'False', 'ApparatusUnavailable');
      expect(condition(plug, 'Ready')?.message).toMatch(/answered HTTP 500/);
      expect((plug.status as { failure?: unknown }).failure).toMatchObject({ side: 'socket' });
    }
    const failing = await waitForCondition(
      kube,
      'Socket',
      ns,
      'budget',
      'Ready',
      'False',
      'CouplingsFailing',
    );
    expect(condition(failing, 'Ready')?.message).toMatch(
      /^2 plugs fail on the socket side: .*\(ApparatusUnavailable\)/,
    );

    // It recovers after 2 minutes; the next step of each coupling's backoff delivers the event.
    for (const name of plugs)
      await waitForCondition(
        kube,
        'Plug',
        ns,
        name,
        'Coupled',
        'True',
        'CouplingSucceeded',
        failForMs + 120_000,
      );
    await waitForCondition(kube, 'Socket', ns, 'budget', 'Ready', 'True', 'SocketCreated');
    // The socket stayed failing through the retries (the plugs keep their failure while retrying):
    // one Warning when it started, one Normal Event when it ended, no flapping in between.
    const socketEvents = await eventually(
      async () => {
        const events = await eventsFor(kube, ns, 'budget');
        return events.some((e) => e.reason === 'CouplingsRecovered') ? events : undefined;
      },
      { what: 'a CouplingsRecovered Event on the socket' },
    );
    expect(socketEvents.filter((e) => e.reason === 'CouplingsFailing')).toHaveLength(1);
    expect(socketEvents.filter((e) => e.reason === 'CouplingsRecovered')).toHaveLength(1);

    for (const name of plugs) {
      const calls: RecordedCall[] = app.calls.filter((c) => c.endpoint === 'coupled' && c.plug === name);
      const failed = calls.filter((c) => !c.ok);
      const delivered = calls.filter((c) => c.ok);
      // One call per step of 1 s doubling: 0, 1, 3, 7, 15, 31, 63 s fall in the 2 minutes (the
      // old policy made 3 attempts per pass on top of the requeues).
      expect(failed.length, `${name}: failed calls`).toBeGreaterThanOrEqual(5);
      expect(failed.length, `${name}: failed calls`).toBeLessThanOrEqual(8);
      const gaps = calls.slice(1).map((c, i) => c.at - calls[i]!.at);
      gaps.forEach((gap, i) => {
        expect(gap, `${name}: gap before call ${i + 2} (${JSON.stringify(gaps)})`).toBeGreaterThanOrEqual(
          0.95 * 1000 * 2 ** i,
        );
      });
      // Delivered once, after the outage, under the key of the first attempt.
      expect(delivered).toHaveLength(1);
      expect(delivered[0]!.at).toBeGreaterThanOrEqual(failUntil!);
      expect(new Set(calls.map((c) => c.key)).size).toBe(1);
    }
    await stop(op);
  }, 360_000);
});
