// Benchmark harness: a local control plane of its own with an audit log that records the
// operator's requests (the operator runs as its own process with its own client certificate, so
// the counts are the API server's, not ours), and helpers to run scenarios and print rows.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { installCrds } from '../src/api/install.ts';
import { KubeClient } from '../src/kube/client.ts';
import { Kube } from '../src/kube/objects.ts';
import type { KubeObject } from '../src/kube/types.ts';
import { probePort } from '../test/support/operator-process.ts';
import {
  auditPolicyFor,
  type ControlPlaneState,
  down,
  up,
  userKubeconfig,
} from '../tools/controlplane/controlplane.ts';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const operatorUser = 'integration-operator-bench';

const auditPolicy = auditPolicyFor(operatorUser);

export function progress(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/**
 * For a command-line run (`npm run bench`, `npm run chaos`): on Ctrl-C or SIGTERM, stop what the
 * run started before exiting as the signal would. The control plane's processes run in a process
 * group of their own (the terminal's Ctrl-C does not reach them) and an operator process outlives
 * a SIGTERM sent to its parent alone: without this, both kept running after the run was gone.
 * Returns whether a signal came (the run's own errors after it are the shutdown's, not news).
 */
export function stopOnSignal(stateDir: string): () => boolean {
  let signalled = false;
  const onSignal = (sig: 'SIGINT' | 'SIGTERM') => {
    signalled = true;
    progress(`${sig}: stopping the operator processes and the control plane of this run`);
    const stopChildren = () => {
      for (const pid of childPids()) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    };
    stopChildren();
    void down({ stateDir, verbose: false })
      .catch((err: unknown) => progress(`stopping the control plane failed: ${String(err)}`))
      .finally(() => {
        // Once more: a run still going (the chaos run restarts the operator it kills) may have
        // started one meanwhile.
        stopChildren();
        process.exit(128 + constants.signals[sig]);
      });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return () => signalled;
}

/**
 * This process's children in its own process group (from /proc): the operator processes. The
 * control plane's lead groups of their own and are left to `down`, which stops them in order.
 */
function childPids(): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const [, ppid, pgrp] = statFields(Number(d)) ?? []; // none: exited meanwhile
    if (Number(ppid) === process.pid && Number(pgrp) !== Number(d)) out.push(Number(d));
  }
  return out;
}

export interface Bench {
  state: ControlPlaneState;
  kube: Kube;
  client: KubeClient;
  operatorKubeconfig: string;
  close(): Promise<void>;
}

export const benchStateDir = path.join(root, '.cluster', 'bench-state');

/** Starts a fresh control plane with auditing, installs the CRDs, prepares the operator identity. */
export async function startBench(): Promise<Bench> {
  const stateDir = benchStateDir;
  progress('starting a local control plane with an audit log of the operator requests');
  await down({ stateDir, verbose: false });
  const { state } = await up({
    stateDir,
    auditPolicy,
    verbose: false,
    kubeconfigPath: path.join(root, '.cluster', 'bench-kubeconfig'),
  });
  const kc = new KubeConfig();
  kc.loadFromFile(state.kubeconfig);
  const client = new KubeClient({ kubeConfig: kc, qps: 0, maxSockets: 64 });
  const kube = new Kube(client);
  await installCrds(kube, { manager: 'bench' });
  await kube.apply({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'integration-operator-bench' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: operatorUser }],
  } as unknown as KubeObject);
  const operatorKubeconfig = userKubeconfig(state, operatorUser);
  return {
    state,
    kube,
    client,
    operatorKubeconfig,
    close: async () => {
      client.close();
      await down({ stateDir, verbose: false });
    },
  };
}

/** A client with the operator's own identity (audited like the operator's requests). */
export function operatorKube(bench: Bench): { kube: Kube; close(): void } {
  const kc = new KubeConfig();
  kc.loadFromFile(bench.operatorKubeconfig);
  const client = new KubeClient({ kubeConfig: kc, qps: 0, maxSockets: 32 });
  return { kube: new Kube(client), close: () => client.close() };
}

/**
 * The operator as users run it: the built JavaScript (the image runs dist/main.js with
 * `--max-semi-space-size=2 --optimize-for-size`, which BENCH_NODE_ARGS defaults to), built once per
 * benchmark run into .cache/bench-dist. (Running src/main.ts through Node's type stripping costs
 * about 40 MiB more resident memory.)
 */
