// The apparatus SDK: write an apparatus service in TypeScript with node:http only. Published as the
// package @integration-operator/apparatus-sdk (packages/apparatus-sdk builds this folder, with
// ../protocol.ts and ../errors.ts, to JavaScript for Node 20+); this is its only source.
//
//   import { createApparatus } from '@integration-operator/apparatus-sdk';
//   const app = createApparatus({
//     config: ({ plug, socket }) => ({ username: plug.metadata?.name ?? 'app' }),
//     coupled: async ({ plugConfig }) => { ... },
//   });
//   const { port, close } = await app.listen(3000);
//
// Requests are validated against the protocol schemas (400 with a clear message on a bad body),
// `GET /ping` is built in, events are deduplicated by `Idempotency-Key` (best effort), request
// bodies are size-limited, and `close()` shuts down gracefully.
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type RequestListener,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { z } from 'zod';
import {
  type ConfigRequest,
  ConfigRequestSchema,
  type ConfigResponse,
  ConfigResponseSchema,
  type CouplingEventBody,
  CouplingEventBodySchema,
  isLifecycleEvent,
  type LifecycleEvent,
  type ObjectEventBody,
  PlugObjectEventBodySchema,
  SocketObjectEventBodySchema,
} from '../protocol.ts';
import { IdempotencyCache, type IdempotencyCacheOptions } from './idempotency-cache.ts';

export type {
  ConfigRequest,
  ConfigResponse,
  ConfigValues,
  CouplingEventBody,
  JsonValue,
  KubeObject,
  LifecycleEvent,
  ObjectEventBody,
  StringMap,
} from '../protocol.ts';
export { IdempotencyCache, type IdempotencyCacheOptions } from './idempotency-cache.ts';

export const DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024;
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

export interface RequestContext {
  /** `config` or the lifecycle event being handled. */
  endpoint: 'config' | LifecycleEvent;
  /** The `Idempotency-Key` header (the operator sends one with every event). */
  idempotencyKey: string | undefined;
  headers: IncomingHttpHeaders;
  /** Aborted when `close()` gives up waiting (after `shutdownTimeoutMs`): stop work then. */
  signal: AbortSignal;
}

type Awaitable<T> = T | Promise<T>;

export interface ApparatusHandlers {
  /**
   * `POST /config`: returns the owner's config as a JSON object; values that are not strings
   * become their JSON text on the operator side, `null` drops the key. Must be side-effect free:
   * the operator calls it whenever it resolves config. Without this handler the answer is `{}`.
   */
  config?: (body: ConfigRequest, ctx: RequestContext) => Awaitable<ConfigResponse>;
  /** `POST /created`: the owner was first seen. The body holds only the own object. */
  created?: (body: ObjectEventBody, ctx: RequestContext) => Awaitable<void>;
  /** `POST /coupled`: a Plug and a Socket were coupled. The other side's object has no status. */
  coupled?: (body: CouplingEventBody, ctx: RequestContext) => Awaitable<void>;
  /** `POST /updated`: a side's spec, epoch or resolved inputs changed while coupled. */
  updated?: (body: CouplingEventBody, ctx: RequestContext) => Awaitable<void>;
  /** `POST /decoupled`: the coupling ended. */
  decoupled?: (body: CouplingEventBody, ctx: RequestContext) => Awaitable<void>;
  /** `POST /deleted`: the owner is being deleted. The body holds only the own object. */
  deleted?: (body: ObjectEventBody, ctx: RequestContext) => Awaitable<void>;
}

export interface ApparatusOptions {
  /** Path prefix the service is mounted at (the owner's `apparatus.endpoint` path, e.g. `/socket`). */
  basePath?: string;
  /** Request body limit; larger bodies get 413. Default 5 MiB. */
  maxBodyBytes?: number;
  /** Deduplication of events by `Idempotency-Key`; `false` turns it off. Default 1000 keys, 10 min. */
  idempotency?: IdempotencyCacheOptions | false;
  /** How long `close()` waits for in-flight requests before cutting connections. Default 10 s. */
  shutdownTimeoutMs?: number;
  /** Called with an error a handler threw (default: one line on stderr with its name and message). */
  onError?: (error: unknown, info: { endpoint: string }) => void;
}

