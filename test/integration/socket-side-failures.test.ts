// Failures on the socket's side of couplings, found by running real users' manifests (issue 19):
// the Go operator's own sample socket, whose Job has no restartPolicy, is refused by the API server.
// The plugs say ResourceInvalid (not "in process" forever), retry slowly, report it once, and the
// socket's Ready (kubectl get sockets) says that its side fails, until a fixed spec recovers them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiVersion } from '../../src/api/common.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { kubectlBin, runOk } from '../e2e/support/commands.ts';
import { randomName } from '../support/kube.ts';
import {
  adminKube,
  condition,
  deleteNamespaces,
  eventsFor,
  getObj,
  grant,
  type InProcessOperator,
  kubeconfigPath,
  plugObj,
  socketObj,
  startOperator,
  waitForCondition,
  writeVerbs,
} from '../support/operator.ts';
import { eventually } from '../support/poll.ts';

const kube = adminKube();
const prefix = randomName('ssf');
const db = `${prefix}-db`;
const app = `${prefix}-app`;
const ops: InProcessOperator[] = [];

beforeAll(async () => {
  for (const name of [db, app])
    await kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  await grant(kube, db, 'dba', [{ apiGroups: ['batch'], resources: ['jobs'], verbs: writeVerbs }]);
});

afterAll(async () => {
  const cleaner = await startOperator({ namespaces: [db, app], cleanupTimeoutMs: 0 });
  for (const o of ops) await o.stop().catch(() => undefined);
  await deleteNamespaces(kube, [db, app]);
  await cleaner.stop();
});

async function operator(): Promise<InProcessOperator> {
  const o = await startOperator({ namespaces: [db, app] });
  ops.push(o);
  return o;
}

async function stop(o: InProcessOperator): Promise<void> {
  await o.stop();
  ops.splice(ops.indexOf(o), 1);
}

/** The Job of the Go operator's README, as users copied it: no restartPolicy. */
function readmeJob(restartPolicy?: string): Record<string, unknown> {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'createdb-{% .plug.metadata.name %}' },
    spec: {
      template: {
        spec: {
          ...(restartPolicy ? { restartPolicy } : {}),
          containers: [
            {
              name: 'my-job',
              image: 'my-job-image',
              env: [{ name: 'HELLO', value: '{% .plugConfig.hello %}' }],
            },
          ],
        },
      },
    },
  };
}

const socketSpec = (restartPolicy?: string) => ({
  serviceAccountName: 'dba',
  interface: { config: { plug: { hello: { default: 'world' } } } },
  resources: [{ when: ['coupled', 'updated'], do: 'apply', template: readmeJob(restartPolicy) }],
});

/** Failed plug reconciles of an operator so far (its reconcile_total metric). */
async function plugReconcileErrors(o: InProcessOperator): Promise<number> {
  const { values } = await o.metrics.reconciles.get();
  return values
    .filter((v) => v.labels.controller === 'plug' && v.labels.result === 'error')
    .reduce((n, v) => n + v.value, 0);
}

type Failure = { side?: string; socketUid?: string; reason?: string; message?: string };
function failure(obj: KubeObject | undefined): Failure | undefined {
  return (obj?.status as { failure?: Failure } | undefined)?.failure;
}

