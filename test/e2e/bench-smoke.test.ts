// Keeps the benchmark suite alive in CI: a short run of its scenarios (on a control plane of its
// own, with the audit log) must finish and print its rows. The numbers are reported, not judged
// here: timing belongs to benchmarks, not tests.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/operator.ts';
import { runOk } from './support/commands.ts';

describe('benchmark smoke run', () => {
  it('runs every scenario at a small size and prints a row for each', async () => {
    const node = path.join(repoRoot, 'node_modules', '.bin', 'node');
    const r = await runOk(
      node,
      [
        path.join(repoRoot, 'bench', 'run.ts'),
        'ceiling',
        'couple:50',
        'resources:20',
        'latency:10',
        'update:50',
        'restart:100',
        'refs:20',
        'requests:20',
      ],
      {
        cwd: repoRoot,
        timeoutMs: 600_000,
        env: { ...process.env, BENCH_IDLE_SECONDS: '5' },
      },
    );
    console.log(
      r.stdout
        .split('\n')
        .filter((l) => l.startsWith('|'))
        .join('\n'),
    );
    for (const s of [
      'ceiling',
      'couple 50',
      'resources 20',
      'latency 10',
      'update 50',
      'restart 100',
      'refs 20',
      'requests 20',
    ]) {
      expect(r.stdout).toMatch(new RegExp(`\\| ${s} `));
    }
    // restart: nothing repeated, nothing written (the one property a smoke run can check exactly)
    const restart = r.stdout.split('\n').find((l) => l.startsWith('| restart 100 '))!;
    const cells = restart.split('|').map((c) => c.trim());
    expect(cells[4]).toBe('0');
    expect(cells[5]).toBe('0');
    // refs: referenced Secrets are watched, so an idle operator sends no request at all.
    const refs = r.stdout.split('\n').find((l) => l.startsWith('| refs 20 '))!;
    expect(refs.split('|').map((c) => c.trim())[3]).toBe('0');
  });
});
