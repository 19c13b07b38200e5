// The operator as its own process: killed (SIGKILL) in the middle of coupling and restarted, it
// converges without losing an event and repeats at most the events in flight, with the same
// Idempotency-Key; two instances with leader election: one acts, the other takes over.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApparatusRecorder, startRecorder } from '../support/apparatus-recorder.ts';
import { randomName } from '../support/kube.ts';
import {
  adminKube,
  condition,
  deleteNamespaces,
  getObj,
  type OperatorProcess,
  plugObj,
  socketObj,
  spawnOperator,
  startOperator,
  waitForCondition,
} from '../support/operator.ts';
import { eventually } from '../support/poll.ts';

const kube = adminKube();
const prefix = randomName('r');
const ns = `${prefix}-ns`;
const procs: OperatorProcess[] = [];

beforeAll(async () => {
  await kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
});

afterAll(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  // A fresh operator releases the finalizers so the namespace can go (the test apparatus is gone:
  // it gives up the decoupled calls at once instead of retrying them for 10 minutes).
  const cleaner = await startOperator({ namespaces: [ns], cleanupTimeoutMs: 0 });
  await deleteNamespaces(kube, [ns]);
  await cleaner.stop();
});

function spawn(env: Record<string, string> = {}): OperatorProcess {
  const p = spawnOperator({ WATCH_NAMESPACE: ns, ...env });
  procs.push(p);
  return p;
}

describe('operator process', () => {
  it('killed mid-coupling and restarted, delivers every event at least once and repeats only events in flight', async () => {
    const plugApp: ApparatusRecorder = await startRecorder({ delayMs: 40 });
    const socketApp: ApparatusRecorder = await startRecorder({ delayMs: 40 });
    const env = {
      DEBUG_PLUG_ENDPOINT: plugApp.url,
      DEBUG_SOCKET_ENDPOINT: socketApp.url,
      MAX_CONCURRENT_RECONCILES: '3',
    };
    try {
      const s = 'kill-socket';
      await kube.create(socketObj(ns, s, { apparatus: { containers: [] } }));
      const n = 24;
      const names = Array.from({ length: n }, (_, i) => `k${String(i).padStart(2, '0')}`);
      let op = spawn(env);
      await Promise.all(
        names.map((name) =>
          kube.create(plugObj(ns, name, { socket: { name: s }, apparatus: { containers: [] } })),
        ),
      );
      const kills = 3;
      for (let k = 0; k < kills; k++) {
        const target = (k + 1) * 8;
        await eventually(() => plugApp.calls.filter((c) => c.endpoint === 'coupled').length >= target, {
          what: `${target} plug-side coupled calls`,
          timeoutMs: 60_000,
        });
        await op.kill('SIGKILL');
        op = spawn(env);
      }
      for (const name of names)
        await waitForCondition(kube, 'Plug', ns, name, 'Coupled', 'True', undefined, 60_000);

      const check = (rec: ApparatusRecorder, endpoint: string) => {
        const byPlug = new Map<string, Set<string>>();
        let total = 0;
        for (const c of rec.calls.filter(
          (x) => x.endpoint === endpoint && x.plug && names.includes(x.plug),
        )) {
          total++;
          const keys = byPlug.get(c.plug!) ?? new Set<string>();
          keys.add(c.key ?? '');
          byPlug.set(c.plug!, keys);
        }
        // every plug got the event, always with one stable key
        expect([...byPlug.keys()].sort()).toEqual(names);
        for (const [plug, keys] of byPlug) expect(keys.size, `${endpoint} keys of ${plug}`).toBe(1);
        return total - names.length; // repeats
      };
      const repeats = {
        plugCreated: check(plugApp, 'created'),
        plugCoupled: check(plugApp, 'coupled'),
        socketCoupled: check(socketApp, 'coupled'),
      };
      // At most the events in flight at each kill are repeated: one per worker and kill.
      const bound = kills * 3;
      expect(repeats.plugCreated + repeats.plugCoupled + repeats.socketCoupled).toBeLessThanOrEqual(bound);
      // No updated, decoupled or deleted was invented by the restarts.
      for (const rec of [plugApp, socketApp]) {
        expect(rec.calls.filter((c) => ['updated', 'decoupled', 'deleted'].includes(c.endpoint))).toEqual([]);
      }
      // plug side first, for every plug
      for (const name of names) {
        const plugAt = plugApp.calls.find((c) => c.endpoint === 'coupled' && c.plug === name)!.at;
        const socketAt = socketApp.calls.find((c) => c.endpoint === 'coupled' && c.plug === name)!.at;
        expect(plugAt).toBeLessThanOrEqual(socketAt);
      }
      console.log(`restart test: repeats after ${kills} kills: ${JSON.stringify(repeats)} (bound ${bound})`);
      await op.kill('SIGTERM');
    } finally {
      await plugApp.close();
      await socketApp.close();
    }
  });

  it('with leader election, only the leader acts and a standby takes over within 20 s of its death', async () => {
    const env = {
      LEADER_ELECT: 'true',
      LEADER_ELECTION_NAMESPACE: ns,
      LEADER_ELECTION_ID: `${prefix}-lease`,
    };
    const a = spawn(env);
    await eventually(() => a.output().includes('starting controllers'), {
      what: 'a to lead',
      timeoutMs: 30_000,
    });
    const b = spawn(env);
    await eventually(() => b.output().includes('caches synced'), { what: 'b to sync', timeoutMs: 30_000 });
    const lease = await kube.get({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      namespace: ns,
      name: `${prefix}-lease`,
    });
    const holder = (lease?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;
    expect(holder).toBeTruthy();
    expect(a.output()).toContain(holder!);
    await kube.create(socketObj(ns, 'le-socket'));
    await kube.create(plugObj(ns, 'le-1', { socket: { name: 'le-socket' } }));
    await waitForCondition(kube, 'Plug', ns, 'le-1', 'Coupled', 'True');
    expect(b.output()).not.toContain('starting controllers');

    await a.kill('SIGKILL');
    const killedAt = Date.now();
    await kube.create(plugObj(ns, 'le-2', { socket: { name: 'le-socket' } }));
    await waitForCondition(kube, 'Plug', ns, 'le-2', 'Coupled', 'True', undefined, 20_000);
    const tookOver = Date.now() - killedAt;
    expect(b.output()).toContain('starting controllers');
    expect(tookOver).toBeLessThan(20_000);
    console.log(`leader election: standby coupled a new plug ${tookOver} ms after the leader was killed`);
    // graceful shutdown releases the lease at once
    await b.kill('SIGTERM');
    const released = await kube.get({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      namespace: ns,
      name: `${prefix}-lease`,
    });
    expect((released?.spec as { holderIdentity?: string } | undefined)?.holderIdentity).toBe('');
    expect(condition(await getObj(kube, 'Plug', ns, 'le-1'), 'Coupled')?.status).toBe('True');
  });
});
