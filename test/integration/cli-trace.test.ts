// `kubectl integration trace` against the real API server with the operator running: a coupled
// plug (its socket, lifecycle, the ConfigMap and Job applied for it), a failing one (its reason and
// Warning Events), waiting ones (socket limit, namespace rules, no socket), a socket's plugs grouped
// by reason, and a user with little RBAC (impersonated through the kubeconfig's `as`): what they may
// not read shows as forbidden and the trace goes on.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlugTrace, SocketTrace } from '../../src/cli/trace.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { run } from '../e2e/support/commands.ts';
import { runPlugin } from '../support/cli.ts';
import { randomName } from '../support/kube.ts';
import { pinnedNode } from '../support/node-binaries.ts';
import {
  adminKube,
  deleteNamespaces,
  grant,
  type InProcessOperator,
  kubeconfigPath,
  plugObj,
  repoRoot,
  socketObj,
  startOperator,
  waitForCondition,
  writeVerbs,
} from '../support/operator.ts';
import { eventually } from '../support/poll.ts';

const kube = adminKube();
const prefix = randomName('trace');
const db = `${prefix}-db`;
const app = `${prefix}-app`;
const other = `${prefix}-other`;
const jane = `jane-${prefix}`;
const dir = mkdtempSync(path.join(tmpdir(), 'trace-'));
let janeKubeconfig = '';
let op: InProcessOperator;

function cli(args: string[], kubeconfig = kubeconfigPath()) {
  return runPlugin(args, { env: { KUBECONFIG: kubeconfig } });
}

async function traceJson<T>(args: string[], kubeconfig?: string): Promise<T> {
  const r = await cli([...args, '-o', 'json'], kubeconfig);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

const migrateJob = {
  when: ['coupled', 'updated'],
  template: {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: '{% .plug.metadata.name %}-migrate' },
    spec: {
      backoffLimit: 1,
      template: {
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'migrate', image: 'postgres:17-alpine', command: ['true'] }],
        },
      },
    },
  },
};

const connectionConfigMap = {
  when: ['coupled', 'updated'],
  stringTemplate:
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {% .plug.metadata.name %}-conn\ndata:\n  database: {% .plugConfig.database | quote %}\n',
};

