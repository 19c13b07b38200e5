// Where the API server is and how to authenticate: from the in-cluster ServiceAccount, from a
// kubeconfig file, or from a @kubernetes/client-node KubeConfig.
//
// Why the first two are read here and not through @kubernetes/client-node: importing that package
// loads every generated API (measured: +83 MiB of RSS for an otherwise idle operator, more than the
// cache of 10,000 plugs). The common cases (a ServiceAccount token in a Pod; a kubeconfig with
// certificates or a token) are a few lines; a kubeconfig whose user needs an exec plugin or an
// auth provider (cloud CLIs) falls back to client-node's KubeConfig, imported only then.

import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';

export interface TlsOptions {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  rejectUnauthorized?: boolean;
  servername?: string;
}

export interface KubeConnection {
  server: URL;
  tls: TlsOptions;
  /** Authentication headers for the next request (providers refresh rotating tokens). */
  headers(): Promise<Record<string, string>>;
  /** Where it came from, for logs (no credentials). */
  source: string;
  /** The namespace it defaults to: the kubeconfig context's, or the in-cluster ServiceAccount's. */
  namespace?: string;
}

const saDir = '/var/run/secrets/kubernetes.io/serviceaccount';

/** A token file re-read every minute (projected ServiceAccount tokens rotate). */
function tokenFileHeaders(file: string): () => Promise<Record<string, string>> {
  let token = '';
  let readAt = 0;
  return async () => {
    if (!token || Date.now() - readAt > 60_000) {
      token = (await readFile(file, 'utf8')).trim();
      readAt = Date.now();
    }
    return { Authorization: `Bearer ${token}` };
  };
}

export function inClusterAvailable(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT);
}

/** The Pod's own ServiceAccount, as client-go's rest.InClusterConfig reads it. */
export function inClusterConnection(env: NodeJS.ProcessEnv = process.env, dir = saDir): KubeConnection {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  const namespaceFile = path.join(dir, 'namespace');
  const namespace = existsSync(namespaceFile) ? readFileSync(namespaceFile, 'utf8').trim() : '';
  return {
    server: new URL(`https://${host.includes(':') ? `[${host}]` : host}:${port}`),
    tls: { ca: readFileSync(path.join(dir, 'ca.crt')) },
    headers: tokenFileHeaders(path.join(dir, 'token')),
    source: 'in-cluster ServiceAccount',
    ...(namespace ? { namespace } : {}),
  };
}

interface ClusterEntry {
  server: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
}

interface UserEntry {
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  token?: string;
  tokenFile?: string;
  username?: string;
  password?: string;
  exec?: unknown;
  'auth-provider'?: unknown;
  as?: string;
}

interface ContextEntry {
  cluster: string;
  user: string;
  namespace?: string;
}

/** A kubeconfig (one file, or several merged); file paths in it are absolute. */
export interface KubeconfigFile {
  'current-context'?: string;
  contexts?: Array<{ name: string; context: ContextEntry }>;
  clusters?: Array<{ name: string; cluster: ClusterEntry }>;
  users?: Array<{ name: string; user?: UserEntry }>;
}

/**
 * The kubeconfig files kubectl reads: `--kubeconfig` alone when given, else the `KUBECONFIG` path
 * list, else `~/.kube/config`.
 */
export function kubeconfigFiles(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  if (flag) return [flag];
  const list = (env.KUBECONFIG ?? '').split(path.delimiter).filter((f) => f !== '');
  if (list.length > 0) return list;
  return [path.join(env.HOME ?? homedir(), '.kube', 'config')];
}

function absolutePaths<T extends object>(entry: T, keys: readonly string[], dir: string): T {
  const out = { ...entry } as Record<string, unknown>;
  for (const k of keys) {
    const v = out[k];
    if (typeof v === 'string' && v !== '' && !path.isAbsolute(v)) out[k] = path.join(dir, v);
  }
  return out as T;
}

/**
 * Reads and merges kubeconfig files as kubectl does: for each cluster, user and context name the
 * first file that defines it wins, and so does the first `current-context`. Files of a list that do
 * not exist are skipped (a single file must exist). Relative file paths are made absolute, against
 * the file that named them.
 */
export async function loadKubeconfig(files: string | readonly string[]): Promise<KubeconfigFile> {
  const list = typeof files === 'string' ? [files] : files;
  const merged: Required<Omit<KubeconfigFile, 'current-context'>> & { 'current-context'?: string } = {
    contexts: [],
    clusters: [],
    users: [],
  };
  let read = 0;
  for (const file of list) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if (list.length > 1 && (err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new Error(`kubeconfig ${file}: ${(err as Error).message}`, { cause: err });
    }
    read++;
    const kc = (parse(text) ?? {}) as KubeconfigFile;
    const dir = path.dirname(path.resolve(file));
    merged['current-context'] ||= kc['current-context'] || undefined;
    for (const c of kc.clusters ?? []) {
      if (!merged.clusters.some((m) => m.name === c.name))
        merged.clusters.push({
          name: c.name,
          cluster: absolutePaths(c.cluster, ['certificate-authority'], dir),
        });
    }
    for (const u of kc.users ?? []) {
      if (!merged.users.some((m) => m.name === u.name))
        merged.users.push({
          name: u.name,
          user: absolutePaths(u.user ?? {}, ['client-certificate', 'client-key', 'tokenFile'], dir),
        });
    }
    for (const c of kc.contexts ?? []) {
      if (!merged.contexts.some((m) => m.name === c.name)) merged.contexts.push(c);
    }
  }
  if (read === 0) throw new Error(`no kubeconfig: none of ${list.join(path.delimiter)} exists`);
  return merged;
}

