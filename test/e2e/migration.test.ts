// The migration guide, tested: replace the Go operator (installed by a chart built like its chart:
// CRDs as plain templates, no keep policy) on a live cluster without losing a Plug or a Socket and
// without firing their events again; roll back; and show that the naive `helm uninstall` really
// would have deleted everything. Runs on a control plane of its own (it replaces the CRDs).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiVersion, finalizer } from '../../src/api/common.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { Kube } from '../../src/kube/objects.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { type ControlPlaneState, down, up } from '../../tools/controlplane/controlplane.ts';
import { type ApparatusRecorder, startRecorder } from '../support/apparatus-recorder.ts';
import { condition, type OperatorProcess, repoRoot, spawnOperator } from '../support/operator.ts';
import { eventually } from '../support/poll.ts';
import { helmBin, kubectlBin, runOk } from './support/commands.ts';

const stateDir = path.join(mkdtempSync(path.join(tmpdir(), 'migration-')), 'state');
const fixture = path.join(repoRoot, 'test', 'fixtures', 'go-chart');
const release = 'integration-operator';
const system = 'go-system';
const tenant = 'tenant';
let state: ControlPlaneState;
let kube: Kube;
let client: KubeClient;
let op: OperatorProcess | undefined;
const recorders: ApparatusRecorder[] = [];

const env = () => ({ ...process.env, KUBECONFIG: state.kubeconfig });
const kubectl = (args: string[]) => runOk(kubectlBin(), args, { env: env() });
const helm = (args: string[]) => runOk(helmBin(), args, { env: env() });

beforeAll(async () => {
  ({ state } = await up({ stateDir, verbose: false }));
  const kc = new KubeConfig();
  kc.loadFromFile(state.kubeconfig);
  client = new KubeClient({ kubeConfig: kc, qps: 0 });
  kube = new Kube(client);
}, 180_000);

afterAll(async () => {
  await op?.kill('SIGKILL');
  client?.close();
  await down({ stateDir, verbose: false });
  for (const r of recorders) await r.close();
});

async function crdsEstablished(): Promise<void> {
  for (const name of ['plugs.integration.rock8s.com', 'sockets.integration.rock8s.com']) {
    await eventually(
      async () => {
        const c = await kube.get({
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          name,
        });
        return (
          c?.status as { conditions?: Array<{ type: string; status: string }> } | undefined
        )?.conditions?.some((x) => x.type === 'Established' && x.status === 'True');
      },
      { what: `CRD ${name}` },
    );
  }
}

const plugRef = { apiVersion, kind: 'Plug', namespace: tenant, name: 'app' };
const socketRef = { apiVersion, kind: 'Socket', namespace: tenant, name: 'db' };