beforeAll(async () => {
  for (const [name, labels] of [
    [db, {}],
    [app, { tenant: 'true' }],
    [other, {}],
  ] as const)
    await kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
  await grant(kube, db, 'provisioner', [{ apiGroups: ['batch'], resources: ['jobs'], verbs: writeVerbs }]);
  await grant(kube, app, 'consumer', [
    { apiGroups: [''], resources: ['configmaps', 'pods', 'services'], verbs: writeVerbs },
  ]);
  // jane may read the plugs of the app namespace and nothing else there; in the provider's
  // namespace she may read the socket `pg` (but not list plugs anywhere else, nor read Jobs).
  const rbac = 'rbac.authorization.k8s.io/v1';
  for (const [ns, rules] of [
    [app, [{ apiGroups: ['integration.rock8s.com'], resources: ['plugs'], verbs: ['get', 'list'] }]],
    [
      db,
      [
        {
          apiGroups: ['integration.rock8s.com'],
          resources: ['sockets'],
          resourceNames: ['pg'],
          verbs: ['get'],
        },
      ],
    ],
  ] as const) {
    await kube.create({
      apiVersion: rbac,
      kind: 'Role',
      metadata: { name: 'jane', namespace: ns },
      rules,
    } as KubeObject);
    await kube.create({
      apiVersion: rbac,
      kind: 'RoleBinding',
      metadata: { name: 'jane', namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'jane' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: jane }],
    } as KubeObject);
  }
  // The admin's kubeconfig, impersonating jane (what `kubectl --as` and a kubeconfig's `as` do).
  const kc = JSON.parse(readFileSync(kubeconfigPath(), 'utf8')) as {
    users: { user: Record<string, unknown> }[];
  };
  for (const u of kc.users) u.user.as = jane;
  janeKubeconfig = path.join(dir, 'jane.kubeconfig');
  writeFileSync(janeKubeconfig, JSON.stringify(kc));

  op = await startOperator({ namespaces: [db, app, other] });
  await kube.create(
    socketObj(db, 'pg', {
      serviceAccountName: 'provisioner',
      validation: { namespaceSelector: { matchLabels: { tenant: 'true' } } },
      interface: { config: { plug: { database: { required: true } } } },
      resources: [migrateJob],
    }),
  );
  await kube.create(socketObj(db, 'limited', { limit: 1 }));
  await kube.create(
    plugObj(app, 'shop', {
      socket: { name: 'pg', namespace: db },
      serviceAccountName: 'consumer',
      config: { database: 'orders' },
      resources: [connectionConfigMap],
    }),
  );
  // Its ServiceAccount may not create Secrets: the coupling fails on the plug side (Forbidden).
  await kube.create(
    plugObj(app, 'broken', {
      socket: { name: 'pg', namespace: db },
      serviceAccountName: 'consumer',
      config: { database: 'broken' },
      resources: [
        {
          when: ['coupled'],
          template: {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name: 'broken-creds' },
            stringData: { a: 'b' },
          },
        },
      ],
    }),
  );
  await kube.create(
    plugObj(other, 'outsider', { socket: { name: 'pg', namespace: db }, config: { database: 'x' } }),
  );
  await kube.create(plugObj(app, 'first', { socket: { name: 'limited', namespace: db } }));
  await waitForCondition(kube, 'Plug', app, 'first', 'Coupled', 'True', undefined, 60_000);
  await kube.create(plugObj(app, 'second', { socket: { name: 'limited', namespace: db } }));
  await kube.create(plugObj(app, 'orphan', { socket: { name: 'nope' } }));
  // A managed apparatus Pod that never becomes Ready (no kubelet here): the plug waits for it.
  await kube.create(
    plugObj(app, 'gadget', {
      socket: { name: 'limited', namespace: db },
      serviceAccountName: 'consumer',
      apparatus: {
        endpoint: '/api',
        containers: [
          { name: 'app', image: 'example/apparatus:1', ports: [{ containerPort: 3000, name: 'container' }] },
        ],
      },
    }),
  );
  await Promise.all([
    waitForCondition(kube, 'Plug', app, 'shop', 'Ready', 'True', undefined, 60_000),
    waitForCondition(kube, 'Plug', app, 'broken', 'Ready', 'False', 'Forbidden', 60_000),
    waitForCondition(kube, 'Plug', other, 'outsider', 'Coupled', 'False', 'NamespaceNotAllowed', 60_000),
    waitForCondition(kube, 'Plug', app, 'second', 'Coupled', 'False', 'SocketLimitReached', 60_000),
    waitForCondition(kube, 'Plug', app, 'orphan', 'Coupled', 'False', 'SocketNotCreated', 60_000),
    waitForCondition(kube, 'Plug', app, 'gadget', 'Ready', 'False', 'ApparatusUnavailable', 60_000),
  ]);
}, 240_000);

afterAll(async () => {
  await deleteNamespaces(kube, [db, app, other]);
  await op?.stop();
});

