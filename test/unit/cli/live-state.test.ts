// What a trace says about a Job, a Pod or any object, and how a trace prints (pure functions).
import { describe, expect, it } from 'vitest';
import { failingContainer, genericState, jobState, podState } from '../../../src/cli/live-state.ts';
import type { PlugTrace } from '../../../src/cli/trace.ts';
import { age, plugTraceTree, renderTree } from '../../../src/cli/trace-view.ts';
import type { KubeObject } from '../../../src/kube/types.ts';

const job = (status: Record<string, unknown>): KubeObject => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'create-db', namespace: 'db' },
  status,
});
const pod = (name: string, created: string, status: Record<string, unknown>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'db', creationTimestamp: created },
  status,
});
const crashed = pod('create-db-b', '2026-01-01T00:01:00Z', {
  phase: 'Running',
  conditions: [{ type: 'Ready', status: 'False' }],
  containerStatuses: [
    {
      name: 'psql',
      restartCount: 2,
      state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s' } },
      lastState: { terminated: { exitCode: 2, reason: 'Error', message: 'psql: could not connect' } },
    },
  ],
});

describe('live state', () => {
  it('a Job: succeeded, failed with its failing container, running, not started', () => {
    expect(jobState(job({ succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] }), [])).toEqual({
      state: 'succeeded (1 succeeded, 0 failed)',
      healthy: true,
    });
    const failed = jobState(
      job({
        failed: 3,
        conditions: [
          {
            type: 'Failed',
            status: 'True',
            reason: 'BackoffLimitExceeded',
            message: 'Job has reached the specified backoff limit',
          },
        ],
      }),
      [pod('create-db-a', '2026-01-01T00:00:00Z', { phase: 'Failed' }), crashed],
    );
    expect(failed.state).toBe(
      'failed: BackoffLimitExceeded: Job has reached the specified backoff limit (0 succeeded, 3 failed)',
    );
    expect(failed.healthy).toBe(false);
    expect(failed.details?.[0]).toBe(
      'pod create-db-b: container psql exited 2 (Error: psql: could not connect), now CrashLoopBackOff (2 restarts)',
    );
    const pending = jobState(job({ active: 1, ready: 0, startTime: '2026-01-01T00:00:00Z' }), [
      pod('create-db-c', '2026-01-01T00:00:00Z', { phase: 'Pending' }),
    ]);
    expect(pending).toEqual({
      state: 'running: 1 active (0 ready), 0 succeeded, 0 failed',
      details: ['pod create-db-c: not scheduled yet (no node has taken it)'],
    });
    expect(jobState(job({}), undefined)).toEqual({ state: 'not started' });
  });

  it('the failing container to read the log of: the previous run when it restarted', () => {
    expect(failingContainer([crashed])).toEqual({ pod: 'create-db-b', container: 'psql', previous: true });
    expect(
      failingContainer([
        pod('x', '', { phase: 'Running', containerStatuses: [{ name: 'a', state: { running: {} } }] }),
      ]),
    ).toBeUndefined();
  });

  it('a Pod: phase and readiness, unscheduled, waiting containers', () => {
    expect(
      podState(pod('p', '', { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] })),
    ).toEqual({
      state: 'Running, ready',
      healthy: true,
    });
    const unschedulable = podState(
      pod('p', '', {
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: '0/3 nodes are available',
          },
        ],
      }),
    );
    expect(unschedulable).toEqual({
      state: 'Pending, not ready',
      details: ['not scheduled: Unschedulable: 0/3 nodes are available'],
    });
    const pulling = podState(
      pod('p', '', {
        phase: 'Pending',
        conditions: [{ type: 'PodScheduled', status: 'True' }],
        containerStatuses: [
          { name: 'app', state: { waiting: { reason: 'ImagePullBackOff', message: 'no such image' } } },
        ],
      }),
    );
    expect(pulling).toEqual({
      state: 'Pending, not ready',
      healthy: false,
      details: ['container app waiting: ImagePullBackOff: no such image'],
    });
  });

  it('any object: exists, with its Ready or Available condition', () => {
    expect(genericState({ kind: 'ConfigMap', metadata: {} })).toEqual({ state: 'exists' });
    expect(
      genericState({
        kind: 'Deployment',
        metadata: {},
        status: {
          conditions: [{ type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable' }],
        },
      }),
    ).toEqual({ state: 'exists, Available=False (MinimumReplicasUnavailable)', healthy: false });
  });
});