export interface RunningApparatus {
  port: number;
  /** Stops accepting, lets in-flight requests finish (up to `shutdownTimeoutMs`), then closes. */
  close(): Promise<void>;
}

export interface Apparatus {
  /** A node:http request listener, to mount in a server of your own. */
  handler: RequestListener;
  /** Starts a server on `port` (0 = any free port) and `host` (default: all interfaces). */
  listen(port: number, host?: string): Promise<RunningApparatus>;
}

/**
 * Thrown by a handler to answer with a chosen status and message, e.g. `422` when the request can
 * never succeed (the operator does not retry 4xx and shows the message in the owner's status) or
 * `503` for a transient failure (retried). Any other thrown error answers 500 with a generic message.
 */
export class ApparatusHttpError extends Error {
  override name = 'ApparatusHttpError';
  readonly code = 'ApparatusHttpError';
  readonly status: number;
  constructor(status: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
  }
}

class RequestBodyError extends Error {
  override name = 'RequestBodyError';
  readonly code = 'RequestBodyError';
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

type Outcome = { status: number; body: unknown };

const METHODS: Record<string, 'GET' | 'POST'> = { ping: 'GET' };

function formatIssues(endpoint: string, error: z.ZodError): string {
  const issues = error.issues.slice(0, 5).map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(body)';
    return `${path}: ${issue.message}`;
  });
  const more = error.issues.length > 5 ? `; and ${error.issues.length - 5} more` : '';
  return `invalid /${endpoint} body: ${issues.join('; ')}${more}`;
}

type ParsedBody =
  | { ok: true; endpoint: 'config'; body: ConfigRequest }
  | { ok: true; endpoint: 'created' | 'deleted'; body: ObjectEventBody }
  | { ok: true; endpoint: 'coupled' | 'updated' | 'decoupled'; body: CouplingEventBody }
  | { ok: false; message: string };

/** Validates a request body for an endpoint with the protocol schemas. */
export function parseRequestBody(endpoint: 'config' | LifecycleEvent, json: unknown): ParsedBody {
  if (endpoint === 'config') {
    const parsed = ConfigRequestSchema.safeParse(json);
    return parsed.success
      ? { ok: true, endpoint, body: parsed.data }
      : { ok: false, message: formatIssues(endpoint, parsed.error) };
  }
  if (endpoint === 'created' || endpoint === 'deleted') {
    const record = json !== null && typeof json === 'object' ? (json as Record<string, unknown>) : {};
    const hasPlug = record.plug !== undefined;
    const hasSocket = record.socket !== undefined;
    if (hasPlug === hasSocket) {
      return { ok: false, message: `invalid /${endpoint} body: expected exactly one of plug or socket` };
    }
    const parsed = (hasPlug ? PlugObjectEventBodySchema : SocketObjectEventBodySchema).safeParse(json);
    return parsed.success
      ? { ok: true, endpoint, body: parsed.data }
      : { ok: false, message: formatIssues(endpoint, parsed.error) };
  }
  const parsed = CouplingEventBodySchema.safeParse(json);
  return parsed.success
    ? { ok: true, endpoint, body: parsed.data }
    : { ok: false, message: formatIssues(endpoint, parsed.error) };
}

/**
 * How much of a body over the limit is read at most (counted from its first byte, whether its length
 * was declared or not; what is past the limit is thrown away) before the 413 is sent, and for how
 * long. A client writes its whole body before it reads the answer; a server that answers and closes
 * while body bytes are still arriving makes the kernel reset the connection, and the client sees
 * `ECONNRESET` instead of the 413 (measured: 3 in 4 bodies of 2-4 times the limit). Past these bounds
 * the answer is sent at once and the connection cut, as before.
 */
