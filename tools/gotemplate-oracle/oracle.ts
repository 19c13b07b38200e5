// Builds and runs the Go-template oracle (Go text/template + sprig v2.22.0, as the Go operator rendered),
// and writes or checks its committed results.
//
//   node tools/gotemplate-oracle/oracle.ts           compare a fresh oracle run with the fixture
//   node tools/gotemplate-oracle/oracle.ts --write   regenerate test/fixtures/gotemplate/go-results.json
//
// The binary is built with the machine's Go into .cache/gotemplate-oracle/ and rebuilt only when
// main.go, go.mod or go.sum is newer. Go modules come from the Go module proxy.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../..');
export const corpusPath = join(repoRoot, 'test/fixtures/gotemplate/corpus.json');
export const fixturePath = join(repoRoot, 'test/fixtures/gotemplate/go-results.json');
const cacheDir = join(repoRoot, '.cache/gotemplate-oracle');
const binaryPath = join(cacheDir, 'gotemplate-oracle');

/** One case of the corpus: a template, its data, and (for intended differences from Go) why and what. */
export interface CorpusCase {
  name: string;
  template: string;
  data: unknown;
  note?: string;
  differs?: string;
  expect?: { output?: string; error?: boolean };
}

/** The corpus as the tests render it. */
export function readCorpus(): CorpusCase[] {
  return JSON.parse(readFileSync(corpusPath, 'utf8')) as CorpusCase[];
}

export interface OracleResult {
  name: string;
  output?: string;
  error?: string;
}

export interface OracleFixture {
  generatedBy: string;
  goVersion: string;
  corpusSha256: string;
  results: OracleResult[];
}

/** Hash of the corpus content (not its formatting). */
export function corpusSha256(): string {
  const canonical = JSON.stringify(JSON.parse(readFileSync(corpusPath, 'utf8')));
  return createHash('sha256').update(canonical).digest('hex');
}

/** The machine's Go version (e.g. "go1.26.8"), or undefined when no Go toolchain is installed. */
export function goVersion(): string | undefined {
  const r = spawnSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  return r.stdout.trim();
}

export function buildOracle(): string {
  const sources = ['main.go', 'go.mod', 'go.sum'].map((f) => statSync(join(here, f)).mtimeMs);
  if (existsSync(binaryPath) && statSync(binaryPath).mtimeMs >= Math.max(...sources)) return binaryPath;
  mkdirSync(cacheDir, { recursive: true });
  const r = spawnSync('go', ['build', '-mod=readonly', '-o', binaryPath, '.'], {
    cwd: here,
    encoding: 'utf8',
    env: { ...process.env, CGO_ENABLED: '0' },
  });
  if (r.status !== 0) throw new Error(`go build of the oracle failed: ${r.stderr || r.error?.message}`);
  return binaryPath;
}

export function runOracle(): OracleFixture {
  const bin = buildOracle();
  const dir = mkdtempSync(join(tmpdir(), 'gotemplate-oracle-'));
  try {
    const out = join(dir, 'results.json');
    const r = spawnSync(bin, [out, corpusPath], { encoding: 'utf8', env: {} });
    if (r.status !== 0) throw new Error(`oracle failed: ${r.stderr}`);
    const results = JSON.parse(readFileSync(out, 'utf8')) as OracleResult[];
    return {
      generatedBy: 'tools/gotemplate-oracle (Go text/template + sprig v2.22.0); regenerate, do not edit',
      goVersion: goVersion() ?? 'unknown',
      corpusSha256: corpusSha256(),
      results,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function readFixture(): OracleFixture {
  return JSON.parse(readFileSync(fixturePath, 'utf8')) as OracleFixture;
}

/** Names of cases whose output or error-ness differs between two result sets. */
export function diffResults(a: OracleResult[], b: OracleResult[]): string[] {
  const byName = new Map(b.map((r) => [r.name, r]));
  const diffs: string[] = [];
  for (const r of a) {
    const o = byName.get(r.name);
    if (!o) diffs.push(`${r.name}: missing`);
    else if ((r.error === undefined) !== (o.error === undefined) || r.output !== o.output) diffs.push(r.name);
    byName.delete(r.name);
  }
  for (const name of byName.keys()) diffs.push(`${name}: extra`);
  return diffs;
}

function main(): void {
  if (!goVersion()) {
    console.error('no Go toolchain found: install Go to run the oracle');
    process.exit(2);
  }
  const fresh = runOracle();
  if (process.argv.includes('--write')) {
    writeFileSync(fixturePath, `${JSON.stringify(fresh, null, 2)}\n`);
    // Keep the generated file in the repository's formatting, so `npm run lint` stays clean.
    spawnSync(join(repoRoot, 'node_modules/.bin/biome'), ['format', '--write', fixturePath], {
      stdio: 'inherit',
    });
    console.log(`wrote ${fresh.results.length} results to ${fixturePath}`);
    return;
  }
  const fixture = readFixture();
  const diffs = diffResults(fresh.results, fixture.results);
  if (fixture.corpusSha256 !== fresh.corpusSha256) diffs.push('corpus changed since the fixture was written');
  if (diffs.length > 0) {
    console.error(
      `fixture differs from the oracle (run with --write to regenerate):\n  ${diffs.join('\n  ')}`,
    );
    process.exit(1);
  }
  console.log(`fixture matches the oracle: ${fresh.results.length} cases (${fresh.goVersion})`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
