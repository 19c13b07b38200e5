// Runs the kubectl plugin's command line in-process (src/cli/main.ts) with captured output: not a
// terminal, stdin given or a terminal, the environment given.
import { type CliIo, runCli } from '../../src/cli/main.ts';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runPlugin(
  args: string[],
  opts: { stdin?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    stdoutIsTTY: false,
    stdinIsTTY: opts.stdin === undefined,
    readStdin: async () => opts.stdin ?? '',
    env: opts.env ?? {},
  };
  const code = await runCli(args, io);
  return { code, stdout: out.join(''), stderr: err.join('') };
}
