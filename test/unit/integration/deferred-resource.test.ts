import { describe, expect, it } from 'vitest';
import { createdByAnnotation } from '../../../src/api/deferred-resource.ts';
import {
  alreadyResolved,
  apiVersionProblem,
  checkResource,
  checkSpec,
  checkWaitFor,
  createdBy,
  delayEnd,
  delayRemainingMs,
  describeTarget,
  maxRequeueMs,
  nextLookMs,
  objectIndexKey,
  objectToCreate,
  pendingMessage,
  placeResource,
  pollIntervalMs,
  sameObject,
  waitForIndexKeys,
} from '../../../src/integration/deferred-resource.ts';

const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'out' }, data: { a: '1' } };

describe('apiVersionProblem', () => {
  it.each(['v1', 'apps/v1', 'apiextensions.k8s.io/v1', 'example.com/v1beta1'])('accepts %s', (v) => {
    expect(apiVersionProblem(v)).toBeUndefined();
  });
  it.each(['', 'apps/v1/x', 'Apps/v1', 'apps/V1', 'not a version', '/v1', 'apps/'])('refuses %j', (v) => {
    expect(apiVersionProblem(v)).toContain('is not of the form');
  });
});

describe('checkWaitFor', () => {
  it('takes apiVersion, or builds it from group and version (core group without a group)', () => {
    expect(checkWaitFor({ apiVersion: 'v1', kind: 'ConfigMap', name: 'a' }, 0)).toEqual({
      ok: true,
      value: { index: 0, apiVersion: 'v1', kind: 'ConfigMap', name: 'a' },
    });
    expect(checkWaitFor({ group: 'apps', version: 'v1', kind: 'Deployment', name: 'd' }, 1)).toMatchObject({
      ok: true,
      value: { apiVersion: 'apps/v1' },
    });
    expect(checkWaitFor({ group: '', version: 'v1', kind: 'Secret', name: 's' }, 2)).toMatchObject({
      ok: true,
      value: { apiVersion: 'v1' },
    });
  });
  it('keeps a kind-only wait without a name', () => {
    const c = checkWaitFor({ apiVersion: 'example.com/v1', kind: 'Widget' }, 0);
    expect(c).toEqual({ ok: true, value: { index: 0, apiVersion: 'example.com/v1', kind: 'Widget' } });
  });
  it('names what is wrong and where', () => {
    expect(checkWaitFor({ apiVersion: 'v1', name: 'a' }, 3)).toEqual({
      ok: false,
      problem: 'waitFor[3]: no kind',
    });
    expect(checkWaitFor({ kind: 'ConfigMap' }, 0)).toMatchObject({
      problem: expect.stringContaining('no apiVersion'),
    });
    expect(checkWaitFor({ group: 'apps', kind: 'Deployment' }, 0)).toMatchObject({
      problem: 'waitFor[0]: group apps needs a version',
    });
    expect(checkWaitFor({ apiVersion: 'a/b/c', kind: 'X' }, 0)).toMatchObject({
      problem: expect.stringContaining('waitFor[0]: apiVersion "a/b/c"'),
    });
  });
});

describe('checkResource and checkSpec', () => {
  it('needs apiVersion, kind and a name', () => {
    expect(checkResource(cm)).toEqual({
      ok: true,
      value: { apiVersion: 'v1', kind: 'ConfigMap', name: 'out' },
    });
    expect(checkResource(undefined)).toMatchObject({
      problem: expect.stringContaining('spec.resource is missing'),
    });
    const noName = checkResource({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'x-' } });
    expect(noName).toMatchObject({ problem: expect.stringContaining('generateName is not supported') });
    const all = checkResource({ metadata: {} });
    expect(all.ok).toBe(false);
    if (!all.ok) expect(all.problem.split('; ')).toHaveLength(3);
  });
  it('reports an empty spec (the Go sample) as a problem, not a crash', () => {
    expect(checkSpec(undefined)).toMatchObject({
      ok: false,
      problem: expect.stringContaining('spec is empty'),
    });
    expect(checkSpec({})).toMatchObject({ ok: false, problem: expect.stringContaining('spec is empty') });
  });
  it('reports every problem at once', () => {
    const c = checkSpec({
      waitFor: [{ apiVersion: 'v1', name: 'a' }, { kind: 'X' }],
      resource: { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} },
      serviceAccountName: 'Not_Valid',
    });
    expect(c.ok).toBe(false);
    if (!c.ok) {
      expect(c.problem).toContain('waitFor[0]: no kind');
      expect(c.problem).toContain('waitFor[1]: no apiVersion');
      expect(c.problem).toContain('metadata.name');
      expect(c.problem).toContain('serviceAccountName "Not_Valid"');
    }
  });
  it('defaults the ServiceAccount, the delay and the deletion policy', () => {
    expect(checkSpec({ resource: cm })).toEqual({
      ok: true,
      value: {
        targets: [],
        resource: { apiVersion: 'v1', kind: 'ConfigMap', name: 'out' },
        serviceAccountName: 'default',
        timeoutSeconds: 0,
        deletionPolicy: 'Retain',
      },
    });
    const c = checkSpec({
      resource: cm,
      timeout: -5,
      deletionPolicy: 'Delete',
      serviceAccountName: 'deployer',
    });
    expect(c).toMatchObject({
      ok: true,
      value: { timeoutSeconds: 0, deletionPolicy: 'Delete', serviceAccountName: 'deployer' },
    });
  });
});

