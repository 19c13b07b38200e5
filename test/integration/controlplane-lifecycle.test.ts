// The control-plane scripts themselves: a second `up` reuses a running plane, the API server can be
// restarted on the same etcd, and `down` leaves no process behind. Uses its own state folder so the
// shared plane of this run is untouched.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
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
import { pinnedNode } from '../support/node-binaries.ts';
import { repoRoot } from '../support/operator.ts';
import { eventually } from '../support/poll.ts';

const base = mkdtempSync(path.join(tmpdir(), 'cp-lifecycle-'));
const stateDir = path.join(base, 'state');

const interruptedDir = path.join(base, 'interrupted');

afterAll(async () => {
  await down({ stateDir, verbose: false });
  await down({ stateDir: interruptedDir, verbose: false });
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

  it('stops what it started when the process running up gets SIGINT mid-start, and exits as the signal would', async () => {
    // `npm start` and `npm run cluster:up` have no signal handlers of their own while the plane starts.
    const script = `const { up } = await import(process.argv[1]);
await up({ stateDir: process.argv[2], verbose: false });
console.log('up returned');
setInterval(() => {}, 1000);`;
    const child = spawn(
      pinnedNode,
      [
        '--input-type=module',
        '-e',
        script,
        path.join(repoRoot, 'tools', 'controlplane', 'controlplane.ts'),
        interruptedDir,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      // etcd runs and kube-apiserver is started but not ready yet: up is waiting for it.
      const pids = await eventually(
        () => {
          const p = readState(interruptedDir)?.pids;
          return p && p.etcd > 0 && p.apiserver > 0 ? [p.etcd, p.apiserver] : undefined;
        },
        { what: 'up to record etcd and kube-apiserver', timeoutMs: 60_000, intervalMs: 10 },
      );
      expect(pids.every(isAlive)).toBe(true);
      child.kill('SIGINT');
      expect(await exited, out).toBe(130);
      expect(out).not.toContain('up returned');
      expect(out).toContain('SIGINT: stopping the control plane being started');
      expect(pids.filter(isAlive)).toEqual([]);
      expect(existsSync(interruptedDir)).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