const DISCARD_MAX_BYTES = 64 * 1024 * 1024;
const DISCARD_MAX_MS = 10_000;

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused: RequestBodyError | undefined;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (settle: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      settle();
    };
    /** Over the limit: keep nothing, read the rest (within bounds), then answer 413. */
    const refuse = (error: RequestBodyError, total: number): void => {
      refused = error;
      chunks.length = 0;
      if (total > DISCARD_MAX_BYTES) {
        finish(() => reject(error));
        return;
      }
      timer = setTimeout(() => finish(() => reject(error)), DISCARD_MAX_MS);
      timer.unref();
    };
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      refuse(
        new RequestBodyError(413, `request body of ${declared} bytes exceeds the limit of ${limit} bytes`),
        declared,
      );
    }
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (refused) {
        const error = refused;
        if (size > DISCARD_MAX_BYTES) finish(() => reject(error));
        return;
      }
      if (size > limit) {
        refuse(new RequestBodyError(413, `request body exceeds the limit of ${limit} bytes`), size);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      const error = refused;
      finish(() => (error ? reject(error) : resolve(Buffer.concat(chunks))));
    });
    req.on('error', (err) => finish(() => reject(refused ?? err)));
    // The client went away before the end of its body: nobody is left to answer.
    req.on('close', () => finish(() => reject(refused ?? new Error('request closed before its end'))));
  });
}

