// npm run images [-- name...]: builds the images the local node runs, on this machine (no image
// registry is reachable here), and keeps each as an archive in .cache/images that the node loads
// into its containerd at `cluster:up --node` (and at once, when a node runs):
//   operator    the project's Dockerfile, built by `docker build` as a user builds it
//   apparatus   examples/apparatus/Dockerfile (the example apparatus the samples run)
//   postgres    tools/images/postgres/Dockerfile (stands in for the public postgres image)
//   pause, coredns  static binaries of the control-plane build, without Docker (archives.ts)
// The bases those Dockerfiles name cannot be pulled either, so they are made here under those
// names: debian:bookworm-slim from Debian's packages (debootstrap), and node:24-bookworm-slim from
// it plus the Node.js 24 binary that the npm package `node@24` installs, with npm from the registry.
// Docker Engine runs only while this builds: a dockerd of its own (data in .cache/docker), with no
// bridge network and no iptables rules; builds use the host network (`docker build --network host`).
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from '../controlplane/build.ts';
import { readState } from '../controlplane/controlplane.ts';
import { ensureNodePackages, loadImages, nodeUnsupported, unmountStaleDocker } from '../controlplane/node.ts';
import { archiveCurrent, archiveOf, imageArchives, imagesDir, stampArchive } from './archives.ts';

const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  version: string;
  devDependencies: Record<string, string>;
};

/** Names of the images built here (what a chart or a test names to run them). */
export const localImages = {
  operator: `docker.io/local/integration-operator:${pkg.version}`,
  // The name config/samples/40-apparatus.yaml and examples/apparatus/socket.yaml give it.
  apparatus: 'docker.io/library/example-apparatus:0.1.0',
  postgres: 'docker.io/local/postgres:15',
} as const;

const bases = {
  debian: 'docker.io/library/debian:bookworm-slim',
  node: 'docker.io/library/node:24-bookworm-slim',
} as const;

/** npm in the node base image (the official image carries the npm of its Node release). */
const npmVersion = '11.19.1';

const log = (s: string) => process.stderr.write(`${s}\n`);

/** Files below `roots` (relative to the repository), sorted, skipping node_modules and dot folders. */
function filesUnder(roots: string[]): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const e of readdirSync(p).sort()) {
        if (e === 'node_modules' || e.startsWith('.')) continue;
        walk(path.join(p, e));
      }
    } else out.push(p);
  };
  for (const r of roots) if (existsSync(path.join(repoRoot, r))) walk(path.join(repoRoot, r));
  return out;
}

function hashOf(files: string[], extra: string): string {
  const h = createHash('sha256').update(extra);
  for (const f of files) h.update(path.relative(repoRoot, f)).update(readFileSync(f));
  return h.digest('hex').slice(0, 32);
}

interface DockerBuilt {
  name: string;
  dockerfile: string;
  context: string;
  /** Inputs that decide whether the archive is current (relative to the repository). */
  inputs: string[];
}

const built: Record<'operator' | 'apparatus' | 'postgres', DockerBuilt> = {
  operator: {
    name: localImages.operator,
    dockerfile: 'Dockerfile',
    context: '.',
    inputs: [
      'Dockerfile',
      '.dockerignore',
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'src',
      'packages',
    ],
  },
  apparatus: {
    name: localImages.apparatus,
    dockerfile: 'examples/apparatus/Dockerfile',
    context: '.',
    // Its build stage packs the SDK with the root's lock and TypeScript settings.
    inputs: [
      '.dockerignore',
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'examples/apparatus',
      'src/apparatus',
      'packages',
    ],
  },
  postgres: {
    name: localImages.postgres,
    dockerfile: 'tools/images/postgres/Dockerfile',
    context: 'tools/images/postgres',
    inputs: ['tools/images/postgres'],
  },
};

