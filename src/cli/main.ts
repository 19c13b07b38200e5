// kubectl-integration: the kubectl plugin of the integration operator (`kubectl integration ...`).
//   trace plug|socket NAME   walks a coupling on the cluster, with the user's own rights
//   check [FILE|DIR|-]...    validates Plug/Socket manifests offline
// bin/kubectl-integration.js launches it (src/cli/kubectl-integration.ts); tests call runCli.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { KubeClient } from '../kube/client.ts';
import {
  inClusterAvailable,
  inClusterConnection,
  type KubeConnection,
  kubeconfigConnection,
  kubeconfigFiles,
} from '../kube/connection.ts';
import { Kube } from '../kube/objects.ts';
import { type CheckReport, checkManifests, formatProblem, type ManifestSource } from './check.ts';
import { type TraceOptions, tracePlug, traceSocket } from './trace.ts';
import { plugTraceTree, renderTree, socketTraceTree } from './trace-view.ts';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Whether stdout is a terminal (colours, and reading manifests from stdin only when it is not). */
  stdoutIsTTY: boolean;
  stdinIsTTY: boolean;
  readStdin(): Promise<string>;
  env: NodeJS.ProcessEnv;
}

export const USAGE = `kubectl integration: trace and check Plugs and Sockets (integration.rock8s.com)

usage:
  kubectl integration trace plug NAME   [-n NAMESPACE] [-o json|yaml] [--events N]
  kubectl integration trace socket NAME [-n NAMESPACE] [-o json|yaml] [--events N]
  kubectl integration check [FILE|DIR|-]... [-R] [-n NAMESPACE] [-o json|yaml]

trace  walks a coupling on the cluster with your own rights: the object's conditions, the Socket
       (or why the Plug is not coupled, with the socket's rule that refused it), the lifecycle
       events performed on each side, every object applied for the coupling with its live state
       (a Job's result and its failing container's last lines, a Pod's phase and readiness), the
       apparatus, and the latest Warning Events of each. For a Socket: its plugs, coupled or
       waiting, grouped by reason. What you may not read shows as "forbidden".
check  validates Plug, Socket and DeferredResource manifests offline (no cluster): the CRD schemas,
       the operator's rules (when/do values, template dialects and syntax, interface keys the
       config must provide); other kinds are skipped. Reads stdin when no file is named and stdin
       is not a terminal. Exit code 1 when it finds an error.

flags:
  --kubeconfig FILE      kubeconfig file (default: KUBECONFIG, else ~/.kube/config, else in-cluster)
  --context NAME         kubeconfig context (default: its current context)
  -n, --namespace NAME   namespace (default: the context's, else "default")
  -o, --output FORMAT    json or yaml (default: a tree, coloured on a terminal unless NO_COLOR is set)
  --events N             trace: Warning Events shown per object (default 3; 0: none)
  -R, --recursive        check: read directories recursively
  -h, --help             this text
`;

class UsageError extends Error {
  override name = 'UsageError';
  readonly code = 'Usage';
}

