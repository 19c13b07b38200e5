// The coupling lifecycle on the real API server: couple, update (plug spec, socket spec, epoch),
// decouple on deletion, socket deleted and re-created, socket created late, limit, namespace
// admission, invalid then fixed config, and the socket's summary.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiVersion } from '../../src/api/common.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { randomName } from '../support/kube.ts';
import {
  adminKube,
  condition,
  deleteNamespaces,
  eventsFor,
  getObj,
  type InProcessOperator,
  plugObj,
  socketObj,
  startOperator,
  waitForCondition,
} from '../support/operator.ts';
import { eventually } from '../support/poll.ts';

const kube = adminKube();
const prefix = randomName('c');
// Namespaces named so that a substring match would admit the wrong one: `prod-x` is inside `preprod-x`.
const db = `${prefix}-db`;
const app = `${prefix}-app`;
const prod = `prod-${prefix}`;
const preprod = `preprod-${prefix}`;
let op: InProcessOperator;

beforeAll(async () => {
  for (const [name, labels] of [
    [db, {}],
    [app, {}],
    [prod, { env: 'prod' }],
    [preprod, { env: 'staging' }],
  ] as const) {
    await kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
  }
  op = await startOperator({ namespaces: [db, app, prod, preprod] });
});

afterAll(async () => {
  await deleteNamespaces(kube, [db, app, prod, preprod]);
  await op?.stop();
});

const interfaceSpec = {
  config: {
    plug: { database: { required: true }, user: { default: 'app' } },
    socket: { host: { required: true }, port: { default: '5432' } },
  },
};

function lifecycleOf(plug: Awaited<ReturnType<typeof getObj>>) {
  return (
    plug?.status as {
      lifecycle?: {
        coupling?: {
          socketUid: string;
          plug?: { event: string; hash: string };
          socket?: { event: string; hash: string };
        };
        created?: string;
      };
    }
  )?.lifecycle;
}