let built: string | undefined;
function operatorEntry(): string {
  if (built) return built;
  const out = path.join(root, '.cache', 'bench-dist');
  progress('building the operator (tsc) for the benchmark');
  execFileSync(
    path.join(root, 'node_modules', '.bin', 'tsc'),
    ['-p', 'tsconfig.build.json', '--outDir', out],
    { cwd: root, stdio: 'inherit' },
  );
  built = path.join(out, 'main.js');
  return built;
}

export interface OperatorProc {
  proc: ChildProcess;
  pid: number;
  metricsPort: number;
  stop(): Promise<void>;
  /** Peak resident set (KiB) and CPU seconds so far. */
  usage(): { peakRssMiB: number; cpuSeconds: number };
  output(): string;
}

const clockTicks = 100;

export async function startOperatorProcess(
  bench: Bench,
  env: Record<string, string> = {},
): Promise<OperatorProc> {
  // probePort() is below the ephemeral range; still, on a busy machine another process may hold
  // it: then try another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOperatorOnPort(bench, env, probePort());
    } catch (err) {
      if (!(err instanceof PortInUseError) || attempt >= 5) throw err;
    }
  }
}

class PortInUseError extends Error {
  override name = 'PortInUseError';
}

async function startOperatorOnPort(
  bench: Bench,
  env: Record<string, string>,
  metricsPort: number,
): Promise<OperatorProc> {
  const proc = spawn(
    path.join(root, 'node_modules', '.bin', 'node'),
    [
      ...(process.env.BENCH_NODE_ARGS ?? '--max-semi-space-size=2 --optimize-for-size')
        .split(' ')
        .filter(Boolean),
      ...heapSnapshotArgs(),
      operatorEntry(),
    ],
    {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        KUBECONFIG: bench.operatorKubeconfig,
        LOG_LEVEL: 'warn',
        ...(process.env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : {}),
        HEALTH_PROBE_BIND_ADDRESS: `127.0.0.1:${metricsPort}`,
        METRICS_BIND_ADDRESS: `127.0.0.1:${metricsPort}`,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => proc.on('exit', () => r()));
  const pid = proc.pid!;
  // ready when /readyz answers
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
      if (res.ok) break;
    } catch {
      // not yet
    }
    if (proc.exitCode !== null && out.includes('EADDRINUSE')) throw new PortInUseError(out);
    if (Date.now() > deadline) throw new Error(`operator not ready:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    proc,
    pid,
    metricsPort,
    output: () => out,
    usage: () => {
      try {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
        return { peakRssMiB: Math.round(hwm / 1024), cpuSeconds: Math.round(cpuSeconds(pid) * 10) / 10 };
      } catch {
        return { peakRssMiB: 0, cpuSeconds: 0 };
      }
    },
    stop: async () => {
      if (proc.exitCode === null && process.env.BENCH_HEAP_SNAPSHOT_DIR) await heapSnapshot(proc);
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * BENCH_HEAP_SNAPSHOT_DIR=<dir>: before the operator of a scenario stops, it writes a heap snapshot
 * there (Node's --heapsnapshot-signal; open it in Chrome DevTools, Memory tab).
 */
export function heapSnapshotArgs(): string[] {
  const dir = process.env.BENCH_HEAP_SNAPSHOT_DIR;
  return dir ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`] : [];
}

async function heapSnapshot(proc: ChildProcess): Promise<void> {
  const dir = process.env.BENCH_HEAP_SNAPSHOT_DIR as string;
  const before = new Set(readdirSync(dir));
  proc.kill('SIGUSR2');
  progress('writing a heap snapshot of the operator');
  const deadline = Date.now() + 120_000;
  let last = -1;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    const file = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (!file) continue;
    const size = statSync(path.join(dir, file)).size;
    if (size > 0 && size === last) {
      progress(`heap snapshot: ${path.join(dir, file)} (${Math.round(size / 2 ** 20)} MiB)`);
      return;
    }
    last = size;
  }
}

/**
 * The fields of /proc/<pid>/stat after the command name (state, ppid, pgrp, ...: field 3 onwards
 * of proc(5)), or undefined when the process is gone.
 */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** CPU seconds used so far by a process (any pid); 0 when it is gone. */
