import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as source from '../../../src/apparatus/sdk/index.ts';
import { run, runOk, start } from '../../e2e/support/commands.ts';
import { CONFORMANCE_BASE_PATH, describeApparatusConformance } from '../../support/apparatus-conformance.ts';
import { nodesToTest, nodeVersion, userPath } from '../../support/node-binaries.ts';
import { repoRoot } from '../../support/operator.ts';
import { eventually } from '../../support/poll.ts';

const PACKAGE = '@integration-operator/apparatus-sdk';
const work = mkdtempSync(path.join(tmpdir(), 'io-sdk-package-'));
const app = path.join(work, 'app');
/** npm as the user runs it: their own Node (so their global npmrc: registry, CA) and their HOME. */
const npmEnv = { PATH: userPath, HOME: process.env.HOME ?? work };
/** Nothing of the repository's or the test runner's environment. */
const bareEnv = { PATH: userPath, HOME: work };

interface Packed {
  tarball: string;
  files: string[];
}

let prepared: Promise<Packed> | undefined;

/** Packs and installs once, for every case of this file. */
function prepare(): Promise<Packed> {
  prepared ??= (async () => {
    const packDir = path.join(work, 'pack');
    mkdirSync(packDir);
    mkdirSync(app);
    const packed = await runOk(
      'npm',
      ['pack', '--workspace', 'packages/apparatus-sdk', '--pack-destination', packDir, '--json'],
      { cwd: repoRoot, env: npmEnv, timeoutMs: 180_000 },
    );
    const [info] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
    const tarball = path.join(packDir, info.filename);
    await runOk('npm', ['install', '--no-audit', '--no-fund', tarball], {
      cwd: app,
      env: npmEnv,
      timeoutMs: 300_000,
    });
    for (const file of ['apparatus.mjs', 'main.mjs']) {
      copyFileSync(
        path.join(repoRoot, 'test', 'fixtures', 'apparatus-conformance', file),
        path.join(app, file),
      );
    }
    return { tarball, files: info.files.map((f) => f.path) };
  })();
  return prepared;
}

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('the packed SDK package', () => {
  it('holds the built JavaScript, its declarations, the README and the OpenAPI document, and no source', {
    timeout: 600_000,
  }, async () => {
    const { files } = await prepare();
    for (const f of [
      'package.json',
      'README.md',
      'openapi.yaml',
      'dist/sdk/index.js',
      'dist/sdk/index.d.ts',
    ]) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    const manifest = JSON.parse(
      readFileSync(path.join(app, 'node_modules', PACKAGE, 'package.json'), 'utf8'),
    ) as {
      engines: { node: string };
      dependencies: Record<string, string>;
    };
    expect(manifest.engines.node).toBe('>=20');
    expect(Object.keys(manifest.dependencies)).toEqual(['zod']);
  });

  it('type-checks a TypeScript consumer against its declarations', { timeout: 600_000 }, async () => {
    await prepare();
    writeFileSync(
      path.join(app, 'consumer.mts'),
      [
        `import { ApparatusHttpError, type CouplingEventBody, createApparatus } from '${PACKAGE}';`,
        'const app = createApparatus({',
        "  config: ({ plug }) => ({ username: plug.metadata?.name ?? 'app', port: 5432 }),",
        '  coupled: (body: CouplingEventBody, ctx) => {',
        "    if (!ctx.idempotencyKey || !body.plugConfig.database) throw new ApparatusHttpError(422, 'no');",
        '  },',
        '});',
        'const running = await app.listen(0);',
        'const port: number = running.port;',
        'await running.close();',
        'export { port };',
        '',
      ].join('\n'),
    );
    writeFileSync(
      path.join(app, 'wrong.mts'),
      `import { createApparatus } from '${PACKAGE}';\ncreateApparatus({ coupled: (body) => { const n: number = body.plugConfig; } });\n`,
    );
    writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2022',
          module: 'nodenext',
          strict: true,
          noEmit: true,
          typeRoots: [path.join(repoRoot, 'node_modules', '@types')],
          types: ['node'],
        },
        files: ['consumer.mts', 'wrong.mts'],
      }),
    );
    const tsc = path.join(repoRoot, 'node_modules', '.bin', 'tsc');
    const checked = await run(tsc, ['-p', 'tsconfig.json'], { cwd: app, env: bareEnv, timeoutMs: 180_000 });
    const errors = checked.stdout.split('\n').filter((line) => line.includes('error TS'));
    // The consumer type-checks; the declarations carry real types (not `any`), so a wrong use fails.
    expect(errors.filter((line) => !line.startsWith('wrong.mts'))).toEqual([]);
    expect(errors).toEqual([expect.stringMatching(/^wrong\.mts.*TS2322/)]);
  });
});

for (const node of nodesToTest()) {
  describe(`the installed SDK under ${node.name}`, () => {
    it('exports what the source exports', { timeout: 600_000 }, async () => {
      await prepare();
      const listed = await runOk(
        node.bin,
        [
          '--input-type=module',
          '-e',
          `const m = await import('${PACKAGE}'); console.log(JSON.stringify(Object.keys(m).sort()));`,
        ],
        { cwd: app, env: bareEnv },
      );
      expect(JSON.parse(listed.stdout)).toEqual(Object.keys(source).sort());
    });

    let stopped: Promise<{ code: number | null; stderr: string }> | undefined;
    describeApparatusConformance(`the packed package, plain JavaScript, ${node.name}`, async () => {
      await prepare();
      const proc = start(node.bin, ['main.mjs'], { cwd: app, env: bareEnv, timeoutMs: 600_000 });
      const ready = await eventually(
        () => {
          const line = proc.output().stdout.split('\n')[0] ?? '';
          return line.endsWith('}') ? (JSON.parse(line) as { port: number; node: string }) : undefined;
        },
        { what: `the conformance apparatus to listen (${node.name})`, timeoutMs: 60_000 },
      ).catch((err: unknown) => {
        proc.kill('SIGKILL');
        throw new Error(`${(err as Error).message}\n${proc.output().stderr}`);
      });
      expect(ready.node).toBe(nodeVersion(node.bin));
      return {
        base: `http://127.0.0.1:${ready.port}${CONFORMANCE_BASE_PATH}`,
        stop: async () => {
          proc.kill('SIGTERM');
          stopped = proc.done;
          await stopped;
        },
      };
    });

    it('stopped gracefully on SIGTERM after the cases: exit code 0', async () => {
      const result = await stopped;
      expect(result, 'the conformance cases did not stop the apparatus').toBeDefined();
      expect(result?.code, result?.stderr).toBe(0);
    });
  });
}
