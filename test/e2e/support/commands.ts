// Running the command-line tools the e2e suite drives (helm, kubectl, and for kind: docker, kind),
// with a deadline and the output kept for the failure message.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { binPath } from '../../../tools/controlplane/build.ts';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export class CommandError extends Error {
  override name = 'CommandError';
  readonly code = 'CommandFailed';
  readonly result: RunResult;

  constructor(command: string, result: RunResult, cause?: unknown) {
    const tail = (s: string) => s.trim().split('\n').slice(-30).join('\n');
    super(
      `${command} exited with ${result.code ?? 'a signal'}\n--- stderr\n${tail(result.stderr)}\n--- stdout\n${tail(result.stdout)}`,
      { cause },
    );
    this.result = result;
  }
}

export interface RunningCommand {
  /** Sends a signal to this command's own process (never to anything else). */
  kill(signal?: NodeJS.Signals): void;
  /** What it wrote so far. */
  output(): { stdout: string; stderr: string };
  /** Whether it has not exited yet. */
  running(): boolean;
  done: Promise<RunResult>;
}

/** Starts a command (killed at the deadline); `done` resolves with its exit code and output. */
export function start(cmd: string, args: string[], opts: RunOptions = {}): RunningCommand {
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<RunResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${opts.timeoutMs} ms)`;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 120_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`could not run ${cmd}: ${err.message}`, { cause: err }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  child.stdin.end(opts.input ?? '');
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    kill: (signal = 'SIGTERM') => {
      if (running()) child.kill(signal);
    },
    output: () => ({ stdout, stderr }),
    running,
    done,
  };
}

/** Runs a command to its end (killed at the deadline) and returns its exit code and output. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return start(cmd, args, opts).done;
}

/** Runs a command and fails with its output unless it exits 0. */
export async function runOk(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new CommandError(`${cmd} ${args.join(' ')}`, r);
  return r;
}

/** The project's own build of a tool (tools/controlplane), else the one on PATH. */
function tool(name: 'helm' | 'kubectl'): string {
  const own = binPath(name);
  return existsSync(own) ? own : name;
}

export const helmBin = (): string => tool('helm');
export const kubectlBin = (): string => tool('kubectl');
