// The only code that sends bytes to the API server.
//
// Why not the generated @kubernetes/client-node APIs: in 2.0.1 each call builds a new undici
// dispatcher, so every request pays a TLS handshake and leaks a connection (measured: 153 writes/s
// and 640 open sockets after 1,000 creates, versus 650-1,800 writes/s on 2-65 pooled connections
// with a plain keep-alive agent; see shared/notes/kubernetes-client.md). Connections come from
// connection.ts (client-node's KubeConfig only for exec/OIDC users and tests) and requests go over
// one pooled node:https agent. Impersonation is a per-request header, so the one pool (the
// operator's TLS identity) serves every impersonated ServiceAccount too.
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../observe/log.ts';
import type { Metrics } from '../observe/metrics.ts';
import { type KubeConnection, kubeConfigConnection } from './connection.ts';
import { ApiError, type KubeStatus } from './errors.ts';
import { TokenBucket } from './rate-limit.ts';

/** Who a request is made as: the operator itself, or a ServiceAccount it impersonates. */
export type Identity = { serviceAccount: { namespace: string; name: string } } | undefined;

export function identityUser(as: Identity): string | undefined {
  return as ? `system:serviceaccount:${as.serviceAccount.namespace}:${as.serviceAccount.name}` : undefined;
}

export interface RequestOptions {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  as?: Identity;
  signal?: AbortSignal;
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
  /** Resolve to the response text as it is (e.g. a Pod's log), not to its decoded JSON. */
  text?: boolean;
  /** The Accept header (default application/json); e.g. metadataListAccept for metadata only. */
  accept?: string;
}

export interface KubeClientOptions {
  /** Where and how to connect; or a client-node KubeConfig (tests) converted to one. */
  connection?: KubeConnection;
  kubeConfig?: KubeConfig;
  /** Client-side rate limit: sustained requests per second and burst (watches excluded). */
  qps?: number;
  burst?: number;
  /** Pooled connections to the API server. */
  maxSockets?: number;
  userAgent?: string;
  metrics?: Metrics;
  log?: Logger;
}

export interface WatchEvent<T = unknown> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

const retriableSocketErrors = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ETIMEDOUT', 'EAI_AGAIN']);

