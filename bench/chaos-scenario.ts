import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { apiVersion } from '../src/api/common.ts';
import { installCrds } from '../src/api/install.ts';
import { KubeClient } from '../src/kube/client.ts';
import { ApiError } from '../src/kube/errors.ts';
import { Kube } from '../src/kube/objects.ts';
import type { KubeObject } from '../src/kube/types.ts';
import {
  type ApparatusRecorder,
  type RecordedCall,
  startRecorder,
} from '../test/support/apparatus-recorder.ts';
import { type OperatorProcess, probePort, spawnOperatorProcess } from '../test/support/operator-process.ts';
import { eventually } from '../test/support/poll.ts';
import {
  type ControlPlaneState,
  down,
  startApiserver,
  stopApiserver,
  up,
} from '../tools/controlplane/controlplane.ts';

const _root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ns = 'chaos';

export interface ChaosOptions {
  plugs: number;
  sockets: number;
  kills: number;
  apiserverRestarts: number;
  /** How long one socket's apparatus answers 503 (0: never). */
  apparatusOutageMs: number;
  /** Plugs deleted and re-created at once while coupling. */
  recreatePlugs: number;
  /** Re-create one socket (delete and create again) while coupling. */
  recreateSocket: boolean;
  /** Plugs whose epoch is changed while coupling (each owes an updated on both sides). */
  updatePlugs?: number;
  /** Time allowed for convergence after the last fault. */
  convergeTimeoutMs: number;
  /** Random gap between kills (ms). */
  killGapMs: [number, number];
  /** MAX_CONCURRENT_RECONCILES of the operator (default: the operator's default). */
  workers?: number;
  /** Control-plane state folder (default: a fresh temporary one). */
  stateDir?: string;
  log?: (line: string) => void;
  seed?: number;
}

export interface RepeatInfo {
  endpoint: string;
  side: 'plug' | 'socket';
  plug: string;
  deliveries: number;
  keys: number;
  why: string;
}

export interface ChaosReport {
  ok: boolean;
  problems: string[];
  plugs: number;
  kills: number;
  apiserverRestarts: number;
  /** ms from the start of the scenario until every plug was Coupled (after the last fault). */
  convergeMs: number;
  /** ms from the last fault until every plug was Coupled. */
  convergeAfterLastFaultMs: number;
  /** ms from each operator restart until its /readyz answered. */
  operatorReadyMs: number[];
  /** ms from each API server start until the operator next reached the apparatus. */
  apiserverRecoveryMs: number[];
  /** ms from the end of the apparatus outage until a call to it succeeded. */
  apparatusRecoveryMs: number | undefined;
  deliveries: number;
  repeatedDeliveries: number;
  repeatsByWhy: Record<string, number>;
  repeatsWithDifferentKeys: RepeatInfo[];
  /** Repeats no fault explains: event, plug, times (s from start) of the deliveries. */
  unexplainedRepeats: string[];
  owedEvents: number;
  /** Of which updated events (epoch changed while coupled). */
  owedUpdates: number;
  missingEvents: string[];
  resources: { expected: number; found: number; wrong: string[]; orphans: string[]; missing: string[] };
  orphansAfterHalfDeleted: string[];
  halfDeletedMs: number;
}

/** Deterministic pseudo-random numbers (mulberry32) so a failing run can be replayed by seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls with a deadline (test/support/poll.ts), intervals of 250 ms by default. */
function until<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  intervalMs = 250,
): Promise<T> {
  return eventually(check, { what, timeoutMs, intervalMs });
}

function socketName(i: number): string {
  return `s-${i}`;
}
function plugName(i: number): string {
  return `p-${String(i).padStart(4, '0')}`;
}

