// Regressions found by the chaos run and the bad-input corpus (issue 10), on the shared control
// plane with an in-process operator.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEndpointOverrides } from '../../src/apparatus/index.ts';
import { type ApparatusRecorder, startRecorder } from '../support/apparatus-recorder.ts';
import { randomName } from '../support/kube.ts';
import {
  adminKube,
  condition,
  deleteNamespaces,
  eventsFor,
  getObj,
  type InProcessOperator,
  plugObj,
  socketObj,
  startOperator,
  waitForCondition,
} from '../support/operator.ts';
import { eventually } from '../support/poll.ts';

const kube = adminKube();
const ns = `${randomName('rel')}-a`;
let op: InProcessOperator;
let app: ApparatusRecorder;
let failing = true;

beforeAll(async () => {
  await kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  app = await startRecorder({ failWith: () => (failing ? 503 : undefined) });
  op = await startOperator({
    namespaces: [ns],
    overrides: parseEndpointOverrides({ DEBUG_SOCKET_ENDPOINT: app.url }),
    cleanupTimeoutMs: 0,
  });
});

afterAll(async () => {
  await deleteNamespaces(kube, [ns]);
  await op?.stop();
  await app?.close();
});

describe('reliability regressions', () => {
  it('retries a socket created event that failed until it is delivered (not taken for a Go operator adoption)', async () => {
    await kube.create(socketObj(ns, 'flaky', { apparatus: { containers: [] } }));
    const failed = await waitForCondition(
      kube,
      'Socket',
      ns,
      'flaky',
      'Ready',
      'False',
      'ApparatusUnavailable',
    );
    expect((failed.status as { lifecycle?: { created?: string } }).lifecycle?.created).toBeUndefined();
    failing = false;
    await eventually(() => app.calls.some((c) => c.endpoint === 'created' && c.ok), {
      what: 'the created event to be delivered once the apparatus answers',
      timeoutMs: 60_000,
    });
    const s = await waitForCondition(kube, 'Socket', ns, 'flaky', 'Ready', 'True', 'SocketCreated', 60_000);
    expect((s.status as { lifecycle?: { created?: string } }).lifecycle?.created).toBeTruthy();
  });

  it('refuses a serviceAccountName that is not a ServiceAccount name, without impersonating it', async () => {
    await kube.create(socketObj(ns, 'plain'));
    await kube.create(plugObj(ns, 'odd-sa', { socket: { name: 'plain' }, serviceAccountName: 'a b:c' }));
    const p = await waitForCondition(kube, 'Plug', ns, 'odd-sa', 'Ready', 'False', 'ConfigInvalid');
    expect(condition(p, 'Ready')?.message).toMatch(
      /serviceAccountName "a b:c" is not a valid ServiceAccount name/,
    );
    await eventually(
      async () =>
        (await eventsFor(kube, ns, 'odd-sa')).some(
          (e) => e.type === 'Warning' && e.reason === 'ConfigInvalid',
        ),
      { what: 'a Warning Event' },
    );
  });

  it('reports a plug whose socket does not exist with a Warning Event, not only in status', async () => {
    await kube.create(plugObj(ns, 'lonely', { socket: { name: 'nowhere' } }));
    await waitForCondition(kube, 'Plug', ns, 'lonely', 'Coupled', 'False', 'SocketNotCreated');
    await eventually(
      async () =>
        (await eventsFor(kube, ns, 'lonely')).some(
          (e) => e.type === 'Warning' && e.reason === 'SocketNotCreated',
        ),
      { what: 'a Warning SocketNotCreated Event' },
    );
    expect(condition(await getObj(kube, 'Plug', ns, 'lonely'), 'Coupled')?.message).toContain(
      'does not exist',
    );
  });
});
