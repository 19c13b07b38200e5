// Starts and stops a real local Kubernetes control plane: etcd, kube-apiserver (HTTPS, RBAC,
// service-account tokens) and kube-controller-manager (garbage collector, namespace, service
// account, token, job controllers). Without a node Pods never run; with `node: true` (root on
// Linux) one real node joins it (node.ts): kubelet, containerd, kube-proxy, kube-scheduler, DNS.
//
// State lives in one folder (default .cluster/state): certificates, etcd data, logs, and
// state.json with ports and pids. Processes are detached, so `cluster:up` returns while they keep
// running; every stop goes by recorded pid, checked against the process's command line.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { imageArchives } from '../images/archives.ts';
import { binPath, buildControlPlane, repoRoot } from './build.ts';
import {
  ensureNodePackages,
  type NodeState,
  nodeAlive,
  nodeApiserverArgs,
  nodeControllers,
  nodeNet,
  nodeUnsupported,
  setupNodeNetwork,
  startNode,
  stopNode,
  teardownNodeNetwork,
} from './node.ts';
import { createPki, issueClientCert, kubeconfigFor, type Pki } from './pki.ts';

/** An audit policy recording the metadata of every request made by one user, and nothing else. */
export function auditPolicyFor(user: string): string {
  return `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    users: [${JSON.stringify(user)}]
  - level: None
`;
}

export interface ControlPlaneOptions {
  /** Folder for all state; default .cluster/state in the repository. */
  stateDir?: string;
  /** Where the admin kubeconfig is written; default .cluster/kubeconfig next to the state folder. */
  kubeconfigPath?: string;
  /** An audit policy (YAML). When given, the API server writes a JSON audit log to stateDir/audit.log. */
  auditPolicy?: string;
  /** Print progress lines (default true). */
  verbose?: boolean;
  /** Start one real node too (root on Linux; see node.ts). */
  node?: boolean;
}

export interface ControlPlaneState {
  stateDir: string;
  kubeconfig: string;
  server: string;
  ports: { etcd: number; etcdPeer: number; apiserver: number };
  pids: { etcd: number; apiserver: number; controllerManager: number };
  auditLog?: string;
  startedAt: string;
  /** Set when the plane has a node: its address, where the API server listens. */
  nodeIp?: string;
  /** The sysctls before the node's network was set up (restored by down, even if the node never started). */
  nodeSysctls?: Record<string, string>;
  node?: NodeState;
  /** With a node: the cluster DNS server (reachable from this machine, through kube-proxy). */
  clusterDns?: string;
}

const defaultStateDir = () => path.join(repoRoot, '.cluster', 'state');
const defaultKubeconfig = (stateDir: string) => path.join(path.dirname(stateDir), 'kubeconfig');
const stateFile = (stateDir: string) => path.join(stateDir, 'state.json');

/** Set by a signal while `up` starts the plane: its waits then stop and `up` undoes the start. */
let startInterruptedBy: NodeJS.Signals | undefined;

/** Children started by this process: their exit must be awaited (a dead child stays a zombie until reaped). */
const children = new Map<number, ChildProcess>();

export function readState(stateDir = defaultStateDir()): ControlPlaneState | undefined {
  const f = stateFile(stateDir);
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as ControlPlaneState;
  } catch {
    return undefined;
  }
}

function pkiOf(stateDir: string): Pki {
  const dir = path.join(stateDir, 'pki');
  const p = (f: string) => path.join(dir, f);
  return {
    dir,
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    saKey: p('sa.key'),
    saPub: p('sa.pub'),
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Alive and not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** True when pid is still the process we started (pids get reused). */
function isOurs(pid: number, binary: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] === binary;
  } catch {
    return false;
  }
}

function startProcess(binary: string, args: string[], logFile: string): number {
  const fd = openSync(logFile, 'a');
  const child = spawn(binary, args, { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`cannot start ${binary}`);
  child.unref();
  children.set(child.pid, child);
  child.on('exit', () => children.delete(child.pid!));
  return child.pid;
}

async function waitExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !isAlive(pid);
}