describe('coupling lifecycle', () => {
  it('couples a plug to a socket, validates config against the interface and summarises the socket', async () => {
    const s = randomName('pg');
    await kube.create(socketObj(db, s, { interface: interfaceSpec, config: { host: 'pg.db.svc' } }));
    await kube.create(
      plugObj(app, 'p1', { socket: { name: s, namespace: db }, config: { database: 'appdb', extra: 'x' } }),
    );
    const plug = await waitForCondition(kube, 'Plug', app, 'p1', 'Coupled', 'True', 'CouplingSucceeded');
    expect(condition(plug, 'Ready')?.status).toBe('True');
    const socket = await getObj(kube, 'Socket', db, s);
    const st = plug.status as { coupledSocket: { uid: string; name: string; namespace: string } };
    expect(st.coupledSocket).toMatchObject({ name: s, namespace: db, uid: socket?.metadata.uid, apiVersion });
    // Plain values on both sides: nothing to clean up on deletion, so no finalizer (and one API write less).
    expect(plug.metadata.finalizers ?? []).not.toContain('integration.rock8s.com/finalizer');
    const life = lifecycleOf(plug)!;
    expect(life.created).toBeTruthy();
    expect(life.coupling?.plug?.event).toBe('coupled');
    expect(life.coupling?.socket?.event).toBe('coupled');
    await eventually(
      async () => {
        const so = await getObj(kube, 'Socket', db, s);
        const sst = so?.status as {
          coupledPlugCount?: number;
          coupledPlugs?: Array<{ name: string; uid: string }>;
        };
        return sst?.coupledPlugCount === 1 && sst.coupledPlugs?.[0]?.uid === plug.metadata.uid;
      },
      { what: 'the socket to list the plug' },
    );
    const events = await eventually(async () => {
      const ev = await eventsFor(kube, app, 'p1');
      return ev.some((e) => e.reason === 'PlugCoupled') ? ev : undefined;
    });
    expect(events.find((e) => e.reason === 'PlugCoupled')?.message).toContain(`coupled to socket ${db}/${s}`);
  });

  it('fires updated on a plug spec change, a socket spec change and an epoch change, staying Coupled', async () => {
    const s = randomName('pg');
    await kube.create(socketObj(db, s, { interface: interfaceSpec, config: { host: 'h1' } }));
    await kube.create(plugObj(app, 'p2', { socket: { name: s, namespace: db }, config: { database: 'a' } }));
    let plug = await waitForCondition(kube, 'Plug', app, 'p2', 'Coupled', 'True');
    const hashes = [lifecycleOf(plug)!.coupling!.plug!.hash];
    const waitUpdated = async () => {
      plug = await eventually(
        async () => {
          const p = await getObj(kube, 'Plug', app, 'p2');
          const c = lifecycleOf(p)?.coupling;
          return c?.plug?.event === 'updated' &&
            c.socket?.event === 'updated' &&
            !hashes.includes(c.plug.hash)
            ? p
            : undefined;
        },
        { what: 'an updated event on both sides' },
      );
      hashes.push(lifecycleOf(plug)!.coupling!.plug!.hash);
      expect(condition(plug, 'Coupled')?.status).toBe('True');
    };
    await kube.mergePatch(
      { apiVersion, kind: 'Plug', namespace: app, name: 'p2' },
      { spec: { config: { database: 'b' } } },
    );
    await waitUpdated();
    await kube.mergePatch(
      { apiVersion, kind: 'Socket', namespace: db, name: s },
      { spec: { config: { host: 'h2' } } },
    );
    await waitUpdated();
    await kube.mergePatch({ apiVersion, kind: 'Plug', namespace: app, name: 'p2' }, { spec: { epoch: '2' } });
    await waitUpdated();
    expect(new Set(hashes).size).toBe(4);
    const ev = await eventually(async () => {
      const e = await eventsFor(kube, app, 'p2');
      return e.filter((x) => x.reason === 'PlugUpdated').length >= 3 ? e : undefined;
    });
    expect(ev.filter((x) => x.reason === 'PlugCoupled')).toHaveLength(1);
  });

  it('decouples on plug deletion and removes the plug from the socket summary', async () => {
    const s = randomName('pg');
    await kube.create(socketObj(db, s, {}));
    await kube.create(plugObj(app, 'p3', { socket: { name: s, namespace: db } }));
    await waitForCondition(kube, 'Plug', app, 'p3', 'Coupled', 'True');
    await eventually(
      async () =>
        ((await getObj(kube, 'Socket', db, s))?.status as { coupledPlugCount?: number })?.coupledPlugCount ===
        1,
    );
    await kube.delete({ apiVersion, kind: 'Plug', namespace: app, name: 'p3' });
    await eventually(async () => (await getObj(kube, 'Plug', app, 'p3')) === undefined, {
      what: 'the plug to be gone',
    });
    await eventually(
      async () =>
        ((await getObj(kube, 'Socket', db, s))?.status as { coupledPlugCount?: number })?.coupledPlugCount ===
        0,
      {
        what: 'the socket to count 0 plugs',
      },
    );
  });

  it("reports its plugs' couplings on the socket: coupled, updated and decoupled, coalesced", async () => {
    const s = randomName('pg');
    await kube.create(socketObj(db, s, { config: { host: 'h1' } }));
    for (const n of ['e1', 'e2']) await kube.create(plugObj(app, n, { socket: { name: s, namespace: db } }));
    const socketEvents = (reason: string) =>
      eventually(
        async () => {
          const found = (await eventsFor(kube, db, s)).filter((e) => e.reason === reason);
          const names = found.flatMap((e) => e.message.replace(/^[a-z]+ \d+ plugs?: /, '').split(', '));
          return names.includes(`${app}/e1`) && names.includes(`${app}/e2`) ? found : undefined;
        },
        { what: `${reason} Events on the socket naming both plugs` },
      );
    const coupled = await socketEvents('SocketCoupled');
    expect(coupled.every((e) => e.type === 'Normal' && /^coupled [12] plugs?: /.test(e.message))).toBe(true);
    await kube.mergePatch(
      { apiVersion, kind: 'Socket', namespace: db, name: s },
      { spec: { config: { host: 'h2' } } },
    );
    await socketEvents('SocketUpdated');
    for (const n of ['e1', 'e2']) await kube.delete({ apiVersion, kind: 'Plug', namespace: app, name: n });
    await socketEvents('SocketDecoupled');
    // One Event per kind of change and pass, never one per plug and kind repeated.
    const all = await eventsFor(kube, db, s);
    expect(all.filter((e) => e.reason === 'SocketCoupled').length).toBeLessThanOrEqual(2);
  });

  it('keeps plugs when their socket is deleted, and re-couples them to a new socket of that name', async () => {
    const s = randomName('pg');
    await kube.create(socketObj(db, s, {}));
    await kube.create(plugObj(app, 'p4', { socket: { name: s, namespace: db } }));
    const first = await waitForCondition(kube, 'Plug', app, 'p4', 'Coupled', 'True');
    const firstUid = (first.status as { coupledSocket: { uid: string } }).coupledSocket.uid;
    await kube.delete({ apiVersion, kind: 'Socket', namespace: db, name: s });
    await waitForCondition(kube, 'Plug', app, 'p4', 'Coupled', 'False', 'SocketNotCreated');
    await eventually(async () => (await getObj(kube, 'Socket', db, s)) === undefined, {
      what: 'the socket to be gone',
    });
    expect(await getObj(kube, 'Plug', app, 'p4')).toBeDefined();
    await kube.create(socketObj(db, s, {}));
    const again = await waitForCondition(kube, 'Plug', app, 'p4', 'Coupled', 'True');
    const c = lifecycleOf(again)!.coupling!;
    expect(c.socketUid).not.toBe(firstUid);
    expect(c.plug?.event).toBe('coupled');
    const ev = await eventsFor(kube, app, 'p4');
    expect(ev.map((e) => e.reason)).toEqual(expect.arrayContaining(['PlugCoupled', 'PlugDecoupled']));
  });

  it('waits for a socket that does not exist yet, then couples when it is created', async () => {
    const s = randomName('late');
    await kube.create(plugObj(app, 'p5', { socket: { name: s, namespace: db } }));
    const waiting = await waitForCondition(kube, 'Plug', app, 'p5', 'Coupled', 'False', 'SocketNotCreated');
    expect(condition(waiting, 'Coupled')?.message).toContain(`${db}/${s}`);
    await kube.create(socketObj(db, s, {}));
    await waitForCondition(kube, 'Plug', app, 'p5', 'Coupled', 'True');
  });

  it('enforces the socket limit, couples a waiting plug when a slot frees, and never decouples on a lower limit', async () => {
    const s = randomName('lim');
    await kube.create(socketObj(db, s, { limit: 2 }));
    for (const n of ['l1', 'l2', 'l3'])
      await kube.create(plugObj(app, `${s}-${n}`, { socket: { name: s, namespace: db } }));
    const states = await eventually(
      async () => {
        const ps = await Promise.all(['l1', 'l2', 'l3'].map((n) => getObj(kube, 'Plug', app, `${s}-${n}`)));
        const coupled = ps.filter((p) => condition(p, 'Coupled')?.status === 'True') as KubeObject[];
        const waiting = ps.filter(
          (p) => condition(p, 'Coupled')?.reason === 'SocketLimitReached',
        ) as KubeObject[];
        return coupled.length === 2 && waiting.length === 1 ? { coupled, waiting } : undefined;
      },
      { what: '2 coupled and 1 waiting' },
    );
    await eventually(async () => {
      const st = (await getObj(kube, 'Socket', db, s))?.status as {
        waitingPlugs?: Record<string, number>;
        coupledPlugCount?: number;
      };
      return st?.coupledPlugCount === 2 && st.waitingPlugs?.SocketLimitReached === 1;
    });
    const waitingName = states.waiting[0]!.metadata.name!;
    await kube.mergePatch({ apiVersion, kind: 'Socket', namespace: db, name: s }, { spec: { limit: 1 } });
    // lowering the limit keeps both couplings
    await eventually(async () => {
      const p = await getObj(kube, 'Plug', app, states.coupled[0]!.metadata.name!);
      return lifecycleOf(p)?.coupling?.plug?.event === 'updated';
    });
    for (const c of states.coupled)
      expect(condition(await getObj(kube, 'Plug', app, c.metadata.name!), 'Coupled')?.status).toBe('True');
    await kube.mergePatch({ apiVersion, kind: 'Socket', namespace: db, name: s }, { spec: { limit: 2 } });
    await kube.delete({ apiVersion, kind: 'Plug', namespace: app, name: states.coupled[0]!.metadata.name! });
    await waitForCondition(kube, 'Plug', app, waitingName, 'Coupled', 'True');
  });

  it('admits namespaces by whole-name regex and by namespace labels', async () => {
    const s = randomName('ns');
    await kube.create(socketObj(db, s, { validation: { namespaceWhitelist: [`prod-${prefix}`] } }));
    await kube.create(plugObj(prod, 'n1', { socket: { name: s, namespace: db } }));
    await kube.create(plugObj(preprod, 'n1', { socket: { name: s, namespace: db } }));
    await waitForCondition(kube, 'Plug', prod, 'n1', 'Coupled', 'True');
    const refused = await waitForCondition(
      kube,
      'Plug',
      preprod,
      'n1',
      'Coupled',
      'False',
      'NamespaceNotAllowed',
    );
    expect(condition(refused, 'Coupled')?.message).toContain('whole name');

    const s2 = randomName('sel');
    await kube.create(
      socketObj(db, s2, { validation: { namespaceSelector: { matchLabels: { env: 'prod' } } } }),
    );
    await kube.create(plugObj(prod, 'n2', { socket: { name: s2, namespace: db } }));
    await kube.create(plugObj(preprod, 'n2', { socket: { name: s2, namespace: db } }));
    await waitForCondition(kube, 'Plug', prod, 'n2', 'Coupled', 'True');
    await waitForCondition(kube, 'Plug', preprod, 'n2', 'Coupled', 'False', 'NamespaceNotAllowed');
    // relabel the namespace: the plug is admitted
    await kube.mergePatch(
      { apiVersion: 'v1', kind: 'Namespace', name: preprod },
      { metadata: { labels: { env: 'prod' } } },
    );
    await waitForCondition(kube, 'Plug', preprod, 'n2', 'Coupled', 'True');
  });

  it('reports every missing required key, then couples once the config is fixed', async () => {
    const s = randomName('req');
    await kube.create(
      socketObj(db, s, { interface: { config: { plug: { a: { required: true }, b: { required: true } } } } }),
    );
    await kube.create(plugObj(app, 'r1', { socket: { name: s, namespace: db }, config: { b: '' } }));
    const bad = await waitForCondition(kube, 'Plug', app, 'r1', 'Coupled', 'False', 'ConfigInvalid');
    expect(condition(bad, 'Ready')?.message).toContain('plug config is missing required keys a, b');
    await eventually(async () =>
      (await eventsFor(kube, app, 'r1')).some((e) => e.type === 'Warning' && e.reason === 'ConfigInvalid'),
    );
    await kube.mergePatch(
      { apiVersion, kind: 'Plug', namespace: app, name: 'r1' },
      { spec: { config: { a: '1', b: '2' } } },
    );
    await waitForCondition(kube, 'Plug', app, 'r1', 'Coupled', 'True');
  });

  it('lists at most 100 plugs in the socket status but counts them all', async () => {
    const s = randomName('many');
    await kube.create(socketObj(db, s, {}));
    await Promise.all(
      Array.from({ length: 105 }, (_, i) =>
        kube.create(
          plugObj(app, `${s}-${String(i).padStart(3, '0')}`, { socket: { name: s, namespace: db } }),
        ),
      ),
    );
    const st = await eventually(
      async () => {
        const so = (await getObj(kube, 'Socket', db, s))?.status as {
          coupledPlugCount?: number;
          coupledPlugs?: Array<{ name: string }>;
        };
        return so?.coupledPlugCount === 105 ? so : undefined;
      },
      { what: '105 coupled plugs', timeoutMs: 60_000 },
    );
    expect(st.coupledPlugs).toHaveLength(100);
    expect(st.coupledPlugs![0]!.name).toBe(`${s}-000`);
  });
});