describe('kubectl integration trace plug', () => {
  it('a coupled plug: its socket, both sides of the lifecycle, the ConfigMap and the Job applied for it', async () => {
    const r = await cli(['trace', 'plug', 'shop', '-n', app]);
    expect(r.code, r.stderr).toBe(0);
    const text = r.stdout;
    expect(text).toMatch(
      new RegExp(
        `^Plug ${app}/shop  Coupled=True \\(CouplingSucceeded\\)  Ready=True \\(CouplingSucceeded\\)`,
      ),
    );
    expect(text).toContain(`├── Socket ${db}/pg  Ready=True (SocketCreated)`);
    expect(text).toMatch(/plug side: coupled, \d+s ago/);
    expect(text).toMatch(/socket side: coupled, \d+s ago/);
    expect(text).toContain(`plug side: ConfigMap ${app}/shop-conn  exists`);
    // No kubelet on this control plane: the Job is never run (it is created, and waits).
    expect(text).toMatch(new RegExp(`socket side: Job ${db}/shop-migrate  (running: 1 active|not started)`));
    expect(text).not.toContain('\u001b[');

    const t = await traceJson<PlugTrace>(['trace', 'plug', 'shop', '-n', app]);
    expect(t.plug.socketRef).toEqual({ namespace: db, name: 'pg' });
    expect(t.socket?.access).toBe('found');
    expect(t.lifecycle.coupling?.plugSide?.event).toBe('coupled');
    expect(t.lifecycle.coupling?.socketSide?.event).toBe('coupled');
    expect(t.applied.map((a) => [a.side, a.ref.kind, a.ref.name, a.access])).toEqual([
      ['plug', 'ConfigMap', 'shop-conn', 'found'],
      ['socket', 'Job', 'shop-migrate', 'found'],
    ]);
    expect(t.applied[1]?.healthy).not.toBe(false);
    expect(t.apparatus).toEqual([]);
  });

  it('a failing plug: its reason and message, and its Warning Events', async () => {
    const t = await eventually(
      async () => {
        const x = await traceJson<PlugTrace>(['trace', 'plug', 'broken', '-n', app]);
        return x.plug.warnings?.items.length ? x : undefined;
      },
      { what: 'a Warning Event on the failing plug', timeoutMs: 60_000 },
    );
    const ready = t.plug.conditions?.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'Forbidden' });
    expect(ready?.message).toContain('secrets');
    expect(t.plug.warnings?.items[0]).toMatchObject({ reason: 'Forbidden' });
    const r = await cli(['trace', 'plug', 'broken', '-n', app]);
    expect(r.stdout).toMatch(/├── Ready=False Forbidden for \d+s: .*secrets/);
    expect(r.stdout).toMatch(/Warning Forbidden( ×\d+)? \d+s ago: .*secrets/);
    // Only one Warning Event when asked for one; none read with --events 0.
    const one = await traceJson<PlugTrace>(['trace', 'plug', 'broken', '-n', app, '--events', '1']);
    expect(one.plug.warnings?.items).toHaveLength(1);
    const none = await traceJson<PlugTrace>(['trace', 'plug', 'broken', '-n', app, '--events', '0']);
    expect(none.plug.warnings).toBeUndefined();
  });

  it("waiting plugs: the socket's limit, the namespace rule that refused it, a socket that does not exist", async () => {
    const second = await cli(['trace', 'plug', 'second', '-n', app]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('Coupled=False SocketLimitReached');
    expect(second.stdout).toContain('limit: 1 (1 coupled)');
    const outsider = await traceJson<PlugTrace>(['trace', 'plug', 'outsider', '-n', other]);
    expect(outsider.socket?.rules).toEqual([
      'namespaceSelector: tenant=true',
      `refused: namespace ${other} does not match the socket's namespaceSelector (tenant=true)`,
    ]);
    expect(outsider.lifecycle.coupling).toBeUndefined();
    const orphan = await cli(['trace', 'plug', 'orphan', '-n', app]);
    expect(orphan.code).toBe(0);
    expect(orphan.stdout).toContain('Coupled=False SocketNotCreated');
    expect(orphan.stdout).toContain(`├── Socket ${app}/nope: missing`);
    expect(orphan.stdout).toContain('no coupling recorded');
  });

  it('a plug waiting for its managed apparatus: the Pod (not ready), the Service, the last call', async () => {
    const t = await traceJson<PlugTrace>(['trace', 'plug', 'gadget', '-n', app]);
    expect(t.plug.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ApparatusUnavailable',
    });
    expect(t.apparatus).toHaveLength(1);
    const a = t.apparatus[0];
    expect(a).toMatchObject({ side: 'plug', endpoint: '/api' });
    expect(a?.pod).toMatchObject({
      access: 'found',
      ref: { kind: 'Pod', name: 'gadget-plug-apparatus' },
      state: 'Pending, not ready',
    });
    expect(a?.service).toMatchObject({
      access: 'found',
      ref: { kind: 'Service', name: 'gadget-plug-apparatus' },
    });
    expect(Date.parse(a?.lastCall ?? '')).toBeGreaterThan(0);
    const r = await cli(['trace', 'plug', 'gadget', '-n', app]);
    expect(r.stdout).toContain('└── plug apparatus: managed Pod, path /api');
    expect(r.stdout).toContain(`Pod ${app}/gadget-plug-apparatus  Pending, not ready`);
    expect(r.stdout).toMatch(/last call \d+[sm] ago/);
  });

  it('a plug that does not exist: exit code 1 and a message', async () => {
    const r = await cli(['trace', 'plug', 'ghost', '-n', app]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`Plug ${app}/ghost: missing\n`);
    expect(r.stderr).toBe(`error: Plug ${app}/ghost: not found\n`);
  });
});

