// The chaos scenario at a small size (see bench/chaos-scenario.ts; `npm run chaos` runs the full
// one): 40 plugs on 3 sockets, 3 SIGKILLs of the operator process, 1 API server restart, a short
// apparatus outage, 5 plugs and one socket re-created, 5 epochs changed, on a control plane of its own.
import { describe, expect, it } from 'vitest';
import { runChaos } from '../../bench/chaos-scenario.ts';

describe('chaos (small)', () => {
  it('converges with every event delivered, every resource once, no orphan', async () => {
    const r = await runChaos({
      plugs: 40,
      sockets: 3,
      kills: 3,
      apiserverRestarts: 1,
      apparatusOutageMs: 5_000,
      recreatePlugs: 5,
      recreateSocket: true,
      updatePlugs: 5,
      convergeTimeoutMs: 150_000,
      killGapMs: [1_000, 3_000],
      log: (l) => console.log(l),
    });
    console.log(
      `chaos (small): converged ${(r.convergeAfterLastFaultMs / 1000).toFixed(1)} s after the last fault; ` +
        `${r.deliveries} deliveries, ${r.repeatedDeliveries} repeated ${JSON.stringify(r.repeatsByWhy)}`,
    );
    expect(r.problems).toEqual([]);
    expect(r.missingEvents).toEqual([]);
    expect(r.resources.orphans).toEqual([]);
    expect(r.orphansAfterHalfDeleted).toEqual([]);
  }, 400_000);
});