export function cpuSeconds(pid: number): number {
  const f = statFields(pid);
  return f ? (Number(f[11]) + Number(f[12])) / clockTicks : 0;
}

/** Sum of a counter in the operator's /metrics (all label sets), optionally filtered by a label. */
export async function scrapeCounter(op: OperatorProc, name: string, labelFilter?: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${op.metricsPort}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    if (labelFilter && !line.includes(labelFilter)) continue;
    const v = Number(line.split(' ').at(-1));
    if (Number.isFinite(v)) sum += v;
  }
  return sum;
}

export interface AuditCounts {
  requests: number;
  writes: number;
  reads: number;
  byVerb: Record<string, number>;
  /** Keyed by verb and resource (with subresource): `patch plugs/status`, `create jobs`. */
  byResource: Record<string, number>;
  /** Identity (the operator itself, or the ServiceAccount it impersonated) -> "verb resource" -> count. */
  byIdentity: Record<string, Record<string, number>>;
}

/**
 * The requests of an audit count per unit of work (per coupling, per update), by verb and resource,
 * largest first: lines like `  1.00  patch plugs/status`.
 */
export function perUnit(counts: AuditCounts, n: number): string[] {
  return Object.entries(counts.byResource)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, v]) => `${(v / n).toFixed(2).padStart(7)}  ${k}`);
}

/** Counts the operator's requests in the audit log from byte offset `from` (ResponseComplete stage). */
export async function auditCounts(
  state: ControlPlaneState,
  from = 0,
): Promise<AuditCounts & { offset: number }> {
  const file = state.auditLog!;
  const counts: AuditCounts = {
    requests: 0,
    writes: 0,
    reads: 0,
    byVerb: {},
    byResource: {},
    byIdentity: {},
  };
  if (!existsSync(file)) return { ...counts, offset: 0 };
  const size = statSync(file).size;
  const rl = createInterface({
    input: createReadStream(file, { start: from, end: Math.max(from, size - 1) }),
  });
  for await (const line of rl) {
    if (!line.trim()) continue;
    let ev: {
      stage?: string;
      verb?: string;
      user?: { username?: string };
      impersonatedUser?: { username?: string };
      objectRef?: { resource?: string; subresource?: string };
    };
    try {
      ev = JSON.parse(line);
    } catch {
      continue;
    }
    if (ev.user?.username !== operatorUser || ev.stage !== 'ResponseComplete') continue;
    const verb = ev.verb ?? '?';
    if (verb === 'watch') continue;
    counts.requests++;
    counts.byVerb[verb] = (counts.byVerb[verb] ?? 0) + 1;
    const res = `${ev.objectRef?.resource ?? '?'}${ev.objectRef?.subresource ? `/${ev.objectRef.subresource}` : ''}`;
    counts.byResource[`${verb} ${res}`] = (counts.byResource[`${verb} ${res}`] ?? 0) + 1;
    const who = ev.impersonatedUser?.username ?? 'operator';
    const mine = counts.byIdentity[who] ?? {};
    mine[`${verb} ${res}`] = (mine[`${verb} ${res}`] ?? 0) + 1;
    counts.byIdentity[who] = mine;
    if (['create', 'update', 'patch', 'delete', 'deletecollection'].includes(verb)) counts.writes++;
    else counts.reads++;
  }
  return { ...counts, offset: size };
}

/** Creates objects with bounded concurrency. */
export async function createAll(kube: Kube, objs: KubeObject[], concurrency = 32): Promise<void> {
  let i = 0;
  const worker = async () => {
    while (i < objs.length) {
      const o = objs[i++]!;
      await kube.create(o);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

export interface Row {
  scenario: string;
  [k: string]: string | number;
}

export function printRows(rows: Row[]): void {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const width = (k: string) => Math.max(k.length, ...rows.map((r) => String(r[k] ?? '').length));
  const line = (vals: string[]) => `| ${vals.map((v, i) => v.padEnd(width(keys[i]!))).join(' | ')} |`;
  console.log(line(keys));
  console.log(`|${keys.map((k) => '-'.repeat(width(k) + 2)).join('|')}|`);
  for (const r of rows) console.log(line(keys.map((k) => String(r[k] ?? ''))));
}

export function saveResult(name: string, data: unknown): string {
  const dir = path.join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}