describe('the trace as a tree', () => {
  const trace: PlugTrace = {
    kind: 'PlugTrace',
    at: '2026-01-01T01:00:00Z',
    plug: {
      ref: { apiVersion: 'integration.rock8s.com/v1beta1', kind: 'Plug', namespace: 'app', name: 'db' },
      access: 'found',
      created: '2026-01-01T00:00:00Z',
      conditions: [
        {
          type: 'Coupled',
          status: 'True',
          reason: 'CouplingSucceeded',
          lastTransitionTime: '2026-01-01T00:59:00Z',
        },
      ],
      warnings: { access: 'forbidden', message: 'events is forbidden', items: [] },
      socketRef: { namespace: 'pg', name: 'postgres' },
    },
    socket: {
      ref: {
        apiVersion: 'integration.rock8s.com/v1beta1',
        kind: 'Socket',
        namespace: 'pg',
        name: 'postgres',
      },
      access: 'forbidden',
      message: 'sockets.integration.rock8s.com "postgres" is forbidden',
    },
    lifecycle: {
      created: '2026-01-01T00:00:00Z',
      coupling: {
        socket: 'pg/postgres',
        socketUid: 'u1',
        plugSide: { event: 'coupled', at: '2026-01-01T00:59:30Z' },
      },
    },
    applied: [
      {
        side: 'socket',
        ref: { apiVersion: 'batch/v1', kind: 'Job', namespace: 'pg', name: 'create' },
        access: 'found',
        state: 'failed: BackoffLimitExceeded',
        healthy: false,
        details: ['log of create-x/psql:', '  FATAL: role does not exist'],
      },
    ],
    apparatus: [],
  };

  it('prints every part, plain when not on a terminal, coloured on one', () => {
    const plain = renderTree(plugTraceTree(trace), false);
    expect(plain).toBe(
      [
        'Plug app/db  Coupled=True (CouplingSucceeded)  age 60m',
        '├── Coupled=True CouplingSucceeded for 60s',
        '├── Warning events: forbidden',
        '├── Socket pg/postgres: forbidden',
        '│   └── sockets.integration.rock8s.com "postgres" is forbidden',
        '├── Lifecycle',
        '│   ├── created: 60m ago (2026-01-01T00:00:00Z)',
        '│   └── coupling with pg/postgres (socket uid u1)',
        '│       ├── plug side: coupled, 30s ago (2026-01-01T00:59:30Z)',
        '│       └── socket side: no event performed yet',
        '├── Applied for the coupling: 1',
        '│   └── socket side: Job pg/create  failed: BackoffLimitExceeded',
        '│       ├── log of create-x/psql:',
        '│       └──   FATAL: role does not exist',
        '└── Apparatus: none',
        '',
      ].join('\n'),
    );
    expect(plain).not.toContain('\u001b[');
    expect(renderTree(plugTraceTree(trace), true)).toContain('\u001b[31msocket side: Job pg/create');
  });

  it('ages like kubectl', () => {
    const now = new Date('2026-01-03T00:00:00Z');
    expect(age('2026-01-02T23:59:15Z', now)).toBe('45s');
    expect(age('2026-01-02T23:00:00Z', now)).toBe('60m');
    expect(age('2026-01-02T00:00:00Z', now)).toBe('24h');
    expect(age('2026-01-01T00:00:00Z', now)).toBe('2d');
    expect(age('2025-12-01T00:00:00Z', now)).toBe('33d');
    expect(age(undefined, now)).toBe('?');
  });
});