/**
 * A kubeconfig's context (the current one, or `context`): its connection, with the context's
 * namespace. `files` is one file or a list merged as kubectl merges `KUBECONFIG`.
 */
export async function kubeconfigConnection(
  files: string | readonly string[],
  opts: { context?: string | undefined } = {},
): Promise<KubeConnection> {
  const where = typeof files === 'string' ? files : files.join(path.delimiter);
  const kc = await loadKubeconfig(files);
  const ctxName = opts.context || kc['current-context'];
  if (!ctxName) throw new Error(`kubeconfig ${where}: no current context`);
  const ctx = kc.contexts?.find((c) => c.name === ctxName)?.context;
  if (!ctx) throw new Error(`kubeconfig ${where}: no context named ${ctxName}`);
  const cluster = kc.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  if (!cluster?.server)
    throw new Error(`kubeconfig ${where}: context ${ctxName} names no cluster with a server`);
  const user = kc.users?.find((u) => u.name === ctx.user)?.user ?? {};
  const namespace = ctx.namespace ? { namespace: ctx.namespace } : {};
  if (user.exec || user['auth-provider']) {
    // Cloud CLIs and OIDC: let client-node run the plugin (loaded only in this case).
    const { KubeConfig } = await import('@kubernetes/client-node');
    const full = new KubeConfig();
    full.loadFromString(stringify(kc));
    full.setCurrentContext(ctxName);
    return { ...kubeConfigConnection(full), ...namespace };
  }
  const fileOrData = (f: string | undefined, data: string | undefined): Buffer | undefined => {
    if (data) return Buffer.from(data, 'base64');
    if (f) return readFileSync(f);
    return undefined;
  };
  const tls: TlsOptions = {};
  const ca = fileOrData(cluster['certificate-authority'], cluster['certificate-authority-data']);
  if (ca) tls.ca = ca;
  if (cluster['insecure-skip-tls-verify']) tls.rejectUnauthorized = false;
  if (cluster['tls-server-name']) tls.servername = cluster['tls-server-name'];
  const cert = fileOrData(user['client-certificate'], user['client-certificate-data']);
  const key = fileOrData(user['client-key'], user['client-key-data']);
  if (cert) tls.cert = cert;
  if (key) tls.key = key;
  let headers: () => Promise<Record<string, string>> = async () => ({});
  if (user.token) {
    const h = { Authorization: `Bearer ${user.token}` };
    headers = async () => h;
  } else if (user.tokenFile) {
    headers = tokenFileHeaders(user.tokenFile);
  } else if (user.username) {
    const h = {
      Authorization: `Basic ${Buffer.from(`${user.username}:${user.password ?? ''}`).toString('base64')}`,
    };
    headers = async () => h;
  }
  if (user.as) {
    const base = headers;
    headers = async () => ({ ...(await base()), 'Impersonate-User': user.as! });
  }
  return {
    server: new URL(cluster.server),
    tls,
    headers,
    source: `kubeconfig ${where} (context ${ctxName})`,
    ...namespace,
  };
}

/** A @kubernetes/client-node KubeConfig (tests, exec plugins): its HTTPS options, refreshed every minute. */
export function kubeConfigConnection(kc: KubeConfig): KubeConnection {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig names no current cluster');
  const tls: TlsOptions = {};
  let headers: Record<string, string> = {};
  let fetchedAt = 0;
  let pending: Promise<void> | undefined;
  const refresh = async () => {
    const opts: {
      headers?: Record<string, unknown>;
      ca?: unknown;
      cert?: unknown;
      key?: unknown;
      rejectUnauthorized?: boolean;
      servername?: string;
      auth?: string;
    } = {};
    await kc.applyToHTTPSOptions(opts as never);
    const h: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) h[k] = String(v);
    if (opts.auth) h.Authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    headers = h;
    if (opts.ca) tls.ca = opts.ca as Buffer;
    if (opts.cert) tls.cert = opts.cert as Buffer;
    if (opts.key) tls.key = opts.key as Buffer;
    if (opts.rejectUnauthorized !== undefined) tls.rejectUnauthorized = opts.rejectUnauthorized;
    if (opts.servername !== undefined) tls.servername = opts.servername;
    fetchedAt = Date.now();
  };
  return {
    server: new URL(cluster.server),
    tls,
    source: `kubeconfig context ${kc.getCurrentContext()}`,
    headers: async () => {
      if (Date.now() - fetchedAt > 60_000) {
        pending ??= refresh().finally(() => {
          pending = undefined;
        });
        await pending;
      }
      return headers;
    },
  };
}