function socketSpec(i: number): Record<string, unknown> {
  return {
    apparatus: { containers: [] },
    config: { endpoint: `db-${i}.example` },
    resources: [
      {
        when: ['coupled', 'updated'],
        // Odd sockets recreate their object on every event (create-only at a first coupling,
        // delete then apply on updates and after a kill between the apply and its record).
        ...(i % 2 === 1 ? { do: 'recreate' } : {}),
        template: {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            name: 's-{%= it.socket.metadata.name %}-{%= it.plug.metadata.name %}',
            labels: {
              'chaos-resource': 'socket',
              'chaos-plug': '{%= it.plug.metadata.name %}',
              'chaos-socket': '{%= it.socket.metadata.name %}',
            },
          },
          data: {
            plugValue: '{%= it.plugConfig.value %}',
            plugUid: '{%= it.plug.metadata.uid %}',
            socketUid: '{%= it.socket.metadata.uid %}',
          },
        },
      },
    ],
  };
}

function plugSpec(i: number, sockets: number): Record<string, unknown> {
  return {
    socket: { name: socketName(i % sockets) },
    apparatus: { containers: [] },
    config: { value: `v-${plugName(i)}` },
    resources: [
      {
        when: ['coupled', 'updated'],
        template: {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            // Go dialect on the plug side, eta on the socket side: both run through the sandbox.
            name: 'p-{% .plug.metadata.name %}',
            labels: { 'chaos-resource': 'plug', 'chaos-plug': '{% .plug.metadata.name %}' },
          },
          data: {
            endpoint: '{% .socketConfig.endpoint %}',
            socketUid: '{% .socket.metadata.uid %}',
            plugUid: '{% .plug.metadata.uid %}',
          },
        },
      },
    ],
  };
}

const plugObj = (i: number, sockets: number): KubeObject => ({
  apiVersion,
  kind: 'Plug',
  metadata: { name: plugName(i), namespace: ns },
  spec: plugSpec(i, sockets),
});
const socketObj = (i: number): KubeObject => ({
  apiVersion,
  kind: 'Socket',
  metadata: { name: socketName(i), namespace: ns },
  spec: socketSpec(i),
});

interface Cond {
  type: string;
  status: string;
  reason?: string;
}
function coupledTo(p: KubeObject | undefined): string | undefined {
  const st = p?.status as { conditions?: Cond[]; coupledSocket?: { uid?: string } } | undefined;
  const c = st?.conditions?.find((x) => x.type === 'Coupled');
  return c?.status === 'True' ? st?.coupledSocket?.uid : undefined;
}
/** Coupled and Ready for its current generation (an update, e.g. of the epoch, is done). */
function settledPlug(p: KubeObject): boolean {
  const st = p.status as { conditions?: Array<Cond & { observedGeneration?: number }> } | undefined;
  const ready = st?.conditions?.find((x) => x.type === 'Ready');
  return (
    Boolean(coupledTo(p)) && ready?.status === 'True' && ready.observedGeneration === p.metadata.generation
  );
}
function createdRecorded(p: KubeObject | undefined): boolean {
  return Boolean((p?.status as { lifecycle?: { created?: string } } | undefined)?.lifecycle?.created);
}

/** Runs a request of the harness itself again while the API server is down (it restarts on purpose). */
async function retrying<T>(fn: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      const transient =
        err instanceof ApiError && (err.status === 0 || err.status >= 500 || err.status === 429);
      if (!transient || Date.now() > deadline) throw err;
      await sleep(250);
    }
  }
}

/** Creates `obj`, retrying while an object of that name is still terminating. */
async function createWhenFree(kube: Kube, obj: KubeObject, timeoutMs = 120_000): Promise<KubeObject> {
  return until(
    `${obj.kind} ${obj.metadata.name} to be created again`,
    async () => {
      try {
        return await retrying(() => kube.create(obj));
      } catch (err) {
        if (err instanceof ApiError && err.status === 409) return undefined;
        throw err;
      }
    },
    timeoutMs,
    100,
  );
}

