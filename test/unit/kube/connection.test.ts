import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  inClusterAvailable,
  inClusterConnection,
  kubeconfigConnection,
  kubeconfigFiles,
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

  it('reads the in-cluster namespace when the ServiceAccount folder has one', () => {
    const sa = mkdtempSync(path.join(tmpdir(), 'sa-'));
    writeFileSync(path.join(sa, 'ca.crt'), 'CA');
    writeFileSync(path.join(sa, 'token'), 'tok');
    const env = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };
    expect(inClusterConnection(env, sa).namespace).toBeUndefined();
    writeFileSync(path.join(sa, 'namespace'), 'team-a\n');
    expect(inClusterConnection(env, sa).namespace).toBe('team-a');
  });
});

describe('kubeconfig files and contexts, as kubectl reads them', () => {
  it('picks --kubeconfig, else the KUBECONFIG list, else ~/.kube/config', () => {
    expect(kubeconfigFiles('/x/kc', { KUBECONFIG: '/a:/b', HOME: '/h' })).toEqual(['/x/kc']);
    expect(
      kubeconfigFiles(undefined, { KUBECONFIG: `/a${path.delimiter}${path.delimiter}/b`, HOME: '/h' }),
    ).toEqual(['/a', '/b']);
    expect(kubeconfigFiles(undefined, { HOME: '/h' })).toEqual([path.join('/h', '.kube', 'config')]);
  });

  it('merges a KUBECONFIG list: the first definition of a name and the first current-context win; --context picks another; the context gives the namespace', async () => {
    const a = mkdtempSync(path.join(tmpdir(), 'kc-a-'));
    const b = mkdtempSync(path.join(tmpdir(), 'kc-b-'));
    mkdirSync(path.join(b, 'certs'));
    writeFileSync(path.join(b, 'certs', 'ca.pem'), 'CA-B');
    writeFileSync(path.join(b, 'token'), 'token-b');
    const first = path.join(a, 'config');
    writeFileSync(
      first,
      JSON.stringify({
        'current-context': 'dev',
        contexts: [{ name: 'dev', context: { cluster: 'dev', user: 'dev', namespace: 'team-dev' } }],
        clusters: [{ name: 'dev', cluster: { server: 'https://dev:6443' } }],
        users: [{ name: 'dev', user: { token: 'token-a' } }],
      }),
    );
    const second = path.join(b, 'config');
    writeFileSync(
      second,
      JSON.stringify({
        'current-context': 'prod',
        contexts: [
          { name: 'dev', context: { cluster: 'prod', user: 'prod' } },
          { name: 'prod', context: { cluster: 'prod', user: 'prod' } },
        ],
        // Relative paths are relative to the file that names them.
        clusters: [
          { name: 'prod', cluster: { server: 'https://prod:6443', 'certificate-authority': 'certs/ca.pem' } },
        ],
        users: [
          { name: 'dev', user: { token: 'shadowed' } },
          { name: 'prod', user: { tokenFile: 'token' } },
        ],
      }),
    );
    const missing = path.join(a, 'does-not-exist');
    const dev = await kubeconfigConnection([missing, first, second]);
    expect(dev.server.host).toBe('dev:6443');
    expect(dev.namespace).toBe('team-dev');
    expect(await dev.headers()).toEqual({ Authorization: 'Bearer token-a' });
    expect(dev.source).toContain('context dev');
    const prod = await kubeconfigConnection([first, second], { context: 'prod' });
    expect(prod.server.host).toBe('prod:6443');
    expect(prod.namespace).toBeUndefined();
    expect(String(prod.tls.ca)).toBe('CA-B');
    expect(await prod.headers()).toEqual({ Authorization: 'Bearer token-b' });
    await expect(kubeconfigConnection([first], { context: 'nope' })).rejects.toThrow(/no context named nope/);
    await expect(kubeconfigConnection(missing)).rejects.toThrow(/does-not-exist/);
    await expect(kubeconfigConnection([missing, `${missing}-too`])).rejects.toThrow(/no kubeconfig/);
  });
});