describe('a socket whose side of its couplings fails', () => {
  it('the Go sample socket (a Job without restartPolicy): plugs say ResourceInvalid and retry slowly; the socket is not Ready (CouplingsFailing) until its spec is fixed', async () => {
    const op = await operator();
    await kube.create(socketObj(db, 'postgres', socketSpec()));
    await kube.create(plugObj(app, 'a', { socket: { name: 'postgres', namespace: db } }));
    await kube.create(plugObj(app, 'b', { socket: { name: 'postgres', namespace: db } }));

    const socketUid = (await getObj(kube, 'Socket', db, 'postgres'))!.metadata.uid;
    for (const name of ['a', 'b']) {
      const plug = await waitForCondition(kube, 'Plug', app, name, 'Coupled', 'False', 'ResourceInvalid');
      // Coupled and Ready say what it is: not "in process"; the message names the object and the field.
      const ready = condition(plug, 'Ready');
      expect(ready?.reason).toBe('ResourceInvalid');
      expect(ready?.message).toMatch(
        new RegExp(`Job\\.batch "createdb-${name}" is invalid: spec\\.template\\.spec\\.restartPolicy`),
      );
      expect(condition(plug, 'Coupled')?.message).toBe(ready?.message);
      // The side that failed is recorded, not guessed from the message.
      expect(failure(plug)).toMatchObject({ side: 'socket', socketUid, reason: 'ResourceInvalid' });
      expect(failure(plug)?.message).toContain('spec.template.spec.restartPolicy');
    }

    // The socket summarises its plugs: Ready=False, CouplingsFailing, the count and each plug's reason.
    const socket = await waitForCondition(
      kube,
      'Socket',
      db,
      'postgres',
      'Ready',
      'False',
      'CouplingsFailing',
    );
    const message = condition(socket, 'Ready')?.message ?? '';
    expect(message).toMatch(/^2 plugs fail on the socket side: /);
    expect(message).toContain(`${app}/a (ResourceInvalid): `);
    expect(message).toContain(`${app}/b (ResourceInvalid): `);
    expect(message).toContain('spec.template.spec.restartPolicy');
    await eventually(
      async () =>
        (await eventsFor(kube, db, 'postgres')).some(
          (e) => e.type === 'Warning' && e.reason === 'CouplingsFailing',
        ),
      { what: 'a CouplingsFailing Warning on the socket' },
    );
    // What an operator of the cluster sees at a glance.
    const table = await runOk(kubectlBin(), ['--kubeconfig', kubeconfigPath(), 'get', 'sockets', '-n', db]);
    expect(table.stdout).toMatch(/NAME\s+PLUGS\s+READY\s+REASON\s+AGE/);
    expect(table.stdout).toMatch(/postgres\s+0\s+False\s+CouplingsFailing\s/);
    const plugs = await runOk(kubectlBin(), ['--kubeconfig', kubeconfigPath(), 'get', 'plugs', '-n', app]);
    expect(plugs.stdout).toMatch(/\ba\s+postgres\s+False\s+ResourceInvalid\s/);

    // Slow backoff: a refused object is retried after a minute, not at the fast error backoff
    // (5 ms doubling would retry about ten times in these 10 s). Watching for retries that must not
    // happen takes a window of time.
    const errorsBefore = await plugReconcileErrors(op);
    expect(errorsBefore).toBeGreaterThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 10_000));
    expect(await plugReconcileErrors(op)).toBe(errorsBefore);
    await stop(op);

    // A restart retries at once (the backoff is in memory) and fails the same way: the Warning is
    // reported once per change of the failure, not once per retry.
    const again = await operator();
    await eventually(async () => (await plugReconcileErrors(again)) >= 2, {
      what: 'both plugs to be retried after a restart',
    });
    const warnings = (await eventsFor(kube, app, 'a')).filter((e) => e.reason === 'ResourceInvalid');
    expect(warnings).toHaveLength(1);

    // The provider fixes the template: the spec change retries the plugs at once (not in minutes).
    await kube.mergePatch(
      { apiVersion, kind: 'Socket', namespace: db, name: 'postgres' },
      { spec: socketSpec('Never') },
    );
    for (const name of ['a', 'b']) {
      const plug = await waitForCondition(
        kube,
        'Plug',
        app,
        name,
        'Ready',
        'True',
        'CouplingSucceeded',
        20_000,
      );
      expect(failure(plug)).toBeUndefined();
      expect(
        await kube.get({ apiVersion: 'batch/v1', kind: 'Job', namespace: db, name: `createdb-${name}` }),
      ).toBeTruthy();
    }
    const recovered = await waitForCondition(
      kube,
      'Socket',
      db,
      'postgres',
      'Ready',
      'True',
      'SocketCreated',
    );
    expect(condition(recovered, 'Ready')?.message).toBe('2 plugs coupled');
    await eventually(
      async () =>
        (await eventsFor(kube, db, 'postgres')).some(
          (e) => e.type === 'Normal' && e.reason === 'CouplingsRecovered',
        ),
      { what: 'a CouplingsRecovered Event on the socket' },
    );
    await stop(again);
  }, 180_000);

  it('a socket whose own created resource is refused says ResourceInvalid, reported once, also across a restart', async () => {
    const op = await operator();
    await kube.create(
      socketObj(db, 'mysql', {
        serviceAccountName: 'dba',
        resources: [{ when: ['created'], template: { ...readmeJob(), metadata: { name: 'init-mysql' } } }],
      }),
    );
    const socket = await waitForCondition(kube, 'Socket', db, 'mysql', 'Ready', 'False', 'ResourceInvalid');
    expect(condition(socket, 'Ready')?.message).toMatch(
      /^resources\[0\] of Socket \S+\/mysql: apply Job \S+\/init-mysql: Job\.batch "init-mysql" is invalid: spec\.template\.spec\.restartPolicy: Required value/,
    );
    await stop(op);
    const again = await operator();
    await eventually(
      async () => {
        const { values } = await again.metrics.reconciles.get();
        return values.some((v) => v.labels.controller === 'socket' && v.labels.result === 'error');
      },
      { what: 'the socket to be retried after a restart' },
    );
    const warnings = (await eventsFor(kube, db, 'mysql')).filter((e) => e.reason === 'ResourceInvalid');
    expect(warnings).toHaveLength(1);
    await stop(again);
  });
});