describe('the delay', () => {
  const created = '2024-05-01T10:00:00Z';
  it('is a minimum delay counted from creation', () => {
    expect(delayEnd(created, 30)?.toISOString()).toBe('2024-05-01T10:00:30.000Z');
    expect(delayRemainingMs(created, 30, new Date('2024-05-01T10:00:10Z'))).toBe(20_000);
    expect(delayRemainingMs(created, 30, new Date('2024-05-01T10:00:30Z'))).toBe(0);
    expect(delayRemainingMs(created, 30, new Date('2024-05-01T11:00:00Z'))).toBe(0);
  });
  it('is none without a timeout (or without a creation time)', () => {
    expect(delayEnd(created, 0)).toBeUndefined();
    expect(delayRemainingMs(created, 0, new Date(created))).toBe(0);
    expect(delayRemainingMs(undefined, 30, new Date())).toBe(0);
  });
});

describe('when to look again', () => {
  it('doubles from 0.5 s to at most 10 s while objects are missing', () => {
    // Each interval is as long as the wait so far: 0.5, 0.5, 1, 2, 4, 8, 10, 10 s.
    let waited = 0;
    const intervals: number[] = [];
    for (let i = 0; i < 8; i++) {
      const next = nextLookMs(0, 1, waited);
      intervals.push(next);
      waited += next;
    }
    expect(intervals).toEqual([500, 500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(pollIntervalMs(3_600_000)).toBe(10_000);
  });
  it('wakes at the end of the delay, without polling during it', () => {
    expect(nextLookMs(20_000, 2, 0)).toBe(20_000);
    expect(nextLookMs(20_000, 0, 0)).toBe(20_000);
  });
  it('never asks for a timer longer than an hour (Node timers overflow past 24.8 days)', () => {
    expect(nextLookMs(365 * 24 * 3600 * 1000, 0, 0)).toBe(maxRequeueMs);
  });
  it('does not requeue when nothing is awaited', () => {
    expect(nextLookMs(0, 0, 5000)).toBe(0);
  });
});

describe('pendingMessage and describeTarget', () => {
  it('names the delay end and every missing object', () => {
    expect(
      pendingMessage({
        delayUntil: new Date('2024-05-01T10:00:30Z'),
        timeoutSeconds: 30,
        missing: ['ConfigMap ns/a', 'CustomResourceDefinition widgets.example.com'],
      }),
    ).toBe(
      'waiting until 2024-05-01T10:00:30Z (timeout: 30 s after creation); waiting for ConfigMap ns/a, CustomResourceDefinition widgets.example.com',
    );
    expect(pendingMessage({ timeoutSeconds: 0, missing: ['Secret ns/s'] })).toBe('waiting for Secret ns/s');
  });
  it('describes namespaced, cluster-scoped, unserved and kind-only targets', () => {
    const t = { index: 0, apiVersion: 'v1', kind: 'ConfigMap', name: 'a' };
    expect(describeTarget(t, 'ns', true)).toBe('ConfigMap ns/a');
    expect(describeTarget({ ...t, kind: 'Namespace' }, 'ns', false)).toBe('Namespace a');
    expect(describeTarget({ ...t, apiVersion: 'example.com/v1', kind: 'Widget' }, 'ns', undefined)).toBe(
      'Widget a (example.com/v1; kind not served yet)',
    );
    expect(describeTarget({ index: 0, apiVersion: 'example.com/v1', kind: 'Widget' }, 'ns', true)).toBe(
      'kind Widget (example.com/v1) to be served',
    );
  });
});

describe('already resolved', () => {
  const id = { apiVersion: 'batch/v1', kind: 'Job', name: 'migrate' };
  const success = { type: 'Resolved', status: 'True', reason: 'Success' };
  it('holds for Success on the same object (any version of its group)', () => {
    const ref = { apiVersion: 'batch/v1', kind: 'Job', name: 'migrate', uid: 'u' };
    expect(alreadyResolved({ conditions: [success], ownerReferences: ref }, id)).toBe(true);
    expect(sameObject({ ...ref, apiVersion: 'batch/v2' }, id)).toBe(true);
  });
  it('does not hold while pending, or when the spec now names another object', () => {
    const ref = { apiVersion: 'batch/v1', kind: 'Job', name: 'migrate', uid: 'u' };
    expect(
      alreadyResolved(
        { conditions: [{ ...success, status: 'False', reason: 'Pending' }], ownerReferences: ref },
        id,
      ),
    ).toBe(false);
    expect(alreadyResolved({ conditions: [success], ownerReferences: { ...ref, name: 'other' } }, id)).toBe(
      false,
    );
    expect(
      alreadyResolved({ conditions: [success], ownerReferences: { ...ref, apiVersion: 'v1' } }, id),
    ).toBe(false);
    // The Go operator wrote an empty reference while pending.
    expect(
      alreadyResolved(
        { conditions: [success], ownerReferences: { apiVersion: '', kind: '', name: '', uid: '' } },
        id,
      ),
    ).toBe(false);
  });
});

describe('placeResource', () => {
  it("forces a namespaced object into the DeferredResource's namespace and says which it named", () => {
    const p = placeResource(
      { ...cm, metadata: { name: 'out', namespace: 'elsewhere' } },
      true,
      'mine',
      false,
    );
    expect(p).toMatchObject({
      ok: true,
      overriddenNamespace: 'elsewhere',
      object: { metadata: { namespace: 'mine' } },
    });
    const q = placeResource(cm, true, 'mine', false);
    expect(q).toEqual({ ok: true, object: { ...cm, metadata: { name: 'out', namespace: 'mine' } } });
  });
  it('refuses a cluster-scoped kind unless allowed, naming the setting', () => {
    const cr = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'x', namespace: 'n' },
    };
    const refused = placeResource(cr, false, 'mine', false);
    expect(refused).toMatchObject({
      ok: false,
      message: expect.stringContaining('allow-cluster-scoped-resources'),
    });
    expect(placeResource(cr, false, 'mine', true)).toEqual({
      ok: true,
      object: { ...cr, metadata: { name: 'x' } },
    });
  });
});

