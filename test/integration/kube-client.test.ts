// The REST client on the real API server: connections are pooled and reused (the generated
// @kubernetes/client-node APIs opened one per request and leaked them), impersonation, errors.

import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../src/kube/client.ts';
import { ApiError } from '../../src/kube/errors.ts';
import { Kube } from '../../src/kube/objects.ts';
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
});
