// The operator as its own process, for tests and benchmarks (no vitest here: bench/ imports it).
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface OperatorProcess {
  proc: ChildProcess;
  output(): string;
  /** Whether it has not exited yet. */
  running(): boolean;
  kill(signal?: NodeJS.Signals): Promise<void>;
  exited: Promise<number | null>;
}

/**
 * A port for an operator's probe or metrics server that the caller must know in advance: random,
 * below Linux's ephemeral range (32768-60999 by default). Outgoing connections and every server
 * bound to port 0 take their ports from that range, so a pick inside it can be in use by then
 * (a chaos run once failed with EADDRINUSE on 39778); below it, only another such pick can collide.
 */
export function probePort(): number {
  return 10_000 + Math.floor(Math.random() * 20_000);
}

/**
 * The address the operator's probe and metrics server bound, from its log (text or JSON, level info
 * or lower): with port 0 the kernel picks a free port, so nothing can collide with it.
 */
export function servingAddress(output: string): string | undefined {
  return /serving probes and metrics[^\n]*?address(?:=|":")([^\s"]+)/.exec(output)?.[1];
}

/**
 * Runs `node src/main.ts` as its own process (the way a Deployment would, minus the image), with
 * only PATH and HOME of this environment. `keepChars` bounds the output kept (the newest part).
 */
export function spawnOperatorProcess(
  env: Record<string, string>,
  kubeconfig: string,
  keepChars = Number.POSITIVE_INFINITY,
): OperatorProcess {
  const node = path.join(repoRoot, 'node_modules', '.bin', 'node');
  const proc = spawn(node, [path.join(repoRoot, 'src', 'main.ts')], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      KUBECONFIG: kubeconfig,
      LOG_FORMAT: 'text',
      HEALTH_PROBE_BIND_ADDRESS: '127.0.0.1:0',
      METRICS_BIND_ADDRESS: '127.0.0.1:0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > keepChars) out = out.slice(-keepChars);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const running = () => proc.exitCode === null && proc.signalCode === null;
  return {
    proc,
    output: () => out,
    running,
    exited,
    kill: async (signal = 'SIGTERM') => {
      if (!running()) return;
      proc.kill(signal);
      await exited;
    },
  };
}
