// Objects the API server admits but that are wrong: each ends in a condition with a reason and a
// message, and a Warning Event; the operator keeps running and a canary plug keeps coupling.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomName } from '../support/kube.ts';
import {
  adminKube,
  condition,
  deleteNamespaces,
  eventsFor,
  type InProcessOperator,
  plugObj,
  socketObj,
  startOperator,
  waitForCondition,
} from '../support/operator.ts';
import { eventually } from '../support/poll.ts';

const kube = adminKube();
const prefix = randomName('bad');
const ns = `${prefix}-a`;
const other = `${prefix}-b`;
let op: InProcessOperator;
let canaries = 0;

beforeAll(async () => {
  for (const name of [ns, other])
    await kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  await kube.create(socketObj(ns, 'good'));
  op = await startOperator({ namespaces: [ns, other] });
});

afterAll(async () => {
  await deleteNamespaces(kube, [ns, other]);
  await op?.stop();
});

/** After each bad object, a new plug on a good socket still couples. */
async function canary(): Promise<void> {
  const name = `canary-${canaries++}`;
  await kube.create(plugObj(ns, name, { socket: { name: 'good' } }));
  await waitForCondition(kube, 'Plug', ns, name, 'Coupled', 'True');
}

async function expectWarning(name: string, reason: string): Promise<void> {
  await eventually(
    async () => (await eventsFor(kube, ns, name)).some((e) => e.type === 'Warning' && e.reason === reason),
    {
      what: `a Warning ${reason} on ${name}`,
    },
  );
}

const cases: Array<{
  name: string;
  objects: () => Array<ReturnType<typeof plugObj>>;
  kind: 'Plug' | 'Socket';
  obj: string;
  type: string;
  reason: string;
  message: RegExp;
  warning?: string;
}> = [
  {
    name: 'a plug with an empty socket name',
    objects: () => [plugObj(ns, 'empty-name', { socket: { name: '' } })],
    kind: 'Plug',
    obj: 'empty-name',
    type: 'Coupled',
    reason: 'Error',
    message: /spec\.socket\.name is empty/,
  },
  {
    name: 'a plug without a socket',
    objects: () => [plugObj(ns, 'no-socket', {})],
    kind: 'Plug',
    obj: 'no-socket',
    type: 'Coupled',
    reason: 'Error',
    message: /spec\.socket\.name is empty/,
  },
  {
    name: 'a socket in a namespace that does not exist',
    objects: () => [plugObj(ns, 'ghost-ns', { socket: { name: 'x', namespace: `${prefix}-nowhere` } })],
    kind: 'Plug',
    obj: 'ghost-ns',
    type: 'Coupled',
    reason: 'SocketNotWatched',
    message: /does not watch/,
  },
  {
    name: 'an unknown `when`',
    objects: () => [
      plugObj(ns, 'bad-when', {
        socket: { name: 'good' },
        resources: [
          { when: ['coupld'], template: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } } },
        ],
      }),
    ],
    kind: 'Plug',
    obj: 'bad-when',
    type: 'Ready',
    reason: 'ConfigInvalid',
    message: /unknown event "coupld"/,
    warning: 'ConfigInvalid',
  },
  {
    name: 'an unknown `do`',
    objects: () => [
      plugObj(ns, 'bad-do', {
        socket: { name: 'good' },
        resources: [
          {
            when: ['coupled'],
            do: 'upsert',
            template: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } },
          },
        ],
      }),
    ],
    kind: 'Plug',
    obj: 'bad-do',
    type: 'Ready',
    reason: 'ConfigInvalid',
    message: /unknown action "upsert"/,
    warning: 'ConfigInvalid',
  },
  {
    name: 'a socket with an invalid namespace regex',
    objects: () => [
      socketObj(ns, 'bad-regex', { validation: { namespaceWhitelist: ['(unclosed'] } }),
      plugObj(ns, 'to-bad-regex', { socket: { name: 'bad-regex' } }),
    ],
    kind: 'Socket',
    obj: 'bad-regex',
    type: 'Ready',
    reason: 'ConfigInvalid',
    message: /invalid regular expression/,
    warning: 'ConfigInvalid',
  },
  {
    name: 'an interface with an invalid JSON Schema keyword',
    objects: () => [
      socketObj(ns, 'bad-schema', { interface: { config: { plug: { a: { pattern: '(' } } } } }),
      plugObj(ns, 'to-bad-schema', { socket: { name: 'bad-schema' }, config: { a: 'x' } }),
    ],
    kind: 'Plug',
    obj: 'to-bad-schema',
    type: 'Ready',
    reason: 'ConfigInvalid',
    message: /schema for it is invalid/,
    warning: 'ConfigInvalid',
  },
  {
    name: 'a value that breaks the interface type',
    objects: () => [
      socketObj(ns, 'typed', { interface: { config: { plug: { port: { type: 'integer', minimum: 1 } } } } }),
      plugObj(ns, 'to-typed', { socket: { name: 'typed' }, config: { port: 'eighty' } }),
    ],
    kind: 'Plug',
    obj: 'to-typed',
    type: 'Ready',
    reason: 'ConfigInvalid',
    message: /port: must be integer/,
  },
];

describe('bad input', () => {
  for (const c of cases) {
    it(`${c.name}: ${c.kind} ${c.type} reports ${c.reason}`, async () => {
      for (const o of c.objects()) await kube.create(o);
      const obj = await waitForCondition(kube, c.kind, ns, c.obj, c.type, 'False', c.reason);
      expect(condition(obj, c.type)?.message).toMatch(c.message);
      if (c.warning) await expectWarning(c.obj, c.warning);
      await canary();
    });
  }

  it('a plug in a namespace the socket refuses is reported, the socket is untouched', async () => {
    await kube.create(socketObj(ns, 'closed', { validation: { namespaceBlacklist: [`${prefix}-.*`] } }));
    await kube.create(plugObj(other, 'refused', { socket: { name: 'closed', namespace: ns } }));
    const p = await waitForCondition(
      kube,
      'Plug',
      other,
      'refused',
      'Coupled',
      'False',
      'NamespaceNotAllowed',
    );
    expect(condition(p, 'Coupled')?.message).toContain('namespaceBlacklist');
    await canary();
  });
});