async function mapLimit<T>(items: T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (i < items.length) await fn(items[i++]!);
    }),
  );
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const seed = opts.seed ?? Date.now() % 1_000_000;
  const random = rng(seed);
  const t0 = Date.now();
  const at = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
  const say = (m: string) => log(`[chaos ${at()}] ${m}`);
  say(
    `seed ${seed}: ${opts.plugs} plugs on ${opts.sockets} sockets, ${opts.kills} kills, ${opts.apiserverRestarts} API server restarts`,
  );

  const stateDir = opts.stateDir ?? path.join(mkdtempSync(path.join(tmpdir(), 'chaos-')), 'state');
  await down({ stateDir, verbose: false });
  // A kubeconfig of its own: `down` deletes it, and .cluster/kubeconfig is the shared control plane's.
  const { state } = await up({ stateDir, verbose: false, kubeconfigPath: `${stateDir}.kubeconfig` });
  const kc = new KubeConfig();
  kc.loadFromFile(state.kubeconfig);
  const client = new KubeClient({ kubeConfig: kc, qps: 0, maxSockets: 16 });
  const kube = new Kube(client);
  const recorders: ApparatusRecorder[] = [];
  let op: OperatorProcess | undefined;
  const problems: string[] = [];
  try {
    await installCrds(kube, { manager: 'chaos' });
    await kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await kube.apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'tenant', namespace: ns },
      rules: [
        { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'create', 'patch', 'delete'] },
      ],
    } as unknown as KubeObject);
    await kube.apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'tenant', namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'tenant' },
      subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: ns }],
    } as unknown as KubeObject);

    // Apparatus: one for every plug, one for every socket but the flaky one, which has its own.
    const flakySocket = socketName(Math.min(2, opts.sockets - 1));
    let outage: { from: number; to: number } | undefined;
    const failing = () => (outage && Date.now() >= outage.from && Date.now() < outage.to ? 503 : undefined);
    const plugApp = await startRecorder({ delayMs: 5 });
    const socketApp = await startRecorder({ delayMs: 5 });
    const flakyApp = await startRecorder({ delayMs: 5, failWith: failing });
    recorders.push(plugApp, socketApp, flakyApp);

    const env: Record<string, string> = {
      DEBUG_PLUG_ENDPOINT: plugApp.url,
      DEBUG_SOCKET_ENDPOINT: socketApp.url,
      APPARATUS_ENDPOINT_OVERRIDES: `Socket/${ns}/${flakySocket}=${flakyApp.url}`,
      WATCH_NAMESPACE: ns,
      ...(opts.workers ? { MAX_CONCURRENT_RECONCILES: String(opts.workers) } : {}),
      APPARATUS_TIMEOUT_MS: '3000',
      APPARATUS_ATTEMPTS: '2',
      LOG_LEVEL: process.env.CHAOS_LOG_LEVEL ?? 'warn',
    };
    const operatorReadyMs: number[] = [];
    let restarts = 0;
    const spawnOp = (): OperatorProcess => {
      const port = probePort();
      const spawned = spawnOperatorProcess(
        { HEALTH_PROBE_BIND_ADDRESS: `127.0.0.1:${port}`, METRICS_BIND_ADDRESS: '0', ...env },
        state.kubeconfig,
        200_000,
      );
      const started = Date.now();
      void (async () => {
        for (;;) {
          if (!spawned.running()) return;
          try {
            if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) {
              operatorReadyMs.push(Date.now() - started);
              return;
            }
          } catch {
            // not yet
          }
          await sleep(50);
        }
      })();
      return spawned;
    };
    const kill = async () => {
      if (!op) return;
      op.proc.kill('SIGKILL');
      await op.exited;
      if (op.proc.exitCode !== null && op.proc.exitCode !== 0 && op.proc.signalCode === null)
        problems.push(
          `the operator exited on its own with code ${op.proc.exitCode}:\n${op.output().slice(-3000)}`,
        );
      op = spawnOp();
      restarts++;
    };

    // Tracking what each plug went through, to know which events are owed.
    const plugUids = new Map<string, string>(); // uid -> plug name, every plug object ever created
    const socketUids = new Map<string, string>(); // uid -> socket name
    /** [plugUid, socketUid] couplings observed Coupled before they were ended on purpose. */
    const endedCouplings: Array<[string, string]> = [];
    const deletedPlugsWithCreated = new Set<string>();
    /** Plugs whose epoch was changed while they were Coupled: uid -> socket uid then. */
    const epochChanged = new Map<string, string>();
    const deletedSockets = new Set<string>();
    const faults: Array<{ at: number; what: string }> = [];

    op = spawnOp();
    for (let i = 0; i < opts.sockets; i++) {
      const s = await kube.create(socketObj(i));
      socketUids.set(s.metadata.uid!, s.metadata.name!);
    }
    say('sockets created; creating plugs');
    const indexes = Array.from({ length: opts.plugs }, (_, i) => i);
    await mapLimit(indexes, 16, async (i) => {
      const p = await kube.create(plugObj(i, opts.sockets));
      plugUids.set(p.metadata.uid!, p.metadata.name!);
    });
    say(`${opts.plugs} plugs created`);

    // Faults, concurrently with the coupling.
    const countCoupled = async () => {
      const list = await kube.list({ apiVersion, kind: 'Plug', namespace: ns });
      return list.items.filter(settledPlug).length;
    };
    const killLoop = (async () => {
      for (let k = 0; k < opts.kills; k++) {
        const [lo, hi] = opts.killGapMs;
        await sleep(lo + random() * (hi - lo));
        faults.push({ at: Date.now(), what: 'kill' });
        await kill();
        say(`SIGKILL ${k + 1}/${opts.kills} and restart`);
      }
    })();
    const apiserverRecoveryMs: number[] = [];
    const apiLoop = (async () => {
      for (let r = 0; r < opts.apiserverRestarts; r++) {
        await sleep(4_000 + random() * 6_000);
        say(`stopping kube-apiserver (${r + 1}/${opts.apiserverRestarts})`);
        faults.push({ at: Date.now(), what: 'apiserver-down' });
        await stopApiserver(state);
        await sleep(2_000 + random() * 2_000);
        await startApiserver(state);
        const back = Date.now();
        faults.push({ at: back, what: 'apiserver-up' });
        say('kube-apiserver back');
        void until(
          'the operator to reach an apparatus after the API server restart',
          () => [plugApp, socketApp, flakyApp].some((a) => a.calls.some((c) => c.at > back)),
          120_000,
          50,
        ).then(
          () => apiserverRecoveryMs.push(Date.now() - back),
          () => apiserverRecoveryMs.push(-1),
        );
      }
    })();
    let apparatusRecoveryMs: number | undefined;
    const outageLoop = (async () => {
      if (!opts.apparatusOutageMs) return;
      await sleep(2_000 + random() * 3_000);
      outage = { from: Date.now(), to: Date.now() + opts.apparatusOutageMs };
      faults.push({ at: outage.from, what: 'apparatus-outage' });
      say(`apparatus of socket ${flakySocket} answers 503 for ${opts.apparatusOutageMs / 1000} s`);
      await sleep(opts.apparatusOutageMs);
      faults.push({ at: Date.now(), what: 'apparatus-back' });
      const end = outage.to;
      say(`apparatus of socket ${flakySocket} answers again`);
      await until(
        'a successful call to the flaky apparatus',
        () => flakyApp.calls.some((c) => c.at >= end && c.ok),
        300_000,
        100,
      ).then(
        () => {
          apparatusRecoveryMs = Date.now() - end;
        },
        () => undefined,
      );
    })();
    const recreateLoop = (async () => {
      await sleep(3_000 + random() * 5_000);
      if (opts.recreatePlugs) {
        const chosen = new Set<number>();
        while (chosen.size < Math.min(opts.recreatePlugs, opts.plugs))
          chosen.add(Math.floor(random() * opts.plugs));
        say(`deleting and re-creating ${chosen.size} plugs`);
        faults.push({ at: Date.now(), what: 'recreate-plugs' });
        await mapLimit([...chosen], 16, async (i) => {
          const name = plugName(i);
          const before = await retrying(() => kube.get({ apiVersion, kind: 'Plug', namespace: ns, name }));
          if (before) {
            const coupled = coupledTo(before);
            if (coupled) endedCouplings.push([before.metadata.uid!, coupled]);
            if (createdRecorded(before)) deletedPlugsWithCreated.add(before.metadata.uid!);
          }
          await retrying(() => kube.delete({ apiVersion, kind: 'Plug', namespace: ns, name }));
          const p = await createWhenFree(kube, plugObj(i, opts.sockets)).catch(async (err: unknown) => {
            // Say why the old plug is still there: its status, and what the operator printed.
            const old = await kube
              .get({ apiVersion, kind: 'Plug', namespace: ns, name })
              .catch(() => undefined);
            throw new Error(
              `${err instanceof Error ? err.message : String(err)}\nthe old plug: ${JSON.stringify({ metadata: old?.metadata, status: old?.status })}\noperator output (last 3000 characters):\n${op?.output().slice(-3000) ?? ''}`,
            );
          });
          plugUids.set(p.metadata.uid!, p.metadata.name!);
        });
        say(`${chosen.size} plugs re-created`);
      }
      if (opts.recreateSocket) {
        await sleep(2_000 + random() * 3_000);
        const target = Math.min(3, opts.sockets - 1);
        const name = socketName(target);
        say(`deleting and re-creating socket ${name}`);
        faults.push({ at: Date.now(), what: 'recreate-socket' });
        const s = await retrying(() => kube.get({ apiVersion, kind: 'Socket', namespace: ns, name }));
        const plugs = await retrying(() => kube.list({ apiVersion, kind: 'Plug', namespace: ns }));
        for (const p of plugs.items) {
          const u = coupledTo(p);
          if (u && u === s?.metadata.uid) endedCouplings.push([p.metadata.uid!, u]);
        }
        if (s) deletedSockets.add(s.metadata.uid!);
        await retrying(() => kube.delete({ apiVersion, kind: 'Socket', namespace: ns, name }));
        const again = await createWhenFree(kube, socketObj(target), 300_000);
        socketUids.set(again.metadata.uid!, name);
        say(`socket ${name} re-created`);
      }
      if (opts.updatePlugs) {
        await sleep(1_000 + random() * 2_000);
        const chosen = new Set<number>();
        while (chosen.size < Math.min(opts.updatePlugs, opts.plugs))
          chosen.add(Math.floor(random() * opts.plugs));
        say(`changing the epoch of ${chosen.size} plugs`);
        faults.push({ at: Date.now(), what: 'epoch-change' });
        await mapLimit([...chosen], 16, async (i) => {
          const ref = { apiVersion, kind: 'Plug', namespace: ns, name: plugName(i) };
          const before = await retrying(() => kube.get(ref));
          const u = coupledTo(before);
          if (before && u) epochChanged.set(before.metadata.uid!, u);
          await retrying(() => kube.mergePatch(ref, { spec: { epoch: 'chaos-1' } }));
        });
      }
    })();
    await Promise.all([killLoop, apiLoop, outageLoop, recreateLoop]);
    const lastFault = Math.max(...faults.map((f) => f.at), t0);
    say('faults done; waiting for every plug to be Coupled');
    let lastReport = 0;
    await until(
      'every plug to be Coupled and Ready for its generation',
      async () => {
        const n = await countCoupled();
        if (Date.now() - lastReport > 5_000) {
          lastReport = Date.now();
          say(`${n}/${opts.plugs} coupled`);
        }
        return n === opts.plugs;
      },
      opts.convergeTimeoutMs,
      500,
    );
    const convergedAt = Date.now();
    say(`every plug Coupled (${((convergedAt - lastFault) / 1000).toFixed(1)} s after the last fault)`);

    // Resources: exactly the expected set, with the right content.
    const checkResources = async (): Promise<ChaosReport['resources']> => {
      const plugs = (await kube.list({ apiVersion, kind: 'Plug', namespace: ns })).items.filter(
        (p) => !p.metadata.deletionTimestamp,
      );
      const sockets = new Map(
        (await kube.list({ apiVersion, kind: 'Socket', namespace: ns })).items.map((s) => [
          s.metadata.name!,
          s,
        ]),
      );
      const cms = (
        await kube.list(
          { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns },
          { labelSelector: 'chaos-resource' },
        )
      ).items;
      const found = new Map(cms.map((c) => [c.metadata.name!, c]));
      const expected = new Set<string>();
      const wrong: string[] = [];
      const missing: string[] = [];
      for (const p of plugs) {
        const name = p.metadata.name!;
        const sname = (p.spec as { socket: { name: string } }).socket.name;
        const s = sockets.get(sname);
        const pc = `p-${name}`;
        const sc = `s-${sname}-${name}`;
        expected.add(pc);
        expected.add(sc);
        const pcm = found.get(pc)?.data as Record<string, string> | undefined;
        const scm = found.get(sc)?.data as Record<string, string> | undefined;
        if (!pcm) missing.push(pc);
        else if (
          pcm.endpoint !== `db-${sname.slice(2)}.example` ||
          pcm.socketUid !== s?.metadata.uid ||
          pcm.plugUid !== p.metadata.uid
        )
          wrong.push(`${pc}: ${JSON.stringify(pcm)}`);
        if (!scm) missing.push(sc);
        else if (
          scm.plugValue !== `v-${name}` ||
          scm.plugUid !== p.metadata.uid ||
          scm.socketUid !== s?.metadata.uid
        )
          wrong.push(`${sc}: ${JSON.stringify(scm)}`);
      }
      const orphans = [...found.keys()].filter((k) => !expected.has(k));
      return { expected: expected.size, found: found.size, wrong, orphans, missing };
    };
    const resources = await checkResources();
    if (resources.wrong.length)
      problems.push(`resources with wrong content: ${resources.wrong.slice(0, 5).join('; ')}`);
    if (resources.missing.length)
      problems.push(`missing resources: ${resources.missing.slice(0, 10).join(', ')}`);
    if (resources.orphans.length)
      problems.push(`orphaned resources: ${resources.orphans.slice(0, 10).join(', ')}`);
    say(`resources: ${resources.found} found, ${resources.expected} expected`);

    // Delete half the plugs: their resources must go, nothing else.
    const halfStart = Date.now();
    const live = (await kube.list({ apiVersion, kind: 'Plug', namespace: ns })).items;
    const half = live.filter((_, i) => i % 2 === 0);
    const coupledAtConvergence = new Map(live.map((p) => [p.metadata.uid!, coupledTo(p)]));
    for (const p of half) {
      const u = coupledTo(p);
      if (u) endedCouplings.push([p.metadata.uid!, u]);
      deletedPlugsWithCreated.add(p.metadata.uid!);
    }
    say(`deleting ${half.length} plugs`);
    await mapLimit(half, 16, async (p) => {
      await kube.delete({ apiVersion, kind: 'Plug', namespace: ns, name: p.metadata.name! });
    });
    await until(
      'the deleted plugs to be gone',
      async () =>
        (await kube.list({ apiVersion, kind: 'Plug', namespace: ns })).items.length ===
        live.length - half.length,
      opts.convergeTimeoutMs,
      500,
    );
    const halfDeletedMs = Date.now() - halfStart;
    const after = await checkResources();
    const orphansAfterHalfDeleted = [...after.orphans, ...after.missing.map((m) => `missing ${m}`)];
    if (orphansAfterHalfDeleted.length)
      problems.push(`after deleting half the plugs: ${orphansAfterHalfDeleted.slice(0, 10).join(', ')}`);
    say(
      `half deleted in ${(halfDeletedMs / 1000).toFixed(1)} s; ${after.found} resources left, ${after.orphans.length} orphans`,
    );

    // Lifecycle events: owed, delivered, repeated.
    await sleep(1_000);
    const sideOf = (rec: ApparatusRecorder): 'plug' | 'socket' => (rec === plugApp ? 'plug' : 'socket');
    type Call = RecordedCall & { side: 'plug' | 'socket' };
    const calls: Call[] = [];
    for (const rec of [plugApp, socketApp, flakyApp])
      for (const c of rec.calls) if (c.endpoint !== 'config') calls.push({ ...c, side: sideOf(rec) });
    const uidOf = (o: unknown) => (o as { metadata?: { uid?: string } } | undefined)?.metadata?.uid ?? '';
    const epochOf = (o: unknown) => (o as { spec?: { epoch?: string } } | undefined)?.spec?.epoch ?? '';
    // An updated is one event per change: the epoch it was for is part of its identity.
    const identity = (c: Call) =>
      c.endpoint === 'created' || c.endpoint === 'deleted'
        ? `${c.side}/${c.endpoint}/${uidOf(c.body.plug ?? c.body.socket)}`
        : c.endpoint === 'updated'
          ? `${c.side}/updated/${uidOf(c.body.plug)}/${uidOf(c.body.socket)}/${epochOf(c.body.plug)}`
          : `${c.side}/${c.endpoint}/${uidOf(c.body.plug)}/${uidOf(c.body.socket)}`;
    const delivered = new Map<string, Call[]>();
    const attempted = new Map<string, Call[]>();
    for (const c of calls) {
      const id = identity(c);
      attempted.set(id, [...(attempted.get(id) ?? []), c]);
      if (c.ok) delivered.set(id, [...(delivered.get(id) ?? []), c]);
    }
    const owed = new Set<string>();
    const finalPlugs = (await kube.list({ apiVersion, kind: 'Plug', namespace: ns })).items;
    for (const p of [...finalPlugs]) {
      const uid = p.metadata.uid!;
      const su = coupledTo(p)!;
      owed.add(`plug/created/${uid}`);
      owed.add(`plug/coupled/${uid}/${su}`);
      owed.add(`socket/coupled/${uid}/${su}`);
    }
    for (const [pu, su] of endedCouplings) {
      owed.add(`plug/coupled/${pu}/${su}`);
      owed.add(`socket/coupled/${pu}/${su}`);
      owed.add(`plug/decoupled/${pu}/${su}`);
      owed.add(`socket/decoupled/${pu}/${su}`);
    }
    for (const pu of deletedPlugsWithCreated) {
      owed.add(`plug/created/${pu}`);
      owed.add(`plug/deleted/${pu}`);
    }
    for (const [pu, su] of epochChanged) {
      // Still coupled to the same socket after the change: both sides owe an updated for it.
      if (coupledAtConvergence.get(pu) !== su) continue;
      owed.add(`plug/updated/${pu}/${su}/chaos-1`);
      owed.add(`socket/updated/${pu}/${su}/chaos-1`);
    }
    for (const su of socketUids.keys()) owed.add(`socket/created/${su}`);
    for (const su of deletedSockets) owed.add(`socket/deleted/${su}`);
    const missingEvents = [...owed].filter((id) => !delivered.has(id));
    if (missingEvents.length)
      problems.push(
        `${missingEvents.length} owed events never delivered: ${missingEvents.slice(0, 10).join(', ')}`,
      );

    // Repeats: deliveries of the same event beyond the first, explained by the nearest fault.
    const repeatsByWhy: Record<string, number> = {};
    const repeatsWithDifferentKeys: RepeatInfo[] = [];
    const unexplainedRepeats: string[] = [];
    let repeatedDeliveries = 0;
    let deliveries = 0;
    const kills = faults.filter((f) => f.what === 'kill').map((f) => f.at);
    // Intervals during which a fault was in force: the API server down (a step after the
    // apparatus call, such as a status write or a resource deletion, fails and the event is
    // retried), the flaky apparatus failing (an event whose other side failed is retried whole).
    const spans = (from: string, to: string) =>
      faults
        .filter((f) => f.what === from)
        .map((f) => [f.at, faults.find((g) => g.what === to && g.at >= f.at)?.at ?? Date.now()] as const);
    const apiDown = spans('apiserver-down', 'apiserver-up');
    const overlaps = (list: ReadonlyArray<readonly [number, number]>, a: number, b: number) =>
      list.some(([from, to]) => from <= b && to >= a - 100);
    for (const [id, list] of delivered) {
      deliveries += list.length;
      const keys = new Set((attempted.get(id) ?? list).map((c) => c.key));
      const [side, endpoint] = id.split('/') as ['plug' | 'socket', string];
      // The key is stable for the same inputs: a plug whose epoch changed between a delivery the
      // operator could not record (killed) and its retry is coupled with other inputs, under a new
      // key (its generation changed too). Only keys that differ for the same epoch are wrong.
      const keysByEpoch = new Map<string, Set<string | undefined>>();
      for (const c of attempted.get(id) ?? list) {
        const e = epochOf(c.body.plug);
        keysByEpoch.set(e, (keysByEpoch.get(e) ?? new Set()).add(c.key));
      }
      if ([...keysByEpoch.values()].some((k) => k.size > 1)) {
        repeatsWithDifferentKeys.push({
          endpoint,
          side,
          plug: list[0]!.plug ?? '',
          deliveries: list.length,
          keys: keys.size,
          why: `different Idempotency-Keys for one event, delivered at ${list.map((c) => ((c.at - t0) / 1000).toFixed(2)).join(', ')} s`,
        });
      }
      for (let i = 1; i < list.length; i++) {
        repeatedDeliveries++;
        const prev = list[i - 1]!.at;
        const cur = list[i]!.at;
        const why = kills.some((k) => k >= prev - 50 && k <= cur)
          ? 'operator killed before recording it'
          : overlaps(apiDown, prev, cur)
            ? 'a later step failed while the API server was down (retried whole)'
            : 'repeated without a fault in between';
        repeatsByWhy[why] = (repeatsByWhy[why] ?? 0) + 1;
        if (why === 'repeated without a fault in between')
          unexplainedRepeats.push(
            `${side} ${endpoint} of ${list[0]!.plug ?? list[0]!.socket} at ${list.map((c) => ((c.at - t0) / 1000).toFixed(2)).join(', ')} s (${keys.size} key${keys.size === 1 ? '' : 's'})`,
          );
      }
    }
    if (repeatsWithDifferentKeys.length)
      problems.push(
        `${repeatsWithDifferentKeys.length} events repeated with different Idempotency-Keys: ${repeatsWithDifferentKeys
          .slice(0, 5)
          .map((r) => `${r.side} ${r.endpoint} of ${r.plug} (${r.keys} keys, ${r.why})`)
          .join('; ')}`,
      );
    const unexplained = repeatsByWhy['repeated without a fault in between'] ?? 0;
    if (unexplained)
      problems.push(
        `${unexplained} events repeated without a fault in between: ${unexplainedRepeats.slice(0, 10).join('; ')}; faults at ${faults.map((f) => `${f.what} ${((f.at - t0) / 1000).toFixed(2)}`).join(', ')}`,
      );
    if (op && !op.running())
      problems.push(`the operator is not running at the end:\n${op.output().slice(-3000)}`);

    return {
      ok: problems.length === 0,
      problems,
      plugs: opts.plugs,
      kills: restarts,
      apiserverRestarts: opts.apiserverRestarts,
      convergeMs: convergedAt - t0,
      convergeAfterLastFaultMs: convergedAt - lastFault,
      operatorReadyMs,
      apiserverRecoveryMs,
      apparatusRecoveryMs,
      deliveries,
      repeatedDeliveries,
      repeatsByWhy,
      repeatsWithDifferentKeys,
      unexplainedRepeats,
      owedEvents: owed.size,
      owedUpdates: [...owed].filter((id) => id.includes('/updated/')).length,
      missingEvents,
      resources,
      orphansAfterHalfDeleted,
      halfDeletedMs,
    };
  } finally {
    if (op) {
      op.proc.kill('SIGTERM');
      await Promise.race([op.exited, sleep(10_000)]);
      op.proc.kill('SIGKILL');
    }
    for (const r of recorders) await r.close();
    client.close();
    await down({ stateDir, verbose: false });
  }
}

export type { ControlPlaneState };