/** A dockerd of this build's own: started on demand, stopped at the end. */
class Docker {
  private proc: ChildProcess | undefined;
  readonly dataRoot = path.join(repoRoot, '.cache', 'docker');
  // Short (unix socket paths are limited to 108 bytes) and per checkout.
  readonly execRoot = `/run/io-docker-${createHash('sha256').update(repoRoot).digest('hex').slice(0, 8)}`;
  readonly socket = path.join(this.execRoot, 'docker.sock');

  async start(): Promise<void> {
    if (this.proc) return;
    // A build killed without its shutdown left dockerd's mounts: they would shadow the data root.
    for (const m of unmountStaleDocker(this.dataRoot)) log(`unmounted ${m}, left by a killed build`);
    mkdirSync(this.dataRoot, { recursive: true });
    mkdirSync(this.execRoot, { recursive: true });
    const logFile = path.join(repoRoot, '.cache', 'dockerd.log');
    const out = spawn(
      'dockerd',
      [
        `--data-root=${this.dataRoot}`,
        `--exec-root=${this.execRoot}`,
        `--pidfile=${path.join(this.execRoot, 'docker.pid')}`,
        `--host=unix://${this.socket}`,
        '--iptables=false',
        '--ip-masq=false',
        '--bridge=none',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const chunks: Buffer[] = [];
    out.stdout?.on('data', (c: Buffer) => chunks.push(c));
    out.stderr?.on('data', (c: Buffer) => chunks.push(c));
    out.on('exit', () => writeFileSync(logFile, Buffer.concat(chunks)));
    this.proc = out;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (out.exitCode !== null)
        throw new Error(
          `dockerd exited with ${out.exitCode}: ${Buffer.concat(chunks).toString().slice(-800)}`,
        );
      if (
        spawnSync('/usr/bin/docker', ['-H', `unix://${this.socket}`, 'info'], { stdio: 'ignore' }).status ===
        0
      )
        return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error('dockerd did not answer within 60 s');
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    p.kill('SIGTERM');
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        p.kill('SIGKILL');
        resolve();
      }, 20_000);
      p.on('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
    this.proc = undefined;
    rmSync(this.execRoot, { recursive: true, force: true });
  }

  /** Runs the Docker CLI (Debian's, matching the engine), streaming its output with a prefix. */
  run(args: string[], label: string, input?: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn('/usr/bin/docker', ['-H', `unix://${this.socket}`, ...args], {
        env: { ...process.env, DOCKER_BUILDKIT: '1', BUILDKIT_PROGRESS: 'plain' },
        stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
        cwd: repoRoot,
      });
      let tail = '';
      const started = Date.now();
      let lastLine = started;
      const onData = (c: Buffer) => {
        tail = (tail + c.toString()).slice(-4000);
        // One line every 10 s at most: enough to show it is alive without flooding the CI log.
        if (Date.now() - lastLine > 10_000) {
          lastLine = Date.now();
          const line = c.toString().trim().split('\n').pop()?.slice(0, 160) ?? '';
          log(`  ... ${label} ${Math.round((Date.now() - started) / 1000)}s: ${line}`);
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      if (input) child.stdin?.end(input);
      child.on('error', reject);
      child.on('exit', (code) =>
        code === 0
          ? resolve()
          : reject(new Error(`${label}: docker ${args[0]} exited with ${code}:\n${tail}`)),
      );
    });
  }

  hasImage(name: string): boolean {
    return (
      spawnSync('/usr/bin/docker', ['-H', `unix://${this.socket}`, 'image', 'inspect', name], {
        stdio: 'ignore',
      }).status === 0
    );
  }

  label(name: string, key: string): string {
    return execFileSync(
      '/usr/bin/docker',
      [
        '-H',
        `unix://${this.socket}`,
        'image',
        'inspect',
        '--format',
        `{{index .Config.Labels ${JSON.stringify(key)}}}`,
        name,
      ],
      { encoding: 'utf8' },
    ).trim();
  }
}

/** The Debian root filesystem (debootstrap, minbase), cached for a week across checkouts of this machine. */
function debianRootfs(): string {
  const cache = path.join(
    process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'),
    'integration-operator',
  );
  const tar = path.join(cache, 'debian-bookworm-minbase.tar');
  if (existsSync(tar) && Date.now() - statSync(tar).mtimeMs < 7 * 24 * 3600_000) return tar;
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(path.join(tmpdir(), 'debootstrap-'));
  log('making the Debian bookworm base from Debian packages (debootstrap, about a minute)');
  try {
    execFileSync('debootstrap', ['--variant=minbase', 'bookworm', dir, 'http://deb.debian.org/debian'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    // What the slim images leave out: package lists, caches, documentation.
    for (const p of [
      'var/lib/apt/lists',
      'var/cache/apt/archives',
      'usr/share/doc',
      'usr/share/man',
      'usr/share/locale',
    ])
      for (const e of existsSync(path.join(dir, p)) ? readdirSync(path.join(dir, p)) : [])
        rmSync(path.join(dir, p, e), { recursive: true, force: true });
    execFileSync('tar', ['--numeric-owner', '-C', dir, '-cf', `${tar}.tmp`, '.']);
    execFileSync('mv', [`${tar}.tmp`, tar]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return tar;
}

/**
 * This machine's trust store goes into the bases: every HTTPS connection leaves through an
 * intercepting proxy whose certificate only the machine's store holds, so `npm ci` and `apt` in a
 * build would fail without it. The images stay what they are; only their CA bundle is the host's.
 */
const hostCaBundle = '/etc/ssl/certs/ca-certificates.crt';

async function ensureBases(docker: Docker): Promise<void> {
  const rootfs = debianRootfs();
  const stamp = hashOf(
    [rootfs, ...(existsSync(hostCaBundle) ? [hostCaBundle] : [])],
    `${npmVersion}|${pkg.devDependencies.node}`,
  );
  const current = (name: string) => docker.hasImage(name) && docker.label(name, 'io.local.inputs') === stamp;
  const changes = (extra: string[]) => [
    '--change',
    `LABEL io.local.inputs=${stamp}`,
    '--change',
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    ...(existsSync(hostCaBundle) ? ['--change', `ENV NODE_EXTRA_CA_CERTS=${hostCaBundle}`] : []),
    ...extra.flatMap((c) => ['--change', c]),
  ];
  const work = mkdtempSync(path.join(tmpdir(), 'bases-'));
  try {
    const root = path.join(work, 'rootfs');
    mkdirSync(root);
    execFileSync('tar', ['--numeric-owner', '-C', root, '-xf', rootfs]);
    if (existsSync(hostCaBundle)) {
      mkdirSync(path.join(root, 'etc/ssl/certs'), { recursive: true });
      cpSync(hostCaBundle, path.join(root, hostCaBundle.slice(1)));
    }
    if (!current(bases.debian)) {
      log(`image ${bases.debian}: from the Debian root filesystem`);
      await docker.run(
        ['import', ...changes(['CMD ["bash"]']), '-', bases.debian],
        bases.debian,
        execFileSync('tar', ['--numeric-owner', '-C', root, '-c', '.'], { maxBuffer: 1 << 30 }),
      );
    }
    if (!current(bases.node)) {
      log(
        `image ${bases.node}: Debian + Node.js ${pkg.devDependencies.node} (npm package node) + npm ${npmVersion}`,
      );
      const nodeBin = path.join(
        repoRoot,
        'node_modules',
        'node',
        'node_modules',
        `node-linux-${process.arch}`,
        'bin',
        'node',
      );
      if (!existsSync(nodeBin))
        throw new Error(`${nodeBin} is missing: run npm ci first (the node@24 devDependency installs it)`);
      cpSync(nodeBin, path.join(root, 'usr/local/bin/node'));
      const npmDir = path.join(root, 'usr/local/lib/node_modules/npm');
      mkdirSync(npmDir, { recursive: true });
      const packed = execFileSync(
        'npm',
        ['pack', `npm@${npmVersion}`, '--silent', '--pack-destination', work],
        {
          encoding: 'utf8',
        },
      ).trim();
      execFileSync('tar', [
        '-xzf',
        path.join(work, packed.split('\n').pop()!),
        '-C',
        npmDir,
        '--strip-components=1',
      ]);
      execFileSync('ln', [
        '-s',
        '../lib/node_modules/npm/bin/npm-cli.js',
        path.join(root, 'usr/local/bin/npm'),
      ]);
      execFileSync('ln', [
        '-s',
        '../lib/node_modules/npm/bin/npx-cli.js',
        path.join(root, 'usr/local/bin/npx'),
      ]);
      // The official image's `node` user (1000:1000).
      writeFileSync(
        path.join(root, 'etc/passwd'),
        `${readFileSync(path.join(root, 'etc/passwd'), 'utf8')}node:x:1000:1000::/home/node:/bin/sh\n`,
      );
      writeFileSync(
        path.join(root, 'etc/group'),
        `${readFileSync(path.join(root, 'etc/group'), 'utf8')}node:x:1000:\n`,
      );
      mkdirSync(path.join(root, 'home/node'), { recursive: true });
      execFileSync('chown', ['1000:1000', path.join(root, 'home/node')]);
      await docker.run(
        [
          'import',
          ...changes([`ENV NODE_VERSION=${pkg.devDependencies.node}`, 'CMD ["node"]']),
          '-',
          bases.node,
        ],
        bases.node,
        execFileSync('tar', ['--numeric-owner', '-C', root, '-c', '.'], { maxBuffer: 1 << 30 }),
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Builds the named images (all by default) into .cache/images; returns their archives. (The pause,
 * CoreDNS and busybox archives come from the control-plane build: archives.ts, at node start.)
 */
export async function buildImages(
  which: Array<keyof typeof built> = ['operator', 'apparatus', 'postgres'],
): Promise<string[]> {
  const why = nodeUnsupported();
  if (why) throw new Error(`images: ${why.replace('the node needs', 'building images needs')}`);
  ensureNodePackages(log);
  mkdirSync(imagesDir(), { recursive: true });
  const out: string[] = [];
  const todo = which.filter((k) => {
    const b = built[k];
    return !archiveCurrent(b.name, hashOf(filesUnder(b.inputs), b.dockerfile));
  });
  out.push(...which.filter((k) => !todo.includes(k)).map((k) => archiveOf(built[k].name)));
  if (!todo.length) {
    log(`images current: ${which.map((k) => built[k].name).join(', ')}`);
    return out;
  }
  const docker = new Docker();
  const t0 = Date.now();
  try {
    await docker.start();
    await ensureBases(docker);
    for (const k of todo) {
      const b = built[k];
      const hash = hashOf(filesUnder(b.inputs), b.dockerfile);
      const t = Date.now();
      log(`image ${b.name}: docker build -f ${b.dockerfile} ${b.context}`);
      await docker.run(['build', '--network', 'host', '-f', b.dockerfile, '-t', b.name, b.context], b.name);
      await docker.run(['save', '-o', archiveOf(b.name), b.name], `save ${b.name}`);
      stampArchive(b.name, hash);
      out.push(archiveOf(b.name));
      log(`image ${b.name}: built in ${Math.round((Date.now() - t) / 1000)}s`);
    }
  } finally {
    await docker.stop();
  }
  log(`images built in ${Math.round((Date.now() - t0) / 1000)}s into ${imagesDir()}`);
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const names = process.argv.slice(2) as Array<keyof typeof built>;
  const unknown = names.filter((n) => !(n in built));
  if (unknown.length) {
    console.error(`unknown image ${unknown.join(', ')}; known: ${Object.keys(built).join(', ')}`);
    process.exit(2);
  }
  buildImages(names.length ? names : undefined).then(
    (archives) => {
      // A node of this checkout that runs gets them now (the next `cluster:up --node` loads them anyway).
      const node = readState()?.node;
      if (node && existsSync(node.containerdSocket)) {
        const all = imageArchives();
        loadImages(node.containerdSocket, all);
        log(`loaded into the running node: ${all.length} images`);
      }
      console.log(archives.join('\n'));
    },
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