/** SIGTERM, then SIGKILL after the deadline. Only kills a pid that still runs `binary`. */
export async function stopProcess(pid: number, binary: string, graceMs = 10_000): Promise<void> {
  if (!isAlive(pid) || !isOurs(pid, binary)) return;
  process.kill(pid, 'SIGTERM');
  if (await waitExit(pid, graceMs)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
  await waitExit(pid, 5_000);
}

function httpsGet(
  url: string,
  pki: Pki,
  cred: { cert: string; key: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      url,
      { ca: readFileSync(pki.caCert), cert: cred.cert, key: cred.key, timeout: 2_000, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  pidsToWatch: number[],
) {
  const deadline = Date.now() + timeoutMs;
  let lastErr = '';
  while (Date.now() < deadline) {
    if (startInterruptedBy) throw new Error(`${what}: interrupted by ${startInterruptedBy}`);
    for (const pid of pidsToWatch) {
      if (!isAlive(pid)) throw new Error(`${what}: a control-plane process (pid ${pid}) exited; see its log`);
    }
    try {
      if (await check()) return;
    } catch (err) {
      lastErr = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not ready after ${timeoutMs / 1000}s${lastErr ? ` (${lastErr})` : ''}`);
}

function adminCred(pki: Pki) {
  return issueClientCert(pki, 'local-admin', ['system:masters']);
}

/** True when the recorded control plane answers /readyz. */
export async function isHealthy(state: ControlPlaneState): Promise<boolean> {
  if (![state.pids.etcd, state.pids.apiserver].every(isAlive)) return false;
  if (state.node && !nodeAlive(state.node, isAlive)) return false;
  const pki = pkiOf(state.stateDir);
  try {
    const r = await httpsGet(`${state.server}/readyz`, pki, adminCred(pki));
    return r.status === 200;
  } catch {
    return false;
  }
}

function apiserverArgs(state: ControlPlaneState, pki: Pki): string[] {
  const { stateDir, ports } = state;
  const audit = state.auditLog !== undefined;
  const args = [
    `--etcd-servers=http://127.0.0.1:${ports.etcd}`,
    `--secure-port=${ports.apiserver}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--tls-cert-file=${pki.serverCert}`,
    `--tls-private-key-file=${pki.serverKey}`,
    `--client-ca-file=${pki.caCert}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${pki.saPub}`,
    `--service-account-signing-key-file=${pki.saKey}`,
    '--service-cluster-ip-range=10.0.0.0/24',
    '--authorization-mode=Node,RBAC',
    '--allow-privileged=true',
    '--profiling=false',
    '--v=1',
    // With a node, it listens and advertises on the node's address (later flags win).
    ...(state.nodeIp ? nodeApiserverArgs(pki) : []),
  ];
  if (audit) {
    args.push(
      `--audit-policy-file=${path.join(stateDir, 'audit-policy.yaml')}`,
      `--audit-log-path=${path.join(stateDir, 'audit.log')}`,
      '--audit-log-format=json',
      '--audit-log-maxsize=0',
    );
  }
  return args;
}

async function startApiserverProcess(state: ControlPlaneState): Promise<number> {
  const pki = pkiOf(state.stateDir);
  const pid = startProcess(
    binPath('kube-apiserver'),
    apiserverArgs(state, pki),
    path.join(state.stateDir, 'kube-apiserver.log'),
  );
  // Recorded before it is ready: a `down` meanwhile (a signal during `up`) must find it.
  state.pids.apiserver = pid;
  writeState(state);
  const cred = adminCred(pki);
  await waitFor(
    'kube-apiserver',
    async () => (await httpsGet(`${state.server}/readyz`, pki, cred)).status === 200,
    60_000,
    [pid],
  );
  return pid;
}

function writeState(state: ControlPlaneState) {
  writeFileSync(stateFile(state.stateDir), `${JSON.stringify(state, null, 2)}\n`);
}

/** A request as the local admin (JSON body), for the few writes the plane makes itself. */
function httpsRequest(
  state: ControlPlaneState,
  method: string,
  urlPath: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<{ status: number; body: string }> {
  const pki = pkiOf(state.stateDir);
  const cred = adminCred(pki);
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      `${state.server}${urlPath}`,
      {
        method,
        ca: readFileSync(pki.caCert),
        cert: cred.cert,
        key: cred.key,
        timeout: 10_000,
        agent: false,
        headers: data ? { 'content-type': contentType, 'content-length': Buffer.byteLength(data) } : {},
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

/** Server-side apply of plain manifests (cluster-scoped or namespaced core/apps/rbac kinds) as the admin. */
async function applyManifests(state: ControlPlaneState, objects: unknown[]): Promise<void> {
  const plural: Record<string, string> = {
    ServiceAccount: 'serviceaccounts',
    ConfigMap: 'configmaps',
    Service: 'services',
    Deployment: 'deployments',
    ClusterRole: 'clusterroles',
    ClusterRoleBinding: 'clusterrolebindings',
  };
  for (const o of objects as Array<{
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string };
  }>) {
    const base = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
    const ns = o.metadata.namespace ? `/namespaces/${o.metadata.namespace}` : '';
    const url = `${base}${ns}/${plural[o.kind]}/${o.metadata.name}?fieldManager=local-control-plane&force=true`;
    const r = await httpsRequest(state, 'PATCH', url, o, 'application/apply-patch+yaml');
    if (r.status >= 300)
      throw new Error(`apply ${o.kind} ${o.metadata.name}: ${r.status} ${r.body.slice(0, 300)}`);
  }
}

/** Deletes every Pod at once (grace period 0), namespace by namespace. */
async function deleteAllPods(state: ControlPlaneState): Promise<boolean> {
  const r = await httpsRequest(state, 'GET', '/api/v1/namespaces');
  if (r.status !== 200) return false;
  const names = (JSON.parse(r.body) as { items: Array<{ metadata: { name: string } }> }).items.map(
    (n) => n.metadata.name,
  );
  for (const ns of names) {
    await httpsRequest(state, 'DELETE', `/api/v1/namespaces/${ns}/pods?gracePeriodSeconds=0`);
  }
  return true;
}

/**
 * Starts a control plane, or reuses the one recorded in stateDir when it is healthy (and has a node
 * when one is asked for). A recorded one that is not healthy is stopped and replaced.
 */
export async function up(
  opts: ControlPlaneOptions = {},
): Promise<{ state: ControlPlaneState; reused: boolean }> {
  const stateDir = path.resolve(opts.stateDir ?? defaultStateDir());
  const log = opts.verbose === false ? () => {} : (s: string) => process.stderr.write(`${s}\n`);
  if (opts.node) {
    const why = nodeUnsupported();
    if (why) throw new Error(`--node: ${why}`);
  }
  const existing = readState(stateDir);
  if (existing) {
    const healthy = await isHealthy(existing);
    if (healthy && (!opts.node || existing.node)) return { state: existing, reused: true };
    log(
      healthy
        ? 'the running control plane has no node: replacing it with one that has'
        : 'a recorded control plane is not healthy: replacing it',
    );
    await down({ stateDir, verbose: false });
  }
  await buildControlPlane();
  if (opts.node) ensureNodePackages(log);
  const t0 = Date.now();
  rmSync(stateDir, { recursive: true, force: true });
  mkdirSync(path.join(stateDir, 'pki'), { recursive: true });
  const guard = stopOnSignalWhileStarting();
  try {
    const started = await startPlane(opts, stateDir, log, t0);
    if (guard.signal()) await down({ stateDir, verbose: false });
    guard.exitIfSignalled();
    return started;
  } catch (err) {
    // startPlane stopped what it had started (a signal makes its next wait throw).
    guard.exitIfSignalled();
    throw err;
  } finally {
    guard.release();
  }
}

/**
 * While `up` starts processes, a SIGINT or SIGTERM to a process that handles neither itself
 * (`npm start`, `npm run cluster:up`) stops what was started so far and exits as the signal would:
 * the plane's processes lead process groups of their own, so a terminal's Ctrl-C never reaches
 * them, and they kept running (and the next `npm start` reused them and then left them running).
 * The signal only marks the start interrupted: the next wait throws, `up`'s own error path stops
 * what it started (one `down`, never two at once), then the process exits. A process with handlers
 * of its own (the benchmarks) stops the plane in them.
 */
function stopOnSignalWhileStarting() {
  const installed: Array<[NodeJS.Signals, () => void]> = [];
  startInterruptedBy = undefined;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    if (process.listenerCount(sig) > 0) continue;
    const onSignal = () => {
      if (startInterruptedBy) return; // a second Ctrl-C must not cut the stop short
      process.stderr.write(`${sig}: stopping the control plane being started\n`);
      startInterruptedBy = sig;
    };
    process.on(sig, onSignal);
    installed.push([sig, onSignal]);
  }
  return {
    signal: () => startInterruptedBy,
    exitIfSignalled: () => {
      if (startInterruptedBy) process.exit(128 + osConstants.signals[startInterruptedBy]);
    },
    release: () => {
      for (const [sig, onSignal] of installed) process.removeListener(sig, onSignal);
    },
  };
}

async function startPlane(
  opts: ControlPlaneOptions,
  stateDir: string,
  log: (s: string) => void,
  t0: number,
): Promise<{ state: ControlPlaneState; reused: boolean }> {
  // The node's address must exist before the API server listens on it.
  const sysctls = opts.node ? setupNodeNetwork() : undefined;
  const host = opts.node ? nodeNet.ip : '127.0.0.1';
  let state: ControlPlaneState | undefined;
  try {
    const pki = createPki(path.join(stateDir, 'pki'), opts.node ? { extraIps: [nodeNet.ip] } : {});
    const cred = adminCred(pki);
    const ports = { etcd: await freePort(), etcdPeer: await freePort(), apiserver: await freePort() };
    const server = `https://${host}:${ports.apiserver}`;
    const kubeconfig = path.resolve(opts.kubeconfigPath ?? defaultKubeconfig(stateDir));
    if (opts.auditPolicy) writeFileSync(path.join(stateDir, 'audit-policy.yaml'), opts.auditPolicy);
    const st: ControlPlaneState = {
      stateDir,
      kubeconfig,
      server,
      ports,
      pids: { etcd: 0, apiserver: 0, controllerManager: 0 },
      ...(opts.auditPolicy ? { auditLog: path.join(stateDir, 'audit.log') } : {}),
      startedAt: new Date().toISOString(),
      ...(opts.node ? { nodeIp: nodeNet.ip, nodeSysctls: sysctls, clusterDns: nodeNet.dnsIp } : {}),
    };
    state = st;
    st.pids.etcd = startProcess(
      binPath('etcd'),
      [
        '--name=local',
        `--data-dir=${path.join(stateDir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${ports.etcd}`,
        `--advertise-client-urls=http://127.0.0.1:${ports.etcd}`,
        `--listen-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
        `--initial-cluster=local=http://127.0.0.1:${ports.etcdPeer}`,
        // Throwaway data: skip fsync so tests and benchmarks measure the operator, not the disk.
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
      path.join(stateDir, 'etcd.log'),
    );
    writeState(st);
    st.pids.apiserver = await startApiserverProcess(st);
    writeState(st);
    writeFileSync(kubeconfig, kubeconfigFor(server, readFileSync(pki.caCert, 'utf8'), 'local-admin', cred));
    const kcmConfig = path.join(stateDir, 'controller-manager.kubeconfig');
    writeFileSync(
      kcmConfig,
      kubeconfigFor(
        server,
        readFileSync(pki.caCert, 'utf8'),
        'system:kube-controller-manager',
        issueClientCert(pki, 'system:kube-controller-manager'),
      ),
    );
    const controllers = [
      'garbagecollector',
      'namespace',
      'serviceaccount',
      'serviceaccount-token',
      'job',
      'clusterrole-aggregation',
      'root-ca-cert-publisher',
      ...(opts.node ? nodeControllers : []),
    ];
    st.pids.controllerManager = startProcess(
      binPath('kube-controller-manager'),
      [
        `--kubeconfig=${kcmConfig}`,
        `--authentication-kubeconfig=${kcmConfig}`,
        `--authorization-kubeconfig=${kcmConfig}`,
        `--controllers=${controllers.join(',')}`,
        `--service-account-private-key-file=${pki.saKey}`,
        `--root-ca-file=${pki.caCert}`,
        '--use-service-account-credentials=true',
        '--leader-elect=false',
        '--secure-port=0',
        '--v=1',
      ],
      path.join(stateDir, 'kube-controller-manager.log'),
    );
    writeState(st);
    // The controller manager is ready when the default namespace has its ServiceAccount.
    await waitFor(
      'kube-controller-manager',
      async () =>
        (await httpsGet(`${server}/api/v1/namespaces/default/serviceaccounts/default`, pki, cred)).status ===
        200,
      60_000,
      [st.pids.controllerManager],
    );
    if (opts.node && sysctls) {
      log(`control plane ready in ${((Date.now() - t0) / 1000).toFixed(1)}s; starting the node`);
      st.node = await startNode(
        {
          stateDir,
          pki,
          server,
          caPem: readFileSync(pki.caCert, 'utf8'),
          freePort,
          startProcess,
          waitFor,
          get: (p) => httpsRequest(st, 'GET', p),
          apply: (objects) => applyManifests(st, objects),
          images: imageArchives(),
          log,
        },
        sysctls,
        (n) => {
          st.node = n;
          writeState(st);
        },
      );
      writeState(st);
    }
  } catch (err) {
    if (state) {
      writeState(state);
      await down({ stateDir, verbose: false });
    } else if (sysctls) teardownNodeNetwork(sysctls);
    throw err;
  }
  log(
    `control plane ready in ${((Date.now() - t0) / 1000).toFixed(1)}s at ${state.server}${
      state.node ? ` with node ${nodeNet.name}` : ''
    }; kubeconfig: ${state.kubeconfig}`,
  );
  return { state, reused: false };
}

/** Stops every recorded process (the node first, then controller manager, API server, etcd) and removes the state. */
export async function down(opts: { stateDir?: string; verbose?: boolean } = {}): Promise<boolean> {
  const stateDir = path.resolve(opts.stateDir ?? defaultStateDir());
  const state = readState(stateDir);
  if (!state) return false;
  const log = opts.verbose === false ? () => {} : (s: string) => process.stderr.write(`${s}\n`);
  // Nothing recreates or schedules Pods while the node drains.
  await stopProcess(state.pids.controllerManager, binPath('kube-controller-manager'));
  if (state.node) {
    await stopNode(state.node, {
      stopProcess,
      isAlive,
      deleteAllPods: () => deleteAllPods(state),
      log,
    });
  } else if (state.nodeIp) {
    // Stopped while the node was being set up: its network is all there is to undo.
    teardownNodeNetwork(state.nodeSysctls ?? {});
  }
  // Order matters: with etcd gone first, kube-apiserver retries etcd and ignores SIGTERM.
  await stopProcess(state.pids.apiserver, binPath('kube-apiserver'));
  await stopProcess(state.pids.etcd, binPath('etcd'));
  rmSync(stateDir, { recursive: true, force: true });
  if (existsSync(state.kubeconfig)) rmSync(state.kubeconfig);
  log('control plane stopped');
  return true;
}

/** Stops kube-apiserver (etcd keeps its data), for tests of watch recovery. */
export async function stopApiserver(state: ControlPlaneState): Promise<void> {
  await stopProcess(state.pids.apiserver, binPath('kube-apiserver'));
}

/** Starts kube-apiserver again on the same port and waits for /readyz. */
export async function startApiserver(state: ControlPlaneState): Promise<void> {
  state.pids.apiserver = await startApiserverProcess(state);
  writeState(state);
}

/** Writes a kubeconfig for a client-certificate user (CN=user, O=groups) and returns its path. */
export function userKubeconfig(state: ControlPlaneState, user: string, groups: string[] = []): string {
  const pki = pkiOf(state.stateDir);
  const file = path.join(state.stateDir, `kubeconfig-${user.replace(/[^a-zA-Z0-9_.-]/g, '_')}`);
  writeFileSync(
    file,
    kubeconfigFor(state.server, readFileSync(pki.caCert, 'utf8'), user, issueClientCert(pki, user, groups)),
  );
  return file;
}
