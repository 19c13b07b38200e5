import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  inClusterAvailable,
  inClusterConnection,
  kubeconfigConnection,
} from '../../../src/kube/connection.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'conn-'));
const b64 = (s: string) => Buffer.from(s).toString('base64');

function kubeconfig(user: Record<string, unknown>, cluster: Record<string, unknown> = {}): string {
  const file = path.join(dir, `kc-${Math.random().toString(36).slice(2)}`);
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'c',
      contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
      clusters: [
        {
          name: 'k',
          cluster: { server: 'https://127.0.0.1:6443', 'certificate-authority-data': b64('CA'), ...cluster },
        },
      ],
      users: [{ name: 'u', user }],
    }),
  );
  return file;
}

describe('connections', () => {
  it('reads client certificates and the CA from a kubeconfig', async () => {
    const c = await kubeconfigConnection(
      kubeconfig({ 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') }),
    );
    expect(c.server.href).toBe('https://127.0.0.1:6443/');
    expect(String(c.tls.ca)).toBe('CA');
    expect(String(c.tls.cert)).toBe('CERT');
    expect(String(c.tls.key)).toBe('KEY');
    expect(await c.headers()).toEqual({});
  });

  it('uses a static token, a token file (relative to the kubeconfig), basic auth, and impersonation', async () => {
    expect(await (await kubeconfigConnection(kubeconfig({ token: 't0k' }))).headers()).toEqual({
      Authorization: 'Bearer t0k',
    });
    writeFileSync(path.join(dir, 'tok'), 'filetoken\n');
    expect(await (await kubeconfigConnection(kubeconfig({ tokenFile: 'tok' }))).headers()).toEqual({
      Authorization: 'Bearer filetoken',
    });
    const basic = await (await kubeconfigConnection(kubeconfig({ username: 'a', password: 'b' }))).headers();
    expect(basic.Authorization).toBe(`Basic ${b64('a:b')}`);
    const as = await (await kubeconfigConnection(kubeconfig({ token: 'x', as: 'someone' }))).headers();
    expect(as['Impersonate-User']).toBe('someone');
  });

  it('honours insecure-skip-tls-verify and tls-server-name', async () => {
    const c = await kubeconfigConnection(
      kubeconfig({ token: 'x' }, { 'insecure-skip-tls-verify': true, 'tls-server-name': 'api' }),
    );
    expect(c.tls.rejectUnauthorized).toBe(false);
    expect(c.tls.servername).toBe('api');
  });

  it('fails clearly without a current context', async () => {
    const file = path.join(dir, 'empty');
    writeFileSync(file, 'apiVersion: v1\nkind: Config\n');
    await expect(kubeconfigConnection(file)).rejects.toThrow(/no current context/);
  });

  it('reads the in-cluster ServiceAccount, re-reading its rotating token', async () => {
    const sa = mkdtempSync(path.join(tmpdir(), 'sa-'));
    writeFileSync(path.join(sa, 'ca.crt'), 'CA');
    writeFileSync(path.join(sa, 'token'), 'tok1');
    const env = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };
    expect(inClusterAvailable(env)).toBe(true);
    expect(inClusterAvailable({})).toBe(false);
    const c = inClusterConnection(env, sa);
    expect(c.server.href).toBe('https://10.0.0.1/');
    expect(await c.headers()).toEqual({ Authorization: 'Bearer tok1' });
    expect(
      inClusterConnection({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' }, sa).server
        .host,
    ).toBe('[fd00::1]:6443');
  });
});
