// Starts and stops a real local Kubernetes control plane: etcd, kube-apiserver (HTTPS, RBAC,
// service-account tokens) and kube-controller-manager (garbage collector, namespace, service
// account, token, job controllers). No kubelet: Pods never run.
//
// State lives in one folder (default .cluster/state): certificates, etcd data, logs, and
// state.json with ports and pids. Processes are detached, so `cluster:up` returns while they keep
// running; every stop goes by recorded pid, checked against the process's command line.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { binPath, buildControlPlane, repoRoot } from './build.ts';
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
}

export interface ControlPlaneState {
  stateDir: string;
  kubeconfig: string;
  server: string;
  ports: { etcd: number; etcdPeer: number; apiserver: number };
  pids: { etcd: number; apiserver: number; controllerManager: number };
  auditLog?: string;
  startedAt: string;
}

const defaultStateDir = () => path.join(repoRoot, '.cluster', 'state');
const defaultKubeconfig = (stateDir: string) => path.join(path.dirname(stateDir), 'kubeconfig');
const stateFile = (stateDir: string) => path.join(stateDir, 'state.json');

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
  const pki = pkiOf(state.stateDir);
  try {
    const r = await httpsGet(`${state.server}/readyz`, pki, adminCred(pki));
    return r.status === 200;
  } catch {
    return false;
  }
}

function apiserverArgs(
  stateDir: string,
  pki: Pki,
  ports: ControlPlaneState['ports'],
  audit: boolean,
): string[] {
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
    apiserverArgs(state.stateDir, pki, state.ports, state.auditLog !== undefined),
    path.join(state.stateDir, 'kube-apiserver.log'),
  );
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

/**
 * Starts a control plane, or reuses the one recorded in stateDir when it is healthy.
 * A recorded one that is not healthy is stopped and replaced.
 */
export async function up(
  opts: ControlPlaneOptions = {},
): Promise<{ state: ControlPlaneState; reused: boolean }> {
  const stateDir = path.resolve(opts.stateDir ?? defaultStateDir());
  const log = opts.verbose === false ? () => {} : (s: string) => process.stderr.write(`${s}\n`);
  const existing = readState(stateDir);
  if (existing) {
    if (await isHealthy(existing)) return { state: existing, reused: true };
    log('a recorded control plane is not healthy: replacing it');
    await down({ stateDir, verbose: false });
  }
  await buildControlPlane();
  const t0 = Date.now();
  rmSync(stateDir, { recursive: true, force: true });
  mkdirSync(path.join(stateDir, 'pki'), { recursive: true });
  const pki = createPki(path.join(stateDir, 'pki'));
  const cred = adminCred(pki);
  const ports = { etcd: await freePort(), etcdPeer: await freePort(), apiserver: await freePort() };
  const server = `https://127.0.0.1:${ports.apiserver}`;
  const kubeconfig = path.resolve(opts.kubeconfigPath ?? defaultKubeconfig(stateDir));
  if (opts.auditPolicy) writeFileSync(path.join(stateDir, 'audit-policy.yaml'), opts.auditPolicy);
  const state: ControlPlaneState = {
    stateDir,
    kubeconfig,
    server,
    ports,
    pids: { etcd: 0, apiserver: 0, controllerManager: 0 },
    ...(opts.auditPolicy ? { auditLog: path.join(stateDir, 'audit.log') } : {}),
    startedAt: new Date().toISOString(),
  };
  try {
    state.pids.etcd = startProcess(
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
    writeState(state);
    state.pids.apiserver = await startApiserverProcess(state);
    writeState(state);
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
    state.pids.controllerManager = startProcess(
      binPath('kube-controller-manager'),
      [
        `--kubeconfig=${kcmConfig}`,
        `--authentication-kubeconfig=${kcmConfig}`,
        `--authorization-kubeconfig=${kcmConfig}`,
        '--controllers=garbagecollector,namespace,serviceaccount,serviceaccount-token,job,clusterrole-aggregation,root-ca-cert-publisher',
        `--service-account-private-key-file=${pki.saKey}`,
        `--root-ca-file=${pki.caCert}`,
        '--use-service-account-credentials=true',
        '--leader-elect=false',
        '--secure-port=0',
        '--v=1',
      ],
      path.join(stateDir, 'kube-controller-manager.log'),
    );
    writeState(state);
    // The controller manager is ready when the default namespace has its ServiceAccount.
    await waitFor(
      'kube-controller-manager',
      async () =>
        (await httpsGet(`${server}/api/v1/namespaces/default/serviceaccounts/default`, pki, cred)).status ===
        200,
      60_000,
      [state.pids.controllerManager],
    );
  } catch (err) {
    await down({ stateDir, verbose: false });
    throw err;
  }
  log(
    `control plane ready in ${((Date.now() - t0) / 1000).toFixed(1)}s at ${server}; kubeconfig: ${kubeconfig}`,
  );
  return { state, reused: false };
}

/** Stops every recorded process (controller manager, API server, then etcd) and removes the state. */
export async function down(opts: { stateDir?: string; verbose?: boolean } = {}): Promise<boolean> {
  const stateDir = path.resolve(opts.stateDir ?? defaultStateDir());
  const state = readState(stateDir);
  if (!state) return false;
  // Order matters: with etcd gone first, kube-apiserver retries etcd and ignores SIGTERM.
  await stopProcess(state.pids.controllerManager, binPath('kube-controller-manager'));
  await stopProcess(state.pids.apiserver, binPath('kube-apiserver'));
  await stopProcess(state.pids.etcd, binPath('etcd'));
  rmSync(stateDir, { recursive: true, force: true });
  if (existsSync(state.kubeconfig)) rmSync(state.kubeconfig);
  if (opts.verbose !== false) process.stderr.write('control plane stopped\n');
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
