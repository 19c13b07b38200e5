// `npm run chaos`: the full chaos run of issue 10 (500 plugs on 5 sockets, 20 SIGKILLs of the
// operator, 2 API server restarts, a 30 s apparatus outage, 50 plugs and one socket re-created),
// on a control plane of its own. Prints progress on stderr and a summary table; exits 1 when a
// check failed. Sizes can be changed: `npm run chaos -- plugs=100 kills=5`.
import path from 'node:path';
import { type ChaosOptions, runChaos } from './chaos-scenario.ts';
import { printRows, root, saveResult, stopOnSignal } from './harness.ts';

const stateDir = path.join(root, '.cluster', 'chaos-state');
const defaults: ChaosOptions = {
  plugs: 500,
  sockets: 5,
  kills: 20,
  apiserverRestarts: 2,
  apparatusOutageMs: 30_000,
  recreatePlugs: 50,
  recreateSocket: true,
  updatePlugs: 50,
  convergeTimeoutMs: 600_000,
  killGapMs: [1_500, 5_000],
  stateDir,
};

const opts: ChaosOptions = { ...defaults };
for (const arg of process.argv.slice(2)) {
  const [k, v] = arg.split('=');
  if (
    k === 'seed' ||
    k === 'plugs' ||
    k === 'sockets' ||
    k === 'kills' ||
    k === 'apiserverRestarts' ||
    k === 'recreatePlugs' ||
    k === 'updatePlugs' ||
    k === 'workers'
  )
    (opts as unknown as Record<string, number>)[k] = Number(v);
  else if (k === 'outageMs') opts.apparatusOutageMs = Number(v);
  else throw new Error(`unknown argument ${arg}`);
}

stopOnSignal(stateDir);
const r = await runChaos(opts);
const ms = (v: number[]) =>
  v.length
    ? `min ${Math.min(...v)} / median ${[...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]} / max ${Math.max(...v)}`
    : '-';
console.log('');
printRows([
  { scenario: 'plugs', value: r.plugs },
  { scenario: 'operator SIGKILLs (restarted)', value: r.kills },
  { scenario: 'API server restarts', value: r.apiserverRestarts },
  { scenario: 'time to converge from start (s)', value: (r.convergeMs / 1000).toFixed(1) },
  {
    scenario: 'time to converge after the last fault (s)',
    value: (r.convergeAfterLastFaultMs / 1000).toFixed(1),
  },
  { scenario: 'operator restart to /readyz (ms)', value: ms(r.operatorReadyMs) },
  { scenario: 'API server back to next apparatus call (ms)', value: ms(r.apiserverRecoveryMs) },
  { scenario: 'apparatus back to first success (ms)', value: r.apparatusRecoveryMs ?? '-' },
  { scenario: 'resources expected / found', value: `${r.resources.expected} / ${r.resources.found}` },
  { scenario: 'deleting half the plugs (s)', value: (r.halfDeletedMs / 1000).toFixed(1) },
  { scenario: 'orphans after deleting half', value: r.orphansAfterHalfDeleted.length },
  { scenario: 'lifecycle events owed', value: r.owedEvents },
  { scenario: '  of which updated (epoch changed while coupled)', value: r.owedUpdates },
  { scenario: 'owed events never delivered', value: r.missingEvents.length },
  { scenario: 'deliveries (2xx answers)', value: r.deliveries },
  { scenario: 'repeated deliveries', value: r.repeatedDeliveries },
  ...Object.entries(r.repeatsByWhy).map(([why, n]) => ({ scenario: `  repeated: ${why}`, value: n })),
  { scenario: 'repeats with different Idempotency-Keys', value: r.repeatsWithDifferentKeys.length },
]);
console.log(`\nresult saved to ${saveResult('chaos', r)}`);
if (!r.ok) {
  console.log(`\nFAILED:\n- ${r.problems.join('\n- ')}`);
  process.exit(1);
}
console.log('\nall chaos checks passed');
