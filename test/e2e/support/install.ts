// Installing the operator for an e2e run, the way the chart does:
// - on the local control plane or any KUBECONFIG (E2E_CLUSTER unset/local/kubeconfig): the chart is
//   rendered, its CRDs, ServiceAccount and RBAC are applied, a token is requested for its
//   ServiceAccount, and the operator runs as a local process with that token and the chart
//   Deployment's environment. It has the chart's rights and nothing else, so a right missing from
//   the chart fails the suite.
// - on kind (E2E_CLUSTER=kind) or with E2E_IMAGE set: `helm install` of the image, in a Pod.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { inject } from 'vitest';
import { stringify } from 'yaml';
import { KubeClient } from '../../../src/kube/client.ts';
import type { KubeObject } from '../../../src/kube/types.ts';
import { kubeconfigPath, type OperatorProcess, spawnOperator } from '../../support/operator.ts';
import { eventuallyWhileRunning } from '../../support/poll.ts';
import { chartDir, chartEnvironment, operatorContainer, renderChart, withValuesFile } from './chart.ts';
import { helmBin, kubectlBin, run, runOk } from './commands.ts';

/** Kinds the chart renders and how the process mode treats them. */
const appliedKinds = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
/** Rendered but not applied in process mode: the process stands in for the Deployment. */
const processModeSkips = new Set(['Deployment', 'Service', 'ServiceMonitor']);

export interface OperatorInstall {
  mode: 'process' | 'helm';
  release: string;
  namespace: string;
  /** The chart's full name: Deployment, ServiceAccount, ClusterRole and Lease are named after it. */
  fullname: string;
  serviceAccount: string;
  /** The rendered chart. */
  objects: KubeObject[];
  /** Process mode: where /healthz, /readyz and /metrics answer. */
  probeUrl?: string;
  metricsUrl?: string;
  /** The operator's log so far (for failure messages). */
  logs(): Promise<string>;
  /** Stops the operator and removes what the install created, except the CRDs (kept, as by Helm). */
  uninstall(): Promise<void>;
}

export interface InstallOptions {
  release: string;
  namespace: string;
  values: Record<string, unknown>;
  /** Process mode only: extra environment (test seams such as APPARATUS_ENDPOINT_OVERRIDES). */
  processEnv?: Record<string, string>;
}

export function kubectl(args: string[], input?: string) {
  return runOk(kubectlBin(), ['--kubeconfig', kubeconfigPath(), ...args], input ? { input } : {});
}

function adminClient(): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return new KubeClient({ kubeConfig: kc, qps: 0 });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Applies the chart's CRDs (crds/: what `helm install` creates first) and waits until served. */
export async function applyChartCrds(): Promise<void> {
  const dir = path.join(chartDir, 'crds');
  await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=e2e', '-f', dir]);
  await kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', dir]);
}

/**
 * Whether the operator's own ServiceAccount may `verb` `resource` in `namespace` (kubectl auth
 * can-i): what it does on a tenant's behalf must come from impersonation, not from its own rights.
 */
export async function operatorMay(op: OperatorInstall, verb: string, resource: string, namespace: string) {
  const r = await run(kubectlBin(), [
    '--kubeconfig',
    kubeconfigPath(),
    'auth',
    'can-i',
    verb,
    resource,
    '-n',
    namespace,
    `--as=system:serviceaccount:${op.namespace}:${op.serviceAccount}`,
  ]);
  return r.stdout.trim() === 'yes';
}

