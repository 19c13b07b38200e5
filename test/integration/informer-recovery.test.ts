// The informer survives what stops @kubernetes/client-node's: an API server restart. Runs on a
// control plane of its own (restarting the shared one would disturb other test files).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../src/kube/client.ts';
import { Kube } from '../../src/kube/objects.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { Informer } from '../../src/runtime/informer.ts';
import {
  type ControlPlaneState,
  down,
  startApiserver,
  stopApiserver,
  up,
} from '../../tools/controlplane/controlplane.ts';
import { eventually } from '../support/poll.ts';

const stateDir = path.join(mkdtempSync(path.join(tmpdir(), 'informer-recovery-')), 'state');
let state: ControlPlaneState;
let client: KubeClient;
let kube: Kube;

beforeAll(async () => {
  ({ state } = await up({ stateDir, verbose: false }));
  const kc = new KubeConfig();
  kc.loadFromFile(state.kubeconfig);
  client = new KubeClient({ kubeConfig: kc, qps: 0 });
  kube = new Kube(client);
});

afterAll(async () => {
  client?.close();
  await down({ stateDir, verbose: false });
});

describe('informer', () => {
  it('keeps delivering after the API server restarts, and relists what changed while it was down', async () => {
    const inf = new Informer<KubeObject>({
      client,
      resource: { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true },
      namespaces: ['default'],
      log: silentLogger,
    });
    const seen: string[] = [];
    const deleted: string[] = [];
    inf.addHandler({
      onAdd: (o) => seen.push(o.metadata.name ?? ''),
      onUpdate: (_old, o) => seen.push(`${o.metadata.name}:${(o.data as { v?: string } | undefined)?.v}`),
      onDelete: (o) => deleted.push(o.metadata.name ?? ''),
    });
    const stop = new AbortController();
    const running = inf.start(stop.signal);
    try {
      await inf.waitForSync();
      await kube.create({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'before', namespace: 'default' },
      });
      await kube.create({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'doomed', namespace: 'default' },
      });
      await eventually(() => seen.includes('before') && seen.includes('doomed'), {
        what: 'the first objects',
      });

      await stopApiserver(state);
      // While it is down, the informer keeps retrying (with backoff), without giving up.
      await eventually(() => inf.restarts > 0, { what: 'the informer to notice', timeoutMs: 60_000 });
      await startApiserver(state);

      await kube.create({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'after', namespace: 'default' },
      });
      await kube.mergePatch(
        { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'before' },
        { data: { v: '2' } },
      );
      await kube.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'doomed' });
      await eventually(
        () => seen.includes('after') && seen.includes('before:2') && deleted.includes('doomed'),
        {
          what: 'events after the restart',
          timeoutMs: 60_000,
        },
      );
      expect(inf.store.get('default/after')).toBeDefined();
      expect(inf.store.get('default/doomed')).toBeUndefined();
    } finally {
      stop.abort();
      await running;
    }
  });
});
