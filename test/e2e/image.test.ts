// What the container image runs, without a Docker engine: `npm run build` into a scratch folder,
// production dependencies only installed next to it exactly as the Dockerfile's final stage does
// (`npm ci --omit=dev --ignore-scripts --workspaces=false`), and `node dist/main.js` run there with the pinned Node 24.
// The folder is outside the repository, so nothing can be resolved from its devDependencies.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomName } from '../support/kube.ts';
import { kubeconfigPath, repoRoot } from '../support/operator.ts';
import { servingAddress } from '../support/operator-process.ts';
import { eventuallyWhileRunning } from '../support/poll.ts';
import { run, runOk, start } from './support/commands.ts';
import { applyChartCrds, kubectl } from './support/install.ts';

const node = path.join(repoRoot, 'node_modules', '.bin', 'node');
const app = mkdtempSync(path.join(tmpdir(), 'io-image-'));
const ns = randomName('e2e-image');
const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};
/** A clean environment: nothing of the test runner's (no KUBECONFIG, no in-cluster variables). */
const bareEnv = { PATH: process.env.PATH ?? '', HOME: app };
const timings: Record<string, number> = {};

async function timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    timings[name] = Math.round(performance.now() - t0);
  }
}

beforeAll(async () => {
  // The Dockerfile's build stage: `npm run build` (here into the scratch folder), then no .d.ts.
  await timed('npm run build', () =>
    runOk('npm', ['run', 'build', '--', '--outDir', path.join(app, 'dist')], {
      cwd: repoRoot,
      timeoutMs: 180_000,
    }),
  );
  // Its runtime stage: package.json + lock, production dependencies only, no install scripts.
  cpSync(path.join(repoRoot, 'package.json'), path.join(app, 'package.json'));
  cpSync(path.join(repoRoot, 'package-lock.json'), path.join(app, 'package-lock.json'));
  await timed('npm ci --omit=dev', () =>
    runOk(
      'npm',
      [
        'ci',
        '--omit=dev',
        '--ignore-scripts',
        '--workspaces=false',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
      ],
      {
        cwd: app,
        timeoutMs: 300_000,
      },
    ),
  );
}, 600_000);

afterAll(async () => {
  rmSync(app, { recursive: true, force: true });
  await kubectl(['delete', 'namespace', ns, '--ignore-not-found', '--wait=false']).catch(() => undefined);
  console.log(`image test timings (ms): ${JSON.stringify(timings)}`);
});