/** A token for a ServiceAccount (TokenRequest API), as the kubelet would mount it in the Pod. */
export async function serviceAccountToken(namespace: string, name: string, seconds = 3600): Promise<string> {
  const client = adminClient();
  try {
    const res = await client.request<{ status: { token: string } }>({
      method: 'POST',
      path: `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds: seconds },
      },
    });
    return res.status.token;
  } finally {
    client.close();
  }
}

/** A kubeconfig for the test cluster (server and CA from the admin kubeconfig) with a bearer token. */
export function tokenKubeconfig(dir: string, user: string, token: string): string {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the test kubeconfig names no current cluster');
  const ca = cluster.caData ?? (cluster.caFile ? readFileSync(cluster.caFile).toString('base64') : undefined);
  const file = path.join(dir, 'kubeconfig');
  writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'e2e',
          cluster: {
            server: cluster.server,
            ...(ca ? { 'certificate-authority-data': ca } : {}),
            ...(cluster.skipTLSVerify ? { 'insecure-skip-tls-verify': true } : {}),
            ...(cluster.tlsServerName ? { 'tls-server-name': cluster.tlsServerName } : {}),
          },
        },
      ],
      users: [{ name: user, user: { token } }],
      contexts: [{ name: 'e2e', context: { cluster: 'e2e', user } }],
      'current-context': 'e2e',
    }),
    { mode: 0o600 },
  );
  return file;
}

function fullnameOf(objects: KubeObject[]): string {
  const dep = objects.find((o) => o.kind === 'Deployment');
  if (!dep?.metadata.name) throw new Error('the chart rendered no Deployment');
  return dep.metadata.name;
}

function serviceAccountOf(objects: KubeObject[]): string {
  const dep = objects.find((o) => o.kind === 'Deployment') as
    | (KubeObject & { spec: { template: { spec: { serviceAccountName?: string } } } })
    | undefined;
  return dep?.spec.template.spec.serviceAccountName ?? 'default';
}

/** Installs the operator in the suite's mode (see the file comment). */
export async function installOperator(opts: InstallOptions): Promise<OperatorInstall> {
  const image = inject('e2eImage');
  return image ? installWithHelm(opts, image) : installAsProcess(opts);
}

async function installAsProcess(opts: InstallOptions): Promise<OperatorInstall> {
  const objects = await renderChart(opts);
  const unknown = objects.filter(
    (o) => !appliedKinds.has(o.kind ?? '') && !processModeSkips.has(o.kind ?? ''),
  );
  if (unknown.length) {
    throw new Error(
      `the chart renders kinds the e2e process mode does not reproduce: ${unknown.map((o) => o.kind).join(', ')}`,
    );
  }
  const fullname = fullnameOf(objects);
  const serviceAccount = serviceAccountOf(objects);
  await applyChartCrds();
  const identity = objects.filter((o) => appliedKinds.has(o.kind ?? ''));
  await kubectl(
    ['apply', '--server-side', '--field-manager=e2e', '-f', '-'],
    identity.map((o) => stringify(o)).join('---\n'),
  );

  const dir = mkdtempSync(path.join(tmpdir(), 'io-e2e-'));
  const token = await serviceAccountToken(opts.namespace, serviceAccount);
  const kubeconfig = tokenKubeconfig(dir, `system:serviceaccount:${opts.namespace}:${serviceAccount}`, token);
  const healthPort = await freePort();
  const metricsPort = await freePort();
  const env = {
    ...chartEnvironment(objects, opts.namespace),
    // The chart's ":8080"/":8081" are Pod ports; a test process takes free loopback ports.
    HEALTH_PROBE_BIND_ADDRESS: `127.0.0.1:${healthPort}`,
    METRICS_BIND_ADDRESS: `127.0.0.1:${metricsPort}`,
    ...opts.processEnv,
  };
  const proc: OperatorProcess = spawnOperator(env, kubeconfig);
  await eventuallyWhileRunning(
    { name: 'operator', running: proc.running, output: proc.output },
    () => proc.output().includes('starting controllers'),
    { what: 'the operator (as the chart ServiceAccount) to start its controllers', timeoutMs: 60_000 },
  );

  return {
    mode: 'process',
    release: opts.release,
    namespace: opts.namespace,
    fullname,
    serviceAccount,
    objects,
    probeUrl: `http://127.0.0.1:${healthPort}`,
    metricsUrl: `http://127.0.0.1:${metricsPort}`,
    logs: async () => proc.output(),
    uninstall: async () => {
      await proc.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
      for (const o of [...identity].reverse()) {
        await kubectl([
          'delete',
          `${o.kind}/${o.metadata.name}`,
          ...(o.metadata.namespace ? ['-n', o.metadata.namespace] : []),
          '--ignore-not-found',
          '--wait=false',
        ]).catch(() => undefined);
      }
    },
  };
}

async function installWithHelm(opts: InstallOptions, image: string): Promise<OperatorInstall> {
  const i = image.lastIndexOf(':');
  const values = {
    ...opts.values,
    image: { repository: image.slice(0, i), tag: image.slice(i + 1), pullPolicy: 'IfNotPresent' },
  };
  const objects = await renderChart({ ...opts, values });
  const fullname = fullnameOf(objects);
  const helm = (args: string[]) =>
    runOk(helmBin(), ['--kubeconfig', kubeconfigPath(), ...args], { timeoutMs: 360_000 });
  await withValuesFile(values, (file) =>
    helm([
      'install',
      opts.release,
      chartDir,
      '--namespace',
      opts.namespace,
      '--create-namespace',
      '-f',
      file,
      '--wait',
      '--timeout',
      '5m',
    ]),
  );
  const logs = async () =>
    (
      await run(kubectlBin(), [
        '--kubeconfig',
        kubeconfigPath(),
        '-n',
        opts.namespace,
        'logs',
        `deployment/${fullname}`,
        '--all-containers',
      ])
    ).stdout;
  return {
    mode: 'helm',
    release: opts.release,
    namespace: opts.namespace,
    fullname,
    serviceAccount: serviceAccountOf(objects),
    objects,
    logs,
    uninstall: async () => {
      await helm(['uninstall', opts.release, '--namespace', opts.namespace, '--wait']).catch(() => undefined);
    },
  };
}

export { operatorContainer };
