// The REST client on the real API server: connections are pooled and reused (the generated
// @kubernetes/client-node APIs opened one per request and leaked them), impersonation, errors.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KubeClient } from '../../src/kube/client.ts';
import { type KubeConnection, kubeconfigConnection } from '../../src/kube/connection.ts';
import { ApiError } from '../../src/kube/errors.ts';
import { Kube } from '../../src/kube/objects.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { randomName } from '../support/kube.ts';
import { adminKube, kubeconfigPath } from '../support/operator.ts';

const admin = adminKube();
const ns = randomName('kc');
let client: KubeClient;
let kube: Kube;

beforeAll(async () => {
  await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  client = new KubeClient({ kubeConfig: kc, qps: 0, maxSockets: 16 });
  kube = new Kube(client);
});

afterAll(async () => {
  client.close();
  await admin.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns });
});

describe('kube client', () => {
  it('reuses a small pool of connections under concurrent load', async () => {
    const n = 400;
    let i = 0;
    const worker = async () => {
      while (i < n) {
        const k = i++;
        await kube.create({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `cm-${k}`, namespace: ns },
          data: { k: String(k) },
        });
        await kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: `cm-${k}` });
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    // 800 requests, at most one connection per concurrent request
    expect(client.connectionsOpened).toBeGreaterThan(0);
    expect(client.connectionsOpened).toBeLessThanOrEqual(16);
  });

  it('impersonates a ServiceAccount and reports the refusal as Forbidden with the API server message', async () => {
    const err = await kube
      .get(
        { apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'x' },
        { as: { serviceAccount: { namespace: ns, name: 'default' } } },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(403);
    expect((err as ApiError).message).toContain(`system:serviceaccount:${ns}:default`);
  });

  it('answers undefined for a missing object and false for deleting one', async () => {
    expect(
      await kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'nope' }),
    ).toBeUndefined();
    expect(await kube.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'nope' })).toBe(
      false,
    );
  });

  it('creates only what does not exist: a new object is created, an existing one is left alone', async () => {
    const job: KubeObject = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'once', namespace: ns },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } },
    };
    // A resourceVersion in the template is dropped (a create refuses one).
    const created = await kube.createNew({ ...job, metadata: { ...job.metadata, resourceVersion: '7' } });
    expect(created?.metadata.uid).toBeTruthy();
    // Created with the operator's field manager (a POST: operation Update).
    const meta = created!.metadata as { managedFields?: Array<{ manager: string; operation: string }> };
    const managers = meta.managedFields?.map((m) => `${m.manager}/${m.operation}`);
    expect(managers).toEqual(['integration-operator/Update']);
    // It exists: nothing is changed (a changed label would have been applied by a plain apply).
    const again = await kube.createNew({ ...job, metadata: { ...job.metadata, labels: { changed: 'yes' } } });
    expect(again).toBeUndefined();
    const now = await kube.get({ apiVersion: 'batch/v1', kind: 'Job', namespace: ns, name: 'once' });
    expect(now?.metadata.uid).toBe(created?.metadata.uid);
    expect(now?.metadata.labels?.changed).toBeUndefined();
    // Other errors are still errors (an invalid object: a Job without containers).
    await expect(
      kube.createNew({
        ...job,
        metadata: { ...job.metadata, name: 'bad' },
        spec: { template: { spec: {} } },
      }),
    ).rejects.toMatchObject({ status: 422 });
    // An unknown field (a template's typo) is refused, as a server-side apply refuses it, not dropped.
    const typo = {
      ...job,
      metadata: { ...job.metadata, name: 'typo' },
      spec: { ...(job.spec as object), backofLimit: 3 },
    };
    await expect(kube.createNew(typo)).rejects.toMatchObject({ status: expect.any(Number) });
    await expect(kube.apply(typo)).rejects.toMatchObject({ status: expect.any(Number) });
    expect(
      await kube.get({ apiVersion: 'batch/v1', kind: 'Job', namespace: ns, name: 'typo' }),
    ).toBeUndefined();
  });

  it('tells a delete that removed the object at once from one that left it terminating', async () => {
    const cm = (name: string, finalizers?: string[]) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: ns, ...(finalizers ? { finalizers } : {}) },
    });
    const ref = (kind: string, name: string, apiVersion = 'v1') => ({
      apiVersion,
      kind,
      namespace: ns,
      name,
    });
    await kube.create(cm('plain'));
    expect(await kube.deleteWithOutcome(ref('ConfigMap', 'plain'))).toBe('gone');
    expect(await kube.deleteWithOutcome(ref('ConfigMap', 'plain'))).toBe('absent');
    await kube.create(cm('held', ['example.com/hold']));
    expect(await kube.deleteWithOutcome(ref('ConfigMap', 'held'))).toBe('terminating');
    // Terminating counts as existing for a create.
    expect(await kube.createNew(cm('held'))).toBeUndefined();
    await kube.mergePatch(ref('ConfigMap', 'held'), { metadata: { finalizers: null } });
    // A Pod on no node is deleted at once, though the answer is the Pod with a deletionTimestamp.
    await kube.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'unscheduled', namespace: ns },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
    expect(await kube.deleteWithOutcome(ref('Pod', 'unscheduled'))).toBe('gone');
    expect(await kube.get(ref('Pod', 'unscheduled'))).toBeUndefined();
  });

  it('gives its TLS material as one context: the same material refreshed keeps the connections, a changed one opens new', async () => {
    const base = await kubeconfigConnection(kubeconfigPath());
    const conn: KubeConnection = { ...base, tls: { ...base.tls } };
    const c = new KubeClient({ connection: conn, qps: 0, maxSockets: 1 });
    const list = () => c.request({ method: 'GET', path: `/api/v1/namespaces/${ns}/configmaps` });
    try {
      await list();
      await list();
      expect(c.connectionsOpened).toBe(1);
      // An exec plugin's refresh: the same bytes in new Buffers.
      const copy = (v: string | Buffer | undefined) => (v === undefined ? undefined : Buffer.from(v));
      Object.assign(conn.tls, { ca: copy(conn.tls.ca), cert: copy(conn.tls.cert), key: copy(conn.tls.key) });
      await list();
      expect(c.connectionsOpened).toBe(1);
      // Changed material (here the CA bundle, the CA twice): a new connection, which works.
      conn.tls.ca = `${conn.tls.ca}\n${conn.tls.ca}`;
      await list();
      await list();
      expect(c.connectionsOpened).toBe(2);
    } finally {
      c.close();
    }
  });

  const stateDir = inject('controlPlaneStateDir');
  it.runIf(stateDir)('uses a rotated client certificate on new connections at once', async () => {
    const dir = stateDir as string;
    const other = path.join(dir, 'controller-manager.kubeconfig');
    expect(existsSync(other), `${other} (written by the local control plane)`).toBe(true);
    const base = await kubeconfigConnection(kubeconfigPath());
    const rotated = await kubeconfigConnection(other);
    const conn: KubeConnection = { ...base, tls: { ...base.tls } };
    const c = new KubeClient({ connection: conn, qps: 0 });
    const whoami = async () =>
      (
        await c.request<{ status: { userInfo: { username: string } } }>({
          method: 'POST',
          path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
          body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
        })
      ).status.userInfo.username;
    try {
      expect(await whoami()).toBe('local-admin');
      Object.assign(conn.tls, { cert: rotated.tls.cert, key: rotated.tls.key });
      expect(await whoami()).toBe('system:kube-controller-manager');
    } finally {
      c.close();
    }
  });
});
