// Builds the local control plane (kube-apiserver, kube-controller-manager, kubectl, etcd, helm) and
// the parts of its node (kubelet, kube-scheduler, kube-proxy, CoreDNS, the pause binary) from the Go
// modules in this folder and in tools/coredns into .cluster/bin. A stamp file holding the hash of go.mod,
// go.sum and this script makes a rebuild a no-op when nothing changed; Go's own build cache makes
// a rebuild after a change (or in a fresh clone on the same machine) a link step only.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');

/** Where the binaries live. CLUSTER_BIN_DIR lets several checkouts share one build. */
export function binDir(): string {
  return process.env.CLUSTER_BIN_DIR
    ? path.resolve(process.env.CLUSTER_BIN_DIR)
    : path.join(repoRoot, '.cluster', 'bin');
}

export const binaries = [
  'kube-apiserver',
  'kube-controller-manager',
  'kubectl',
  'etcd',
  'helm',
  'kubelet',
  'kube-scheduler',
  'kube-proxy',
  'coredns',
  'pause',
] as const;
export type Binary = (typeof binaries)[number];

export function binPath(name: Binary): string {
  return path.join(binDir(), name);
}

/** The version pinned in go.mod for a module. */
function pinned(module: string): string {
  const m = readFileSync(path.join(here, 'go.mod'), 'utf8').match(
    new RegExp(`^\\s*${module.replace(/[.]/g, '\\.')} (v\\S+)`, 'm'),
  );
  if (!m?.[1]) throw new Error(`${module} is not pinned in tools/controlplane/go.mod`);
  return m[1];
}

/**
 * Built from the module cache, the binaries would report v0.0.0-master; clients (kubectl, Helm's
 * kubeVersion checks) read these, so stamp the real versions in, as the release build does.
 */
function versionLdflags(): string {
  const k8s = pinned('k8s.io/kubernetes');
  const [major, minor] = k8s.slice(1).split('.');
  const x = (pkg: string, v: string) => `-X ${pkg}=${v}`;
  return [
    x('k8s.io/component-base/version.gitVersion', k8s),
    x('k8s.io/component-base/version.gitMajor', major!),
    x('k8s.io/component-base/version.gitMinor', minor!),
    x('k8s.io/component-base/version.gitTreeState', 'clean'),
    x('k8s.io/client-go/pkg/version.gitVersion', k8s),
    x('k8s.io/client-go/pkg/version.gitMajor', major!),
    x('k8s.io/client-go/pkg/version.gitMinor', minor!),
    x('helm.sh/helm/v3/internal/version.version', pinned('helm.sh/helm/v3')),
  ].join(' ');
}

const corednsDir = path.resolve(here, '..', 'coredns');

function sourceHash(): string {
  const h = createHash('sha256');
  for (const f of ['go.mod', 'go.sum', 'build.ts', 'pause/main.go'])
    h.update(readFileSync(path.join(here, f)));
  for (const f of ['go.mod', 'go.sum', 'main.go']) h.update(readFileSync(path.join(corednsDir, f)));
  return h.digest('hex');
}

function upToDate(hash: string): boolean {
  const stamp = path.join(binDir(), '.stamp');
  return (
    existsSync(stamp) &&
    readFileSync(stamp, 'utf8').trim() === hash &&
    binaries.every((b) => existsSync(binPath(b)))
  );
}

function run(
  cmd: string,
  args: string[],
  label: string,
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? here,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    // go build prints nothing while it compiles: show that it is alive.
    const ticker = setInterval(() => {
      process.stderr.write(`  ... ${label}: ${Math.round((Date.now() - started) / 1000)}s\n`);
    }, 15_000);
    child.on('error', (err) => {
      clearInterval(ticker);
      reject(new Error(`${label}: cannot run ${cmd}: ${err.message}`));
    });
    child.on('exit', (code, signal) => {
      clearInterval(ticker);
      if (code === 0) resolve();
      else reject(new Error(`${label}: ${cmd} ${args.join(' ')} exited with ${code ?? signal}`));
    });
  });
}

/** Builds the binaries unless the stamp says they are current. Returns the bin folder. */
export async function buildControlPlane(opts: { force?: boolean } = {}): Promise<string> {
  const hash = sourceHash();
  const dir = binDir();
  if (!opts.force && upToDate(hash)) return dir;
  mkdirSync(dir, { recursive: true });
  const t0 = Date.now();
  process.stderr.write(
    `building the local control plane into ${dir} (cold: 8-12 minutes; warm Go cache: about a minute)\n`,
  );
  // Build into a temporary folder, then move: an interrupted build never leaves a half-written binary.
  const tmp = path.join(dir, '.tmp');
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  await run(
    'go',
    [
      'build',
      '-trimpath',
      `-ldflags=${versionLdflags()}`,
      '-o',
      `${tmp}/`,
      'k8s.io/kubernetes/cmd/kube-apiserver',
      'k8s.io/kubernetes/cmd/kube-controller-manager',
      'k8s.io/kubernetes/cmd/kubectl',
      'k8s.io/kubernetes/cmd/kubelet',
      'k8s.io/kubernetes/cmd/kube-scheduler',
      'k8s.io/kubernetes/cmd/kube-proxy',
      'helm.sh/helm/v3/cmd/helm',
    ],
    'kubernetes + helm',
  );
  // Both run in images of their own (tools/images), so they are static binaries.
  const staticEnv = { ...process.env, CGO_ENABLED: '0' };
  await run('go', ['build', '-trimpath', '-o', path.join(tmp, 'pause'), './pause'], 'pause', {
    env: staticEnv,
  });
  await run('go', ['build', '-trimpath', '-o', path.join(tmp, 'coredns'), '.'], 'coredns', {
    cwd: corednsDir,
    env: staticEnv,
  });
  // The etcd module root is the etcd main package; built with -o DIR/ it would be named "server".
  await run('go', ['build', '-trimpath', '-o', path.join(tmp, 'etcd'), 'go.etcd.io/etcd/server/v3'], 'etcd');
  for (const b of binaries) renameSync(path.join(tmp, b), binPath(b));
  rmSync(tmp, { recursive: true, force: true });
  writeFileSync(path.join(dir, '.stamp'), `${hash}\n`);
  process.stderr.write(`control plane built in ${Math.round((Date.now() - t0) / 1000)}s\n`);
  return dir;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  buildControlPlane({ force: process.argv.includes('--force') }).then(
    (dir) => console.log(`control plane binaries ready in ${dir}`),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