describe('container image contents', () => {
  it('the Dockerfile builds with npm ci + npm run build and runs dist/main.js on production dependencies as a non-root user', () => {
    const docker = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');
    const stages = docker.split(/^FROM /m).slice(1);
    expect(stages).toHaveLength(2);
    const [build, runtime] = stages as [string, string];
    expect(build).toMatch(/^(--platform=\S+ )?node:\$\{NODE_MAJOR\}-/);
    expect(build).toContain('RUN npm ci');
    expect(build).toContain('npm run build');
    expect(runtime).toMatch(/^node:\$\{NODE_MAJOR\}-bookworm-slim/);
    expect(docker).toMatch(/^ARG NODE_MAJOR=24$/m);
    expect(runtime).toContain('npm ci --omit=dev --ignore-scripts --workspaces=false');
    expect(runtime).toContain('COPY --from=build /src/dist ./dist');
    expect(runtime).toMatch(/^USER [1-9]\d*:[1-9]\d*$/m);
    expect(runtime).toMatch(/^ENTRYPOINT \["node", ("--[a-z-]+(=\d+)?", )*"dist\/main\.js"\]$/m);
    const ignored = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['**/node_modules', 'dist', '.git', '.cluster']) expect(ignored).toContain(p);
  });

  it('installs no devDependency (not even the pinned node toolchain)', () => {
    const lock = JSON.parse(readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean; optional?: boolean }>;
    };
    const entries = Object.entries(lock.packages).filter(([p]) => p.startsWith('node_modules/'));
    const devOnly = entries.filter(([, e]) => e.dev).map(([p]) => p);
    expect(devOnly).toContain('node_modules/node');
    expect(devOnly).toContain('node_modules/typescript');
    for (const p of devOnly) expect(existsSync(path.join(app, p)), p).toBe(false);
    for (const dep of Object.keys(pkg.dependencies)) {
      expect(existsSync(path.join(app, 'node_modules', dep)), dep).toBe(true);
    }
    expect(existsSync(path.join(app, 'dist', 'main.js'))).toBe(true);
    // Built JavaScript imports JavaScript: every relative `.ts` import was rewritten.
    const main = readFileSync(path.join(app, 'dist', 'main.js'), 'utf8');
    expect(main).not.toMatch(/from '\.\.?\/[^']*\.ts'/);
  });

  it('prints its usage with the pinned Node 24', async () => {
    const r = await runOk(node, ['dist/main.js', '--help'], { cwd: app, env: bareEnv });
    expect(r.stdout).toContain('usage: integration-operator');
    expect(r.stdout).toContain('WATCH_NAMESPACE');
  });

  it('says clearly that it needs a cluster when there is neither KUBECONFIG nor in-cluster config', async () => {
    const r = await run(node, ['dist/main.js'], { cwd: app, env: bareEnv, timeoutMs: 30_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('integration-operator: no cluster: KUBECONFIG is not set');
    expect(r.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });

  it('says clearly that the kubeconfig it was given cannot be read', async () => {
    const missing = path.join(app, 'no-such-kubeconfig');
    const r = await run(node, ['dist/main.js'], {
      cwd: app,
      env: { ...bareEnv, KUBECONFIG: missing },
      timeoutMs: 30_000,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`integration-operator: kubeconfig ${missing}: ENOENT`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('says clearly that its probe port is taken, and exits', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const taken = `127.0.0.1:${(holder.address() as AddressInfo).port}`;
    try {
      const r = await run(node, ['dist/main.js'], {
        cwd: app,
        env: {
          ...bareEnv,
          KUBECONFIG: kubeconfigPath(),
          WATCH_NAMESPACE: ns,
          HEALTH_PROBE_BIND_ADDRESS: taken,
          METRICS_BIND_ADDRESS: '0',
          LOG_FORMAT: 'text',
        },
        timeoutMs: 60_000,
      });
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stderr).toContain(
        `integration-operator: cannot serve probes and metrics: listen EADDRINUSE: address already in use ${taken}`,
      );
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      holder.close();
    }
  });

  it('runs against the cluster: caches sync, probes and metrics answer, SIGTERM stops it cleanly', async () => {
    await applyChartCrds();
    await kubectl(['create', 'namespace', ns]);
    const op = start(node, ['dist/main.js'], {
      cwd: app,
      env: {
        ...bareEnv,
        KUBECONFIG: kubeconfigPath(),
        WATCH_NAMESPACE: ns,
        // Port 0: the kernel picks a free port, and the operator logs it (a random pick can be
        // in use, and the operator then exits with EADDRINUSE).
        HEALTH_PROBE_BIND_ADDRESS: '127.0.0.1:0',
        METRICS_BIND_ADDRESS: '127.0.0.1:0',
        LOG_FORMAT: 'text',
      },
      timeoutMs: 120_000,
    });
    const operator = {
      name: 'dist/main.js',
      running: () => op.running(),
      output: () => {
        const { stdout, stderr } = op.output();
        return stdout + stderr;
      },
    };
    const started = performance.now();
    try {
      // Fails at once, with the operator's output, if it exits (and with its output on timeout).
      const address = await eventuallyWhileRunning(operator, () => servingAddress(operator.output()), {
        what: 'dist/main.js to log its probe address',
        timeoutMs: 60_000,
      });
      expect(address).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
      await eventuallyWhileRunning(
        operator,
        async () => (await fetch(`http://${address}/readyz`).catch(() => undefined))?.status === 200,
        { what: 'dist/main.js to be ready', timeoutMs: 60_000 },
      );
      timings['start to ready'] = Math.round(performance.now() - started);
      expect((await fetch(`http://${address}/healthz`)).status).toBe(200);
      const metrics = await (await fetch(`http://${address}/metrics`)).text();
      expect(metrics).toContain('integration_operator_reconcile_total');
      expect(metrics).toContain('integration_operator_leader 1');
    } finally {
      op.kill('SIGTERM');
    }
    const done = await op.done;
    expect(done.code, done.stdout + done.stderr).toBe(0);
    expect(done.stdout + done.stderr).toContain('stopped');
  });
});