function parse(args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        kubeconfig: { type: 'string' },
        context: { type: 'string' },
        namespace: { type: 'string', short: 'n' },
        output: { type: 'string', short: 'o' },
        events: { type: 'string' },
        recursive: { type: 'boolean', short: 'R' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

type Parsed = ReturnType<typeof parse>;

function outputFormat(values: Parsed['values']): 'tree' | 'json' | 'yaml' {
  const o = values.output;
  if (o === undefined) return 'tree';
  if (o === 'json' || o === 'yaml') return o;
  throw new UsageError(`--output ${o}: expected json or yaml`);
}

function serialise(data: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(data, null, 2)}\n` : stringify(data);
}

/** The user's cluster, as kubectl finds it: --kubeconfig, KUBECONFIG, ~/.kube/config, or in-cluster. */
async function userConnection(values: Parsed['values'], env: NodeJS.ProcessEnv): Promise<KubeConnection> {
  const files = kubeconfigFiles(values.kubeconfig, env);
  const explicit = Boolean(values.kubeconfig || env.KUBECONFIG);
  const home = files.length === 1 && !explicit && !existsFile(files[0] ?? '');
  if (home && inClusterAvailable(env)) return inClusterConnection(env);
  return kubeconfigConnection(files, { context: values.context });
}

function existsFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

async function trace(positionals: string[], values: Parsed['values'], io: CliIo): Promise<number> {
  const [what, name, ...extra] = positionals;
  if ((what !== 'plug' && what !== 'socket') || !name || extra.length)
    throw new UsageError('trace needs `plug NAME` or `socket NAME`');
  const format = outputFormat(values);
  const events = values.events === undefined ? 3 : Number(values.events);
  if (!Number.isInteger(events) || events < 0)
    throw new UsageError(`--events ${values.events}: expected a whole number`);
  const connection = await userConnection(values, io.env);
  const namespace = values.namespace || connection.namespace || 'default';
  const client = new KubeClient({
    connection,
    qps: 50,
    burst: 100,
    maxSockets: 8,
    userAgent: 'kubectl-integration',
  });
  try {
    const opts: TraceOptions = { events };
    const kube = new Kube(client);
    const result =
      what === 'plug'
        ? await tracePlug(kube, namespace, name, opts)
        : await traceSocket(kube, namespace, name, opts);
    const root = result.kind === 'PlugTrace' ? result.plug : result.socket;
    if (format !== 'tree') io.stdout(serialise(result, format));
    else {
      const colour = io.stdoutIsTTY && !io.env.NO_COLOR;
      const tree = result.kind === 'PlugTrace' ? plugTraceTree(result) : socketTraceTree(result);
      io.stdout(renderTree(tree, colour));
    }
    if (root.access === 'found') return 0;
    const why =
      root.access === 'missing' ? 'not found' : root.access === 'forbidden' ? 'forbidden' : root.message;
    io.stderr(`error: ${root.ref.kind} ${namespace}/${name}: ${why}\n`);
    return 1;
  } finally {
    client.close();
  }
}

const MANIFEST = /\.(ya?ml|json)$/i;

function manifestFiles(target: string, recursive: boolean): string[] {
  if (!statSync(target).isDirectory()) return [target];
  return readdirSync(target, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => {
      const full = path.join(target, e.name);
      if (e.isDirectory()) return recursive ? manifestFiles(full, true) : [];
      return MANIFEST.test(e.name) ? [full] : [];
    });
}

async function check(positionals: string[], values: Parsed['values'], io: CliIo): Promise<number> {
  const format = outputFormat(values);
  const targets = positionals.length ? positionals : io.stdinIsTTY ? [] : ['-'];
  if (targets.length === 0) throw new UsageError('check needs files, directories or - (stdin)');
  const sources: ManifestSource[] = [];
  const unreadable: string[] = [];
  for (const t of targets) {
    if (t === '-') {
      sources.push({ file: '-', text: await io.readStdin() });
      continue;
    }
    try {
      for (const file of manifestFiles(t, values.recursive ?? false))
        sources.push({ file, text: readFileSync(file, 'utf8') });
    } catch (err) {
      unreadable.push(
        `${t}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`,
      );
    }
  }
  const report: CheckReport = checkManifests(sources, {
    ...(values.namespace ? { namespace: values.namespace } : {}),
  });
  for (const u of unreadable)
    report.problems.unshift({
      file: u.split(': ')[0] ?? u,
      severity: 'error',
      message: u.slice(u.indexOf(': ') + 2),
    });
  const errors = report.problems.filter((p) => p.severity === 'error').length;
  const warnings = report.problems.length - errors;
  if (format !== 'tree')
    io.stdout(serialise({ kind: 'CheckReport', files: sources.length, ...report, errors, warnings }, format));
  else {
    for (const p of report.problems) io.stdout(`${formatProblem(p)}\n`);
    io.stdout(
      `${sources.length} file${sources.length === 1 ? '' : 's'}, ${report.checked} Plug/Socket/DeferredResource document${report.checked === 1 ? '' : 's'} checked, ${report.skipped} other${report.skipped === 1 ? '' : 's'} skipped: ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}\n`,
    );
  }
  return errors > 0 ? 1 : 0;
}

/** Runs the command line; resolves to the exit code (0 ok, 1 failed or found errors, 2 usage). */
export async function runCli(args: string[], io: CliIo): Promise<number> {
  try {
    const { values, positionals } = parse(args);
    const [command, ...rest] = positionals;
    if (values.help || command === 'help' || command === undefined) {
      io.stdout(USAGE);
      return command === undefined && !values.help ? 2 : 0;
    }
    if (command === 'trace') return await trace(rest, values, io);
    if (command === 'check') return await check(rest, values, io);
    throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`error: ${err.message}\nrun \`kubectl integration --help\` for usage\n`);
      return 2;
    }
    io.stderr(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

/** The process's own streams. */
export function processIo(): CliIo {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    stdoutIsTTY: process.stdout.isTTY === true,
    stdinIsTTY: process.stdin.isTTY === true,
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    env: process.env,
  };
}
