// The informer survives what stops @kubernetes/client-node's: an API server restart. Runs on a
// control plane of its own (restarting the shared one would disturb other test files).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../src/kube/client.ts';
import { ApiError } from '../../src/kube/errors.ts';
import { versionOnly } from '../../src/kube/metadata.ts';
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

  it('watches metadata only, and relists after 410 Gone when a restarted API server no longer has its resourceVersion', async () => {
    const errors: unknown[] = [];
    /** What the API server sent, before the informer cut it down. */
    const received: KubeObject[] = [];
    const inf = new Informer<KubeObject>({
      client,
      resource: { group: '', version: 'v1', resource: 'secrets', kind: 'Secret', namespaced: true },
      namespaces: ['default'],
      log: silentLogger,
      metadataOnly: true,
      transform: (o) => {
        received.push(o);
        return versionOnly(o);
      },
      onError: (err) => errors.push(err),
    });
    const seen: Array<{ name: string; rv: string }> = [];
    const note = (o: KubeObject) =>
      seen.push({ name: o.metadata.name ?? '', rv: o.metadata.resourceVersion ?? '' });
    inf.addHandler({ onAdd: note, onUpdate: (_old, o) => note(o) });
    const stop = new AbortController();
    const running = inf.start(stop.signal);
    try {
      // An empty namespace: the metadata list answers `items: null`.
      await inf.waitForSync();
      const created = await kube.create<KubeObject>({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'meta', namespace: 'default' },
        stringData: { password: 'hunter2' },
      });
      await eventually(() => seen.some((s) => s.name === 'meta'), { what: 'the Secret to be seen' });
      // Only what a change detector needs is kept; no data ever arrives.
      expect(inf.store.get('default/meta')).toEqual({
        metadata: {
          name: 'meta',
          namespace: 'default',
          uid: created.metadata.uid,
          resourceVersion: created.metadata.resourceVersion,
        },
      });

      await stopApiserver(state);
      await eventually(() => inf.restarts > 0, { what: 'the informer to notice', timeoutMs: 60_000 });
      await startApiserver(state);
      const changed = await kube.mergePatch(
        { apiVersion: 'v1', kind: 'Secret', namespace: 'default', name: 'meta' },
        { stringData: { password: 'changed' } },
      );
      await eventually(() => seen.some((s) => s.rv === changed.metadata.resourceVersion), {
        what: 'the change made across the restart',
        timeoutMs: 60_000,
      });
      // The restarted API server's watch cache starts at a newer version: 410 Gone, then a relist.
      expect(errors.some((e) => e instanceof ApiError && e.status === 410)).toBe(true);
      expect(inf.relists).toBeGreaterThanOrEqual(2);
      // The API server sent metadata only: PartialObjectMetadata in watch events, no data anywhere.
      expect(received.filter((o) => o.kind === 'PartialObjectMetadata').length).toBeGreaterThan(0);
      for (const o of received) expect(Object.keys(o).sort()).toEqual(['apiVersion', 'kind', 'metadata']);
    } finally {
      stop.abort();
      await running;
    }
  });
});