function buildQuery(q: RequestOptions['query']): string {
  if (!q) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(q)) {
    if (v !== undefined) parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

/** The metrics label for a path: the resource (and subresource), never names or namespaces. */
export function resourceLabel(path: string): string {
  const segs = path.split('?')[0]!.split('/').filter(Boolean);
  // /api/v1/... or /apis/group/version/...
  let i = segs[0] === 'api' ? 2 : 3;
  if (segs[i] === 'namespaces' && segs.length > i + 2) i += 2;
  const resource = segs[i] ?? segs.join('/');
  const sub = segs.length > i + 2 ? `/${segs[i + 2]}` : '';
  return `${resource}${sub}`;
}

type TlsMaterial = KubeConnection['tls'];
type TlsRequestOptions = https.RequestOptions & { secureContext?: tls.SecureContext };

/**
 * A pool whose connections are told apart by a TLS generation, not by the TLS material itself. Node's
 * https.Agent names a pool by concatenating the request's `ca`, `cert` and `key` (Buffers turned into
 * strings) on every request and again when its socket is freed: with a kubeconfig's client certificate
 * about 4 KB, three times per request, about 40% of the operator's allocations while a shared Secret's
 * change recreated 1,000 Jobs (issue 17). The material is given once as a SecureContext instead, and
 * a new generation (new connections) starts whenever it changes (an exec plugin's rotated certificate).
 */
class TlsGenerationAgent extends https.Agent {
  generation = 0;
  override getName(options?: https.RequestOptions): string {
    return `${http.Agent.prototype.getName.call(this, options)}:${this.generation}`;
  }
}

const sameMaterial = (a: string | Buffer | undefined, b: string | Buffer | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && Buffer.from(a).equals(Buffer.from(b)));

export class KubeClient {
  readonly server: URL;
  private readonly agent: https.Agent | http.Agent;
  /**
   * Watches hold a connection each for minutes (HTTP/1.1): they get a pool of their own, without a
   * socket limit, so that many watches (several kinds in several namespaces) never leave requests
   * queued behind them in the bounded pool.
   */
  private readonly watchAgent: https.Agent | http.Agent;
  private readonly conn: KubeConnection;
  private authHeaders: Record<string, string> = {};
  private readonly bucket: TokenBucket;
  private readonly userAgent: string;
  private readonly metrics: Metrics | undefined;
  private readonly log: Logger | undefined;
  /** TCP/TLS connections opened to the API server so far. */
  connectionsOpened = 0;

  constructor(opts: KubeClientOptions) {
    if (opts.connection) this.conn = opts.connection;
    else if (opts.kubeConfig) this.conn = kubeConfigConnection(opts.kubeConfig);
    else throw new Error('KubeClient needs a connection or a kubeConfig');
    this.server = this.conn.server;
    const agentOpts = {
      keepAlive: true,
      maxSockets: opts.maxSockets ?? 32,
      maxFreeSockets: opts.maxSockets ?? 32,
    };
    const watchOpts = { keepAlive: true };
    const https_ = this.server.protocol === 'https:';
    this.agent = https_ ? new TlsGenerationAgent(agentOpts) : new http.Agent(agentOpts);
    this.watchAgent = https_ ? new TlsGenerationAgent(watchOpts) : new http.Agent(watchOpts);
    // Count the connections the pools open (what keeps us honest about reuse; see the test).
    for (const a of [this.agent, this.watchAgent]) {
      const agent = a as unknown as { createConnection: (...a: unknown[]) => unknown };
      const create = agent.createConnection.bind(agent);
      agent.createConnection = (...args: unknown[]) => {
        this.connectionsOpened++;
        opts.metrics?.kubeConnections.inc();
        return create(...args);
      };
    }
    this.bucket = new TokenBucket(opts.qps ?? 1000, opts.burst ?? 2000);
    this.userAgent = opts.userAgent ?? 'integration-operator';
    this.metrics = opts.metrics;
    this.log = opts.log;
  }

  /**
   * TLS options of a request: the connection's material (filled by the time auth() resolved) as one
   * SecureContext, rebuilt (and the pools' generation bumped) when the material changes.
   */
  private get tls(): TlsRequestOptions {
    const t = this.conn.tls;
    const seen = this.tlsSeen;
    const same = (eq: (a: TlsMaterial[keyof TlsMaterial], b: TlsMaterial[keyof TlsMaterial]) => boolean) =>
      seen !== undefined &&
      seen.rejectUnauthorized === t.rejectUnauthorized &&
      seen.servername === t.servername &&
      eq(seen.ca, t.ca) &&
      eq(seen.cert, t.cert) &&
      eq(seen.key, t.key);
    if (same((a, b) => a === b)) return this.tlsOptions;
    if (!same((a, b) => sameMaterial(a as string | Buffer | undefined, b as string | Buffer | undefined))) {
      this.tlsOptions = {
        secureContext: tls.createSecureContext({
          ...(t.ca ? { ca: t.ca } : {}),
          ...(t.cert ? { cert: t.cert } : {}),
          ...(t.key ? { key: t.key } : {}),
        }),
        ...(t.rejectUnauthorized !== undefined ? { rejectUnauthorized: t.rejectUnauthorized } : {}),
        ...(t.servername !== undefined ? { servername: t.servername } : {}),
      };
      if (seen) {
        for (const a of [this.agent, this.watchAgent]) if (a instanceof TlsGenerationAgent) a.generation++;
      }
    }
    // The same material in new Buffers (a refresh) is compared by reference from now on.
    this.tlsSeen = { ...t };
    return this.tlsOptions;
  }
  private tlsSeen: TlsMaterial | undefined;
  private tlsOptions: TlsRequestOptions = {};

  /** Current authentication headers (the connection refreshes rotating tokens). */
  private async auth(): Promise<void> {
    this.authHeaders = await this.conn.headers();
  }

  private headers(opts: { as?: Identity; contentType?: string; accept?: string }): Record<string, string> {
    const h: Record<string, string> = {
      ...this.authHeaders,
      Accept: opts.accept ?? 'application/json',
      'User-Agent': this.userAgent,
    };
    if (opts.contentType) h['Content-Type'] = opts.contentType;
    const user = identityUser(opts.as);
    if (user) h['Impersonate-User'] = user;
    return h;
  }

  /** Sends one request and returns the decoded JSON body. Non-2xx responses throw ApiError. */
  async request<T = unknown>(opts: RequestOptions): Promise<T> {
    await this.auth();
    let attempt = 0;
    for (;;) {
      const queued = performance.now();
      await this.bucket.take(opts.signal);
      const started = performance.now();
      if (started > queued) this.metrics?.kubeRateLimitWait.inc((started - queued) / 1000);
      try {
        const res = await this.send(opts);
        this.metrics?.kubeRequests.inc({
          verb: opts.method,
          resource: resourceLabel(opts.path),
          code: res.status,
        });
        this.metrics?.kubeRequestDuration.observe(
          { verb: opts.method },
          (performance.now() - started) / 1000,
        );
        if (res.status >= 200 && res.status < 300) {
          if (opts.text) return res.body as T;
          return (res.body.length ? JSON.parse(res.body) : undefined) as T;
        }
        const err = ApiError.fromResponse(res.status, res.body, opts, res.retryAfter);
        // 429 (API priority and fairness, or a watch cache still initialising) asks us to come back.
        if (res.status === 429 && attempt < 5) {
          attempt++;
          await abortableDelay(Math.min(5_000, (res.retryAfter ?? 1) * 1000), opts.signal);
          continue;
        }
        throw err;
      } catch (err) {
        if (err instanceof ApiError) throw err;
        const code = (err as NodeJS.ErrnoException).code;
        this.metrics?.kubeRequests.inc({
          verb: opts.method,
          resource: resourceLabel(opts.path),
          code: code ?? 'error',
        });
        // A pooled keep-alive connection can be closed by the server as we reuse it: retry once.
        if (code && retriableSocketErrors.has(code) && attempt < 1 && !opts.signal?.aborted) {
          attempt++;
          continue;
        }
        throw ApiError.fromTransport(err, opts);
      }
    }
  }

  private send(
    opts: RequestOptions,
  ): Promise<{ status: number; body: string; retryAfter: number | undefined }> {
    const payload =
      opts.body === undefined
        ? undefined
        : typeof opts.body === 'string'
          ? opts.body
          : JSON.stringify(opts.body);
    const headers = this.headers({
      as: opts.as,
      contentType: payload === undefined ? undefined : (opts.contentType ?? 'application/json'),
      ...(opts.accept ? { accept: opts.accept } : {}),
    });
    if (payload !== undefined) headers['Content-Length'] = String(Buffer.byteLength(payload));
    const mod = this.server.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(
        {
          ...this.tls,
          agent: this.agent,
          protocol: this.server.protocol,
          hostname: this.server.hostname,
          port: this.server.port,
          method: opts.method,
          path: `${this.server.pathname.replace(/\/$/, '')}${opts.path}${buildQuery(opts.query)}`,
          headers,
          timeout: opts.timeoutMs ?? 30_000,
          signal: opts.signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const ra = Number(res.headers['retry-after']);
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
              retryAfter: Number.isFinite(ra) ? ra : undefined,
            });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () =>
        req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })),
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /**
   * Opens a watch and calls `onEvent` for each event until the server ends the stream (resolves)
   * or an error occurs (rejects with ApiError; an ERROR event carrying a Status is turned into one,
   * e.g. 410 Gone when the resourceVersion is too old). `accept` asks for another representation
   * (metadataWatchAccept: metadata only).
   */
  async watch<T>(
    path: string,
    query: RequestOptions['query'],
    onEvent: (ev: WatchEvent<T>) => void,
    signal: AbortSignal,
    opts: { accept?: string } = {},
  ): Promise<void> {
    await this.auth();
    const mod = this.server.protocol === 'https:' ? https : http;
    const fullPath = `${this.server.pathname.replace(/\/$/, '')}${path}${buildQuery({ ...query, watch: 1 })}`;
    const reqOpts: RequestOptions = { method: 'GET', path };
    this.metrics?.kubeRequests.inc({ verb: 'WATCH', resource: resourceLabel(path), code: 'open' });
    await new Promise<void>((resolve, reject) => {
      const req = mod.request(
        {
          ...this.tls,
          agent: this.watchAgent,
          protocol: this.server.protocol,
          hostname: this.server.hostname,
          port: this.server.port,
          method: 'GET',
          path: fullPath,
          headers: this.headers(opts.accept ? { accept: opts.accept } : {}),
          signal,
        },
        (res) => {
          if ((res.statusCode ?? 0) >= 300) {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const ra = Number(res.headers['retry-after']);
              reject(
                ApiError.fromResponse(
                  res.statusCode ?? 0,
                  Buffer.concat(chunks).toString('utf8'),
                  reqOpts,
                  Number.isFinite(ra) ? ra : undefined,
                ),
              );
            });
            return;
          }
          let buf = '';
          let failed = false;
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            if (failed) return;
            buf += chunk;
            let nl = buf.indexOf('\n');
            while (nl >= 0) {
              const line = buf.slice(0, nl);
              buf = buf.slice(nl + 1);
              nl = buf.indexOf('\n');
              if (!line.trim()) continue;
              let ev: WatchEvent<T>;
              try {
                ev = JSON.parse(line) as WatchEvent<T>;
              } catch (err) {
                failed = true;
                req.destroy();
                reject(ApiError.fromTransport(err, reqOpts));
                return;
              }
              if (ev.type === 'ERROR') {
                failed = true;
                const st = ev.object as KubeStatus;
                req.destroy();
                reject(ApiError.fromStatus(st.code ?? 500, st, reqOpts));
                return;
              }
              try {
                onEvent(ev);
              } catch (err) {
                this.log?.error('watch event handler failed', { err, path });
              }
            }
          });
          res.on('end', () => {
            if (!failed) resolve();
          });
          res.on('error', (err) => {
            if (!failed) reject(ApiError.fromTransport(err, reqOpts));
          });
        },
      );
      req.on('error', (err) => reject(ApiError.fromTransport(err, reqOpts)));
      req.end();
    });
  }

  /** Closes pooled connections. */
  close(): void {
    this.agent.destroy();
    this.watchAgent.destroy();
  }
}

export function abortableDelay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
