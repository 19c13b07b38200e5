import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../e2e/support/commands.ts';
import { runPlugin } from '../../support/cli.ts';
import { nodesToTest } from '../../support/node-binaries.ts';
import { repoRoot } from '../../support/operator.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'cli-'));
const samples = path.join(repoRoot, 'config', 'samples');
const broken = path.join(dir, 'broken.yaml');
writeFileSync(
  broken,
  [
    'apiVersion: integration.rock8s.com/v1beta1',
    'kind: Plug',
    'metadata: {name: app, namespace: shop}',
    'spec:',
    '  socket: {name: db}',
    '  resources:',
    '    - when: [coupled]',
    '      stringTemplate: "name: {% .plug.metadata.name | nosuch %}"',
    '',
  ].join('\n'),
);

describe('kubectl-integration check', () => {
  it('passes the samples folder (exit 0) with a summary line', async () => {
    const c = await runPlugin(['check', samples]);
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(
      /^8 files, 9 Plug\/Socket\/DeferredResource documents checked, \d+ others skipped: 0 errors, 0 warnings\n$/,
    );
  });

  it('fails a broken manifest (exit 1) naming its file, line and column', async () => {
    const c = await runPlugin(['check', samples, broken]);
    expect(c.code).toBe(1);
    expect(c.stdout).toContain(
      `${broken}:8:55: error: Plug shop/app: spec.resources[0].stringTemplate: function "nosuch" not defined (template line 1, column 32)`,
    );
    expect(c.stdout).toMatch(/: 1 error, 0 warnings\n$/);
  });

  it('reads stdin when no file is named and stdin is not a terminal; -o json and -o yaml give the report', async () => {
    const text = (await import('node:fs')).readFileSync(broken, 'utf8');
    const json = await runPlugin(['check', '-o', 'json'], { stdin: text });
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as {
      kind: string;
      errors: number;
      problems: { file: string; line: number }[];
    };
    expect(report).toMatchObject({ kind: 'CheckReport', errors: 1, problems: [{ file: '-', line: 8 }] });
    const yaml = await runPlugin(['check', '-', '--output=yaml'], { stdin: text });
    expect(yaml.code).toBe(1);
    expect(yaml.stdout).toContain('kind: CheckReport');
  });

  it('exits 2 on usage errors and 1 for a file that does not exist', async () => {
    for (const args of [
      ['check'],
      ['nonsense'],
      ['trace', 'plug'],
      ['trace', 'pod', 'x'],
      ['check', '-o', 'xml', samples],
      ['--bogus'],
    ]) {
      const c = await runPlugin(args);
      expect(c.code, args.join(' ')).toBe(2);
      expect(c.stderr).toContain('error: ');
    }
    const c = await runPlugin(['check', path.join(dir, 'missing.yaml')]);
    expect(c.code).toBe(1);
    expect(c.stdout).toContain('missing.yaml: error: no such file or directory');
  });
});

describe('kubectl-integration trace without a reachable cluster', () => {
  it('says why and exits 1; an unknown context is an error naming it', async () => {
    const kubeconfig = path.join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        'current-context': 'nowhere',
        contexts: [{ name: 'nowhere', context: { cluster: 'c', user: 'u', namespace: 'team' } }],
        clusters: [
          { name: 'c', cluster: { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true } },
        ],
        users: [{ name: 'u', user: { token: 't' } }],
      }),
    );
    const c = await runPlugin(['trace', 'plug', 'app', '--kubeconfig', kubeconfig]);
    expect(c.code).toBe(1);
    expect(c.stdout).toContain('Plug team/app: error:'); // the context's namespace
    expect(c.stderr).toMatch(/^error: Plug team\/app: /);
    const viaEnv = await runPlugin(['trace', 'socket', 'db', '--context', 'other'], {
      env: { KUBECONFIG: kubeconfig },
    });
    expect(viaEnv.code).toBe(1);
    expect(viaEnv.stderr).toContain('no context named other');
  });
});

describe('the launcher, bin/kubectl-integration.js', () => {
  for (const node of nodesToTest()) {
    it(`runs with ${node.name}`, { timeout: 60_000 }, async () => {
      const launcher = path.join(repoRoot, 'bin', 'kubectl-integration.js');
      const ok = await run(node.bin, [launcher, 'check', samples], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '' },
      });
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toContain('0 errors');
      const bad = await run(node.bin, [launcher, 'check', broken], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '' },
      });
      expect(bad.code).toBe(1);
      expect(bad.stdout).toContain(`${broken}:8:55: error:`);
    });
  }

  it('is the package bin: `npx kubectl-integration` works in the checkout', {
    timeout: 120_000,
  }, async () => {
    const r = await run('npx', ['--no-install', 'kubectl-integration', 'check', broken], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir },
      timeoutMs: 110_000,
    });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain(`${broken}:8:55: error:`);
  });
});