describe('replacing the Go operator', () => {
  it('follows the migration guide: every Plug and Socket survives, couplings are adopted without firing again, and a rollback works', async () => {
    // The Go operator's chart and what it left behind: coupled objects with its finalizer and status.
    await helm(['install', release, fixture, '-n', system, '--create-namespace', '--wait=false']);
    await crdsEstablished();
    await kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: tenant } });
    const socket = await kube.create<KubeObject>({
      apiVersion,
      kind: 'Socket',
      metadata: { name: 'db', namespace: tenant, finalizers: [finalizer] },
      spec: { config: { host: 'db' }, apparatus: { containers: [] } },
    });
    const plug = await kube.create<KubeObject>({
      apiVersion,
      kind: 'Plug',
      metadata: { name: 'app', namespace: tenant, finalizers: [finalizer] },
      spec: { socket: { name: 'db' }, config: { database: 'app' }, apparatus: { containers: [] } },
    });
    const t = '2024-06-01T00:00:00Z';
    await kube.mergePatch(
      socketRef,
      {
        status: {
          conditions: [
            { type: 'Ready', status: 'True', reason: 'SocketCreated', message: '', lastTransitionTime: t },
          ],
          coupledPlugs: [
            { apiVersion, kind: 'Plug', name: 'app', namespace: tenant, uid: plug.metadata.uid },
          ],
        },
      },
      { subresource: 'status' },
    );
    await kube.mergePatch(
      plugRef,
      {
        status: {
          conditions: [
            {
              type: 'Coupled',
              status: 'True',
              reason: 'CouplingSucceeded',
              message: '',
              lastTransitionTime: t,
            },
          ],
          coupledSocket: {
            apiVersion,
            kind: 'Socket',
            name: 'db',
            namespace: tenant,
            uid: socket.metadata.uid,
          },
          coupledResult: { plug: {}, socket: {}, observedGeneration: 1 },
        },
      },
      { subresource: 'status' },
    );

    // The guide, step by step (docs/install.md "Replacing the Go operator's chart").
    await kubectl(['-n', system, 'scale', 'deployment', 'integration-operator', '--replicas=0']);
    await kubectl(['-n', system, 'delete', 'secret', '-l', `owner=helm,name=${release}`]);
    await kubectl(['-n', system, 'delete', 'deployment', 'integration-operator']);
    await kubectl(['delete', 'clusterrolebinding', `${release}-${system}`]);
    await kubectl(['-n', system, 'delete', 'serviceaccount', 'integration-operator']);
    expect((await helm(['list', '-n', system, '-q'])).stdout.trim()).toBe('');
    expect(await kube.get(plugRef)).toBeDefined();
    expect(await kube.get(socketRef)).toBeDefined();
    await kubectl([
      'apply',
      '--server-side',
      '--force-conflicts',
      '-f',
      path.join(repoRoot, 'charts', 'integration-operator', 'crds'),
    ]);
    await eventually(async () => {
      const c = await kube.get({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        name: 'plugs.integration.rock8s.com',
      });
      return c?.metadata.annotations?.['helm.sh/resource-policy'] === 'keep';
    });

    // Our operator takes over (here as a process; in a cluster, the chart's Deployment).
    const plugApp = await startRecorder();
    const socketApp = await startRecorder();
    recorders.push(plugApp, socketApp);
    op = spawnOperator(
      { WATCH_NAMESPACE: tenant, DEBUG_PLUG_ENDPOINT: plugApp.url, DEBUG_SOCKET_ENDPOINT: socketApp.url },
      state.kubeconfig,
    );
    const adopted = await eventually(
      async () => {
        const p = await kube.get(plugRef);
        return (p?.status as { lifecycle?: { coupling?: { plug?: { hash?: string } } } })?.lifecycle?.coupling
          ?.plug?.hash
          ? p
          : undefined;
      },
      { what: 'the plug to be adopted', timeoutMs: 60_000 },
    );
    expect(condition(adopted, 'Coupled')?.status).toBe('True');
    expect(
      [...plugApp.calls, ...socketApp.calls].map((c) => c.endpoint).filter((e) => e !== 'config'),
    ).toEqual([]);
    await op.kill('SIGTERM');
    op = undefined;

    // Rollback: the Go chart again, taking over the objects that now exist.
    await helm(['install', release, fixture, '-n', system, '--take-ownership', '--wait=false']);
    expect(await kube.get(plugRef)).toBeDefined();
    expect(await kube.get(socketRef)).toBeDefined();

    // And what the guide avoids: a plain uninstall of that chart deletes the CRDs, and with them
    // every Plug and Socket (here they only wait for their finalizer, as no operator runs).
    await helm(['uninstall', release, '-n', system]);
    await eventually(
      async () => {
        const crd = await kube.get({
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          name: 'plugs.integration.rock8s.com',
        });
        const p = await kube.get(plugRef).catch(() => undefined);
        return (
          crd?.metadata.deletionTimestamp !== undefined &&
          (p === undefined || p.metadata.deletionTimestamp !== undefined)
        );
      },
      { what: 'helm uninstall to delete the CRD and the plugs', timeoutMs: 60_000 },
    );
  });
});