describe('kubectl integration trace socket', () => {
  it('lists every plug coupled or waiting, grouped by reason', async () => {
    const t = await traceJson<SocketTrace>(['trace', 'socket', 'pg', '-n', db]);
    expect(t.plugs.source).toBe('list');
    const groups = Object.fromEntries(
      t.plugs.groups.map((g) => [
        `${g.coupled ? 'coupled' : 'waiting'}/${g.reason}`,
        g.plugs.map((p) => `${p.namespace}/${p.name}`),
      ]),
    );
    expect(groups['coupled/CouplingSucceeded']).toEqual([`${app}/shop`]);
    expect(groups['waiting/NamespaceNotAllowed']).toEqual([`${other}/outsider`]);
    const broken = Object.entries(groups).find(([, plugs]) => plugs.includes(`${app}/broken`));
    expect(broken?.[0]).toMatch(/\/Forbidden$/);
    expect(t.socket.rules).toEqual(['namespaceSelector: tenant=true']);
    const r = await cli(['trace', 'socket', 'limited', '-n', db]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('├── limit: 1');
    expect(r.stdout).toMatch(/coupled, CouplingSucceeded: 1\n.*Plug .*\/first/);
    expect(r.stdout).toMatch(/waiting, SocketLimitReached: 1\n.*Plug .*\/second/);
  });
});

describe('a user with little RBAC', () => {
  it('traces a plug: what jane may not read is "forbidden", and the trace goes on', async () => {
    const t = await traceJson<PlugTrace>(['trace', 'plug', 'shop', '-n', app], janeKubeconfig);
    expect(t.plug.access).toBe('found');
    expect(t.plug.warnings?.access).toBe('forbidden');
    expect(t.socket?.access).toBe('found'); // she may get this one socket
    expect(t.socket?.warnings?.access).toBe('forbidden');
    expect(t.applied.map((a) => a.access)).toEqual(['forbidden', 'forbidden']);
    expect(t.applied[0]?.message).toContain(`User "${jane}" cannot get resource "configmaps"`);
    const r = await cli(['trace', 'plug', 'shop', '-n', app], janeKubeconfig);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`plug side: ConfigMap ${app}/shop-conn: forbidden`);
    expect(r.stdout).toContain(`socket side: Job ${db}/shop-migrate: forbidden`);
    expect(r.stdout).toContain('Warning events: forbidden');
  });

  it("traces a socket without listing plugs cluster-wide: the namespaces she may list, then the socket's status", async () => {
    const t = await traceJson<SocketTrace>(['trace', 'socket', 'pg', '-n', db], janeKubeconfig);
    expect(t.plugs.source).toBe('status');
    expect(t.plugs.access).toBe('forbidden');
    const names = t.plugs.groups.flatMap((g) => g.plugs.map((p) => `${p.namespace}/${p.name}:${p.access}`));
    expect(names).toContain(`${app}/shop:found`);
    expect(names).not.toContain(`${other}/outsider:found`);
  });

  it('a root object she may not read: printed as forbidden, exit code 1', async () => {
    const r = await cli(['trace', 'socket', 'limited', '-n', db], janeKubeconfig);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`^Socket ${db}/limited: forbidden\n`));
    expect(r.stderr).toBe(`error: Socket ${db}/limited: forbidden\n`);
  });
});

describe('the plugin as a process', () => {
  it('bin/kubectl-integration.js reads KUBECONFIG and prints the trace without colours when not on a terminal', async () => {
    const r = await run(
      pinnedNode,
      [path.join(repoRoot, 'bin', 'kubectl-integration.js'), 'trace', 'plug', 'shop', '--namespace', app],
      {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', HOME: dir, KUBECONFIG: kubeconfigPath() },
        timeoutMs: 60_000,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Plug ${app}/shop  Coupled=True`));
    expect(r.stdout).not.toContain('\u001b[');
  });
});