function send(res: ServerResponse, outcome: Outcome, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent) return;
  for (const [name, value] of Object.entries(extraHeaders)) res.setHeader(name, value);
  if (outcome.status === 204 || outcome.body === undefined) {
    res.writeHead(outcome.status);
    res.end();
    return;
  }
  const text = JSON.stringify(outcome.body);
  res.writeHead(outcome.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function defaultOnError(error: unknown, info: { endpoint: string }): void {
  const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  process.stderr.write(`apparatus: /${info.endpoint} handler failed: ${what}\n`);
}

function normalizeBasePath(basePath: string | undefined): string {
  const trimmed = (basePath ?? '').trim().replace(/\/+$/, '');
  if (trimmed === '') return '';
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

export function createApparatus(handlers: ApparatusHandlers, options: ApparatusOptions = {}): Apparatus {
  const basePath = normalizeBasePath(options.basePath);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
  const onError = options.onError ?? defaultOnError;
  const cache =
    options.idempotency === false ? undefined : new IdempotencyCache<Promise<Outcome>>(options.idempotency);
  const shutdown = new AbortController();
  let closing = false;
  let inFlight = 0;
  const idleWaiters: (() => void)[] = [];

  function routeOf(url: string | undefined): string | undefined {
    const path = (url ?? '/').split('?')[0] ?? '/';
    if (basePath !== '' && path !== basePath && !path.startsWith(`${basePath}/`)) return undefined;
    return path.slice(basePath.length).replace(/^\/+|\/+$/g, '');
  }

  async function run(
    endpoint: 'config' | LifecycleEvent,
    body: unknown,
    ctx: RequestContext,
  ): Promise<Outcome> {
    try {
      if (endpoint === 'config') {
        const answer = handlers.config ? await handlers.config(body as ConfigRequest, ctx) : {};
        // What goes on the wire: undefined values dropped, Dates as strings, as JSON.stringify does.
        const wire: unknown = answer === undefined ? undefined : JSON.parse(JSON.stringify(answer));
        const checked = ConfigResponseSchema.safeParse(wire);
        if (!checked.success) {
          onError(new TypeError('the config handler must return a JSON object'), { endpoint });
          return {
            status: 500,
            body: { error: 'config handler returned something other than a JSON object' },
          };
        }
        return { status: 200, body: checked.data };
      }
      const handler = handlers[endpoint] as ((b: unknown, c: RequestContext) => Awaitable<void>) | undefined;
      if (handler) await handler(body, ctx);
      return { status: 204, body: undefined };
    } catch (error) {
      if (error instanceof ApparatusHttpError && error.status >= 400 && error.status < 600) {
        if (error.status >= 500) onError(error, { endpoint });
        return { status: error.status, body: { error: error.message } };
      }
      onError(error, { endpoint });
      return { status: 500, body: { error: `${endpoint} handler failed` } };
    }
  }

  /** Runs an event once per Idempotency-Key: a repeat gets the first answer (even if in flight). */
  async function runDeduplicated(
    endpoint: LifecycleEvent,
    body: unknown,
    ctx: RequestContext,
  ): Promise<{ outcome: Outcome; replayed: boolean }> {
    const key = ctx.idempotencyKey;
    if (!cache || !key) return { outcome: await run(endpoint, body, ctx), replayed: false };
    const cacheKey = `${endpoint}\n${key}`;
    const existing = cache.get(cacheKey);
    if (existing) return { outcome: await existing, replayed: true };
    const pending = run(endpoint, body, ctx);
    cache.set(cacheKey, pending);
    const outcome = await pending;
    // Only successes are remembered: a failed event must run again when the operator retries.
    if (outcome.status >= 300) cache.deleteIfSame(cacheKey, pending);
    return { outcome, replayed: false };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const route = routeOf(req.url);
    if (closing) res.setHeader('connection', 'close');
    if (route === undefined || (route !== 'ping' && route !== 'config' && !isLifecycleEvent(route))) {
      return send(res, {
        status: 404,
        body: { error: `no such apparatus endpoint: ${req.method} ${(req.url ?? '').split('?')[0]}` },
      });
    }
    const method = METHODS[route] ?? 'POST';
    if (req.method !== method && !(route === 'ping' && req.method === 'HEAD')) {
      return send(
        res,
        { status: 405, body: { error: `/${route} accepts ${method} only` } },
        { allow: method },
      );
    }
    if (closing) return send(res, { status: 503, body: { error: 'shutting down' } });
    if (route === 'ping') return send(res, { status: 200, body: { ok: true } });

    let json: unknown;
    try {
      const raw = await readBody(req, maxBodyBytes);
      json = JSON.parse(raw.toString('utf8'));
    } catch (error) {
      if (error instanceof RequestBodyError) {
        res.setHeader('connection', 'close');
        send(res, { status: error.status, body: { error: error.message } });
        res.on('finish', () => req.destroy());
        return;
      }
      return send(res, { status: 400, body: { error: `invalid /${route} body: not JSON` } });
    }
    const parsed = parseRequestBody(route, json);
    if (!parsed.ok) return send(res, { status: 400, body: { error: parsed.message } });
    const key = req.headers['idempotency-key'];
    const ctx: RequestContext = {
      endpoint: route,
      idempotencyKey: typeof key === 'string' && key !== '' ? key : undefined,
      headers: req.headers,
      signal: shutdown.signal,
    };
    if (parsed.endpoint === 'config') return send(res, await run('config', parsed.body, ctx));
    const { outcome, replayed } = await runDeduplicated(parsed.endpoint, parsed.body, ctx);
    if (closing) res.setHeader('connection', 'close');
    send(res, outcome, replayed ? { 'idempotent-replayed': 'true' } : {});
  }

  const handler: RequestListener = (req, res) => {
    inFlight++;
    res.on('close', () => {
      inFlight--;
      if (inFlight === 0) for (const wake of idleWaiters.splice(0)) wake();
    });
    handle(req, res).catch((error: unknown) => {
      onError(error, { endpoint: routeOf(req.url) ?? '?' });
      send(res, { status: 500, body: { error: 'internal error' } });
    });
  };

  function whenIdle(): Promise<void> {
    return inFlight === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve));
  }

  return {
    handler,
    listen(port, host) {
      const server = createServer(handler);
      return new Promise<RunningApparatus>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          let closed: Promise<void> | undefined;
          resolve({
            port: address.port,
            close() {
              closed ??= (async () => {
                closing = true;
                const serverClosed = new Promise<void>((done) => server.close(() => done()));
                server.closeIdleConnections();
                let timer: NodeJS.Timeout | undefined;
                const timedOut = new Promise<'timeout'>((done) => {
                  timer = setTimeout(() => done('timeout'), shutdownTimeoutMs);
                });
                const result = await Promise.race([whenIdle(), timedOut]);
                if (result === 'timeout') {
                  shutdown.abort(new Error('apparatus shutdown timed out'));
                  server.closeAllConnections();
                } else {
                  server.closeIdleConnections();
                }
                clearTimeout(timer);
                await serverClosed;
              })();
              return closed;
            },
          });
        });
      });
    },
  };
}