describe('objectToCreate and createdBy', () => {
  it('drops server-set metadata and status, and marks the creator', () => {
    const live = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'out',
        namespace: 'n',
        uid: 'old',
        resourceVersion: '12',
        creationTimestamp: 'x',
        managedFields: [],
        annotations: { keep: 'me' },
        labels: { a: 'b' },
      },
      status: { x: 1 },
      data: { a: '1' },
    };
    const o = objectToCreate(live, 'dr-uid');
    expect(o).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'out',
        namespace: 'n',
        labels: { a: 'b' },
        annotations: { keep: 'me', [createdByAnnotation]: 'dr-uid' },
      },
      data: { a: '1' },
    });
    expect(createdBy(o, 'dr-uid')).toBe(true);
    expect(createdBy(o, 'another')).toBe(false);
    expect(createdBy({ metadata: {} }, '')).toBe(false);
  });
});

describe('waitForIndexKeys', () => {
  it('indexes named targets as namespaced and as cluster-scoped, by group', () => {
    expect(
      waitForIndexKeys('ns', {
        waitFor: [
          { apiVersion: 'v1', kind: 'ConfigMap', name: 'a' },
          { apiVersion: 'example.com/v1', kind: 'Widget' },
          { kind: 'Broken' },
        ],
      }),
    ).toEqual([objectIndexKey('v1', 'ConfigMap', 'ns', 'a'), objectIndexKey('v1', 'ConfigMap', '', 'a')]);
    expect(objectIndexKey('apps/v1', 'Deployment', 'ns', 'd')).toBe(
      objectIndexKey('apps/v2', 'Deployment', 'ns', 'd'),
    );
  });
});
