// The control-plane scripts themselves: a second `up` reuses a running plane, the API server can be
// restarted on the same etcd, and `down` leaves no process behind. Uses its own state folder so the
// shared plane of this run is untouched.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import {
  down,
  isAlive,
  readState,
  startApiserver,
  stopApiserver,
  up,
} from '../../tools/controlplane/controlplane.ts';

const base = mkdtempSync(path.join(tmpdir(), 'cp-lifecycle-'));
const stateDir = path.join(base, 'state');

afterAll(async () => {
  await down({ stateDir, verbose: false });
});

describe('control plane lifecycle', () => {
  it('starts, is reused by a second up, survives an API server restart, and stops every process', async () => {
    const first = await up({ stateDir, verbose: false });
    expect(first.reused).toBe(false);
    const second = await up({ stateDir, verbose: false });
    expect(second.reused).toBe(true);
    expect(second.state.server).toBe(first.state.server);

    const kc = new KubeConfig();
    kc.loadFromFile(first.state.kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'kept' }, data: { v: '1' } },
    });

    await stopApiserver(first.state);
    await expect(core.listNamespace()).rejects.toThrow();
    await startApiserver(first.state);
    const kept = await core.readNamespacedConfigMap({ namespace: 'default', name: 'kept' });
    expect(kept.data?.v).toBe('1');

    const pids = Object.values(readState(stateDir)!.pids);
    expect(pids.every(isAlive)).toBe(true);
    expect(await down({ stateDir, verbose: false })).toBe(true);
    expect(pids.filter(isAlive)).toEqual([]);
    expect(readState(stateDir)).toBeUndefined();
  });
});
