// The operator's HTTP client for apparatus services (SPEC "Apparatus": timeouts, retries with
// backoff, errors naming URL and status; "Security model": no redirects, capped bodies, SSRF guard).
//
// A call is retried here only when no answer came (connection errors, timeouts). An answer ends
// the call, even a 5xx: the reconciler requeues the coupling with its own backoff (1 s doubling to
// 5 min, controllers/errors.ts), so a failing apparatus receives one call per step of that backoff
// instead of several attempts per pass times the requeues.
//
// Each attempt is one got stream request with got's own retry and redirect handling off: the retry
// loop is ours, so the Idempotency-Key, the overall deadline, the jitter, the metrics and the
// cancellation are in one place, and the body is counted as it streams so an oversized answer is
// aborted after `maxResponseBytes` without being buffered.
import { type ClientRequest, Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Agents, Response } from 'got';

// got is loaded on the first call: an operator without apparatus services never pays for it
// (about 15 MiB of resident memory).
let gotLoaded: Promise<typeof import('got')> | undefined;
const loadGot = () => (gotLoaded ??= import('got'));

import { Counter, Histogram, type Registry } from 'prom-client';
import {
  ALLOWED_HOSTS_SETTING,
  type AllowList,
  type ApparatusTarget,
  checkAddress,
  createGuardedLookup,
  createLookup,
  type LookupImpl,
  parseAllowedHosts,
} from './endpoint.ts';
import { ApparatusError, type ApparatusErrorCode, redactUrl } from './errors.ts';
import {
  type ConfigRequest,
  type EventBody,
  isLifecycleEvent,
  type LifecycleEvent,
  parseConfigResponse,
} from './protocol.ts';

export { type IdempotencyKeyInput, idempotencyKey } from './protocol.ts';

export const DEFAULT_ATTEMPT_TIMEOUT_MS = 10_000;
export const DEFAULT_DEADLINE_MS = 30_000;
export const DEFAULT_ATTEMPTS = 3;
export const DEFAULT_BACKOFF_BASE_MS = 250;
export const DEFAULT_BACKOFF_MAX_MS = 5_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
export const DEFAULT_PING_TIMEOUT_MS = 2_000;
/** How much of an error body is read to build the message excerpt. */
const ERROR_BODY_READ_BYTES = 8 * 1024;
const EXCERPT_MAX_CHARS = 300;

export interface ApparatusClientOptions {
  /**
   * The allow-list whose CIDR entries may re-allow special addresses at connect time (see
   * endpoint.ts); default: `parseAllowedHosts()` (no CIDRs).
   */
  allowedHosts?: AllowList;
  /** Timeout of one attempt, from connect to the last body byte. Default 10 s. */
  attemptTimeoutMs?: number;
  /** Deadline of a whole call, retries and backoff included. Default 30 s. */
  deadlineMs?: number;
  /** Attempts per call on connection errors and timeouts (1 = no retry); answers are never retried. Default 3. */
  attempts?: number;
  /** Backoff before retry n: base·2^(n-1), capped at max, half of it jittered. Default 250 ms / 5 s. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Response body cap; a larger answer is aborted and fails with `TooLarge`. Default 1 MiB. */
  maxResponseBytes?: number;
  /** Timeout of `ping`, which is a single attempt (the caller polls). Default 2 s. */
  pingTimeoutMs?: number;
  /** Where to register the metrics; none are recorded without a registry. */
  registry?: Registry;
  userAgent?: string;
  /** Jitter source in [0, 1); tests pass a fixed one. */
  random?: () => number;
  /** Called before each retry (for a debug log line). */
  onRetry?: (info: RetryInfo) => void;
  /** Name resolution instead of the system's (e.g. `clusterDomainLookup` outside the cluster). */
  lookup?: LookupImpl;
}

export interface RetryInfo {
  endpoint: string;
  url: string;
  attempt: number;
  delayMs: number;
  error: ApparatusError;
}

export interface CallContext {
  /** Sent as `Idempotency-Key`, identical on every attempt. */
  idempotencyKey?: string | undefined;
  /** Cancels the call (including a backoff wait); the call then rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
  /** Extra strings to blank out of error excerpts (the body's config/data/vars values always are). */
  secrets?: readonly string[] | undefined;
}

export interface EventCallContext extends CallContext {
  idempotencyKey: string;
}

/** An apparatus to call: a target from `resolveApparatusUrl`, or a base URL (then guarded). */
export type ApparatusTargetLike = ApparatusTarget | string;

export interface ApparatusClient {
  /**
   * `GET /ping`, one attempt: resolves on any HTTP answer (404, 405 and 500 too: the service is up,
   * and apparatus written for the Go operator, which never called /ping, may not serve it); rejects
   * with `ApparatusError` only on a connection error or a timeout.
   */
  ping(target: ApparatusTargetLike, opts?: { signal?: AbortSignal; timeoutMs?: number }): Promise<void>;
  /** `POST /config`; resolves to the config strings (see `configValuesFromResponse`). */
  config(
    target: ApparatusTargetLike,
    body: ConfigRequest,
    ctx?: CallContext,
  ): Promise<Record<string, string>>;
  /** `POST /<event>`; the response body is ignored. */
  event<E extends LifecycleEvent>(
    target: ApparatusTargetLike,
    event: E,
    body: EventBody<E>,
    ctx: EventCallContext,
  ): Promise<void>;
  /** Closes the keep-alive connections. */
  close(): void;
}

/**
 * Delay before retry `attempt` (1 = after the first failure): exponential, capped, with "equal
 * jitter" (half fixed, half random) so retries of many owners do not synchronise.
 */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + random() * (exponential / 2));
}

interface Metrics {
  duration: Histogram<'endpoint' | 'outcome'>;
  failures: Counter<'endpoint' | 'outcome'>;
  retries: Counter<'endpoint' | 'outcome'>;
}

function getOrCreate<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

/** The apparatus metrics on a registry (created once per registry, shared by clients). */
function apparatusMetrics(registry: Registry): Metrics {
  const labelNames = ['endpoint', 'outcome'] as const;
  return {
    duration: getOrCreate(
      registry,
      'integration_operator_apparatus_request_duration_seconds',
      () =>
        new Histogram({
          name: 'integration_operator_apparatus_request_duration_seconds',
          help: 'Duration of apparatus calls (all attempts and backoff), by endpoint and outcome (success or error code).',
          labelNames,
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
          registers: [registry],
        }),
    ),
    failures: getOrCreate(
      registry,
      'integration_operator_apparatus_request_failures_total',
      () =>
        new Counter({
          name: 'integration_operator_apparatus_request_failures_total',
          help: 'Apparatus calls that failed after all attempts, by endpoint and outcome (error code, or Aborted).',
          labelNames,
          registers: [registry],
        }),
    ),
    retries: getOrCreate(
      registry,
      'integration_operator_apparatus_request_retries_total',
      () =>
        new Counter({
          name: 'integration_operator_apparatus_request_retries_total',
          help: 'Apparatus attempts that failed and were retried, by endpoint and outcome (error code).',
          labelNames,
          registers: [registry],
        }),
    ),
  };
}

interface Settings {
  allowedHosts: AllowList;
  attemptTimeoutMs: number;
  deadlineMs: number;
  attempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  maxResponseBytes: number;
  pingTimeoutMs: number;
  userAgent: string;
  random: () => number;
}

interface AttemptRequest {
  method: 'GET' | 'POST';
  url: URL;
  safeUrl: string;
  headers: Record<string, string>;
  body: string | undefined;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  guarded: boolean;
  /** `json`: read the body (capped) for the caller; `discard`: read and drop it. */
  read: 'json' | 'discard';
  /** Any status is the answer wanted (ping: the service is up), a redirect included. */
  anyStatus: boolean;
  secrets: readonly string[];
  attempt: number;
  /** Sent on a new connection, not one of the pool (after a pooled one turned out stale). */
  fresh: boolean;
  /** Set by the attempt: it was sent on a kept-alive connection of the pool. */
  reusedSocket?: boolean;
}

type AttemptResult = { status: number; body: Buffer };

/** A call made once with its own timeout (ping); `anyStatus`: every HTTP answer is a success. */
interface SingleAttempt {
  timeoutMs: number;
  anyStatus?: boolean;
}

const SECRET_BEARING_KEYS = ['plugConfig', 'socketConfig', 'plugData', 'socketData', 'vars'] as const;

/** Strings of the request body that may be secret (config, data, vars values), for redaction. */
function secretsOfBody(body: object): string[] {
  const found: string[] = [];
  const record = body as Partial<Record<(typeof SECRET_BEARING_KEYS)[number], unknown>>;
  for (const key of SECRET_BEARING_KEYS) {
    const map = record[key];
    if (map === null || typeof map !== 'object') continue;
    for (const value of Object.values(map)) {
      if (typeof value === 'string') found.push(value);
      else if (value !== null && typeof value === 'object') found.push(JSON.stringify(value));
    }
  }
  return found;
}

const NOT_SECRET = new Set(['true', 'false', 'null']);

/**
 * A short, single-line excerpt of an error body for messages: the `error`/`message` field of a
 * JSON body if there is one, control characters removed, every known secret value blanked out,
 * at most 300 characters.
 */
export function errorBodyExcerpt(body: Buffer | string, secrets: readonly string[] = []): string {
  let text = typeof body === 'string' ? body : body.toString('utf8');
  try {
    const json: unknown = JSON.parse(text);
    if (json !== null && typeof json === 'object') {
      const { error, message } = json as { error?: unknown; message?: unknown };
      const nested =
        error !== null && typeof error === 'object' ? (error as { message?: unknown }).message : undefined;
      const picked = [error, message, nested].find((v): v is string => typeof v === 'string');
      if (picked !== undefined) text = picked;
    }
  } catch {
    // not JSON: the raw text
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
  text = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ');
  const ordered = [...new Set(secrets)].filter((s) => s.length >= 4 && !NOT_SECRET.has(s));
  ordered.sort((a, b) => b.length - a.length);
  for (const secret of ordered) text = text.split(secret).join('***');
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > EXCERPT_MAX_CHARS ? `${text.slice(0, EXCERPT_MAX_CHARS - 1)}…` : text;
}

function endpointUrl(baseUrl: string, endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch (err) {
    throw new ApparatusError('InvalidEndpoint', `apparatus base URL ${redactUrl(baseUrl)} is not a URL`, {
      url: redactUrl(baseUrl),
      cause: err,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ApparatusError('InvalidEndpoint', `apparatus base URL ${redactUrl(url)} is not http(s)`, {
      url: redactUrl(url),
    });
  }
  url.hash = '';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${endpoint}`;
  return url;
}

function targetOf(target: ApparatusTargetLike): { baseUrl: string; guarded: boolean } {
  return typeof target === 'string' ? { baseUrl: target, guarded: true } : target;
}

function locationHost(location: string | undefined, base: URL): string {
  if (!location) return 'no Location';
  try {
    return `Location host ${new URL(location, base).host}`;
  } catch {
    return 'an invalid Location';
  }
}

/** What a kept-alive connection closed by the server answers when it is reused. */
const staleSocketCodes = new Set(['ECONNRESET', 'EPIPE']);

/** Maps a got/network error of one attempt to an ApparatusError (codes from got's RequestError). */
function attemptError(err: unknown, req: AttemptRequest): ApparatusError {
  const code = (err as { code?: unknown }).code;
  const details = { url: req.safeUrl, attempts: req.attempt, cause: err };
  const prefix = `apparatus ${req.method} ${req.safeUrl}`;
  if (code === 'EAPPARATUSADDRESSNOTALLOWED') {
    const cause = (err as { cause?: unknown }).cause;
    const message = cause instanceof Error ? cause.message : String(err);
    return new ApparatusError('NotAllowed', `${prefix} refused: ${message}`, details);
  }
  if (code === 'ETIMEDOUT') {
    return new ApparatusError('Timeout', `${prefix} timed out after ${req.timeoutMs} ms`, details);
  }
  const what = typeof code === 'string' && code !== 'ERR_GOT_REQUEST_ERROR' ? code : (err as Error).message;
  return new ApparatusError('Unreachable', `${prefix} failed: ${what}`, details);
}

function statusError(req: AttemptRequest, status: number, body: Buffer): ApparatusError {
  const excerpt = errorBodyExcerpt(body, req.secrets);
  return new ApparatusError(
    'HttpError',
    `apparatus ${req.method} ${req.safeUrl} answered HTTP ${status}${excerpt ? `: ${excerpt}` : ''}`,
    { url: req.safeUrl, status, attempts: req.attempt },
  );
}

function withAttempts(err: ApparatusError, attempts: number): ApparatusError {
  if (attempts <= 1) return err;
  return new ApparatusError(err.code, `${err.message} (after ${attempts} attempts)`, {
    url: err.url,
    status: err.status,
    attempts,
    cause: err.cause ?? err,
  });
}

export function createApparatusClient(options: ApparatusClientOptions = {}): ApparatusClient {
  const settings: Settings = {
    allowedHosts: options.allowedHosts ?? parseAllowedHosts(),
    attemptTimeoutMs: options.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS,
    deadlineMs: options.deadlineMs ?? DEFAULT_DEADLINE_MS,
    attempts: Math.max(1, options.attempts ?? DEFAULT_ATTEMPTS),
    backoffBaseMs: options.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS,
    backoffMaxMs: options.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS,
    maxResponseBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
    pingTimeoutMs: options.pingTimeoutMs ?? DEFAULT_PING_TIMEOUT_MS,
    userAgent: options.userAgent ?? 'integration-operator',
    random: options.random ?? Math.random,
  };
  const metrics = options.registry ? apparatusMetrics(options.registry) : undefined;
  const guardedLookup: LookupFunction = createGuardedLookup(settings.allowedHosts, options.lookup);
  const plainLookup: LookupFunction | undefined = options.lookup ? createLookup(options.lookup) : undefined;
  // Separate connection pools: a keep-alive connection opened for an (unguarded) override must
  // never be reused for a guarded call to the same host:port.
  const agentsList = [0, 1].map(() => ({
    http: new HttpAgent({ keepAlive: true }),
    https: new HttpsAgent({ keepAlive: true }),
  }));
  const guardedAgents: Agents = agentsList[0]!;
  const plainAgents: Agents = agentsList[1]!;
  // No pool: a connection per request, for a call whose pooled connection turned out stale. The
  // pool can hold several that the server closed at once (its idle timeout after a burst) and that
  // a busy event loop has not yet seen close: taking the next one would fail the same way.
  const freshAgents = {
    http: new HttpAgent({ keepAlive: false }),
    https: new HttpsAgent({ keepAlive: false }),
  };
  agentsList.push(freshAgents);

  async function attemptOnce(req: AttemptRequest): Promise<AttemptResult> {
    const { default: got } = await loadGot();
    return new Promise<AttemptResult>((resolve, reject) => {
      let settled = false;
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        fn();
      };
      const stream = got.stream(req.url, {
        method: req.method,
        headers: req.headers,
        ...(req.body === undefined ? {} : { body: req.body }),
        timeout: { request: req.timeoutMs },
        retry: { limit: 0 },
        followRedirect: false,
        throwHttpErrors: false,
        decompress: false,
        http2: false,
        agent: req.fresh ? freshAgents : req.guarded ? guardedAgents : plainAgents,
        ...(req.guarded ? { dnsLookup: guardedLookup } : plainLookup ? { dnsLookup: plainLookup } : {}),
        ...(req.signal ? { signal: req.signal } : {}),
      });
      stream.on('request', (r: ClientRequest) => {
        r.once('socket', () => {
          req.reusedSocket = r.reusedSocket;
        });
      });
      if (req.body === undefined && req.method !== 'GET') stream.end();
      let status = 0;
      let limit = 0;
      let oversizeIsError = false;
      // Whether the body is kept: a /config answer, or an error body for the message excerpt.
      let keep = false;
      const chunks: Buffer[] = [];
      let size = 0;
      const stop = (): void => {
        stream.destroy();
      };
      stream.on('response', (response: Response) => {
        status = response.statusCode;
        if (status >= 300 && status < 400 && !req.anyStatus) {
          const location = response.headers.location;
          finish(() =>
            reject(
              new ApparatusError(
                'Redirect',
                `apparatus ${req.method} ${req.safeUrl} answered HTTP ${status} to ${locationHost(location, req.url)}; redirects are not followed`,
                { url: req.safeUrl, status, attempts: req.attempt },
              ),
            ),
          );
          stop();
          return;
        }
        const ok = (status >= 200 && status < 300) || req.anyStatus;
        limit = ok ? settings.maxResponseBytes : ERROR_BODY_READ_BYTES;
        oversizeIsError = ok && req.read === 'json';
        keep = req.read === 'json' || !ok;
        const declared = Number(response.headers['content-length']);
        if (oversizeIsError && Number.isFinite(declared) && declared > limit) {
          finish(() => reject(tooLarge(req, status, `declares ${declared} bytes`)));
          stop();
        }
      });
      stream.on('data', (chunk: Buffer) => {
        if (settled) return;
        size += chunk.length;
        if (size > limit) {
          if (oversizeIsError) {
            finish(() => reject(tooLarge(req, status, `exceeds ${limit} bytes`)));
          } else {
            // An error excerpt or an ignored event body: what was read is enough.
            const room = limit - (size - chunk.length);
            if (room > 0 && keep) chunks.push(chunk.subarray(0, room));
            const body = Buffer.concat(chunks);
            finish(() => resolve({ status, body }));
          }
          stop();
          return;
        }
        if (keep) chunks.push(chunk);
      });
      stream.on('end', () => finish(() => resolve({ status, body: Buffer.concat(chunks) })));
      stream.on('error', (err: unknown) => finish(() => reject(err)));
    });
  }

  function tooLarge(req: AttemptRequest, status: number, why: string): ApparatusError {
    return new ApparatusError(
      'TooLarge',
      `apparatus ${req.method} ${req.safeUrl} answered HTTP ${status} with a body that ${why}; the limit is ${settings.maxResponseBytes} bytes`,
      { url: req.safeUrl, status, attempts: req.attempt },
    );
  }

  /** Refuses an IP-literal host the connect-time rule forbids (DNS lookup is skipped for those). */
  function checkLiteralHost(url: URL, safeUrl: string, method: string): void {
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    if (isIP(host) === 0) return;
    const verdict = checkAddress(host, settings.allowedHosts);
    if (!verdict.allowed) {
      throw new ApparatusError(
        'NotAllowed',
        `apparatus ${method} ${safeUrl} refused: ${verdict.why}; refused unless a CIDR entry of ${ALLOWED_HOSTS_SETTING} contains it`,
        { url: safeUrl },
      );
    }
  }

  async function call(
    endpoint: string,
    method: 'GET' | 'POST',
    target: ApparatusTargetLike,
    body: object | undefined,
    ctx: CallContext,
    read: 'json' | 'discard',
    single: SingleAttempt | undefined,
  ): Promise<Buffer> {
    const started = performance.now();
    const record = (outcome: string): void => {
      if (!metrics) return;
      metrics.duration.observe({ endpoint, outcome }, (performance.now() - started) / 1000);
      if (outcome !== 'success') metrics.failures.inc({ endpoint, outcome });
    };
    try {
      const result = await callWithRetries(endpoint, method, target, body, ctx, read, single);
      record('success');
      return result;
    } catch (err) {
      record(err instanceof ApparatusError ? err.code : ctx.signal?.aborted ? 'Aborted' : 'Error');
      throw err;
    }
  }

  async function callWithRetries(
    endpoint: string,
    method: 'GET' | 'POST',
    target: ApparatusTargetLike,
    body: object | undefined,
    ctx: CallContext,
    read: 'json' | 'discard',
    single: SingleAttempt | undefined,
  ): Promise<Buffer> {
    const { baseUrl, guarded } = targetOf(target);
    const url = endpointUrl(baseUrl, endpoint);
    const safeUrl = redactUrl(url);
    if (guarded) checkLiteralHost(url, safeUrl, method);
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': settings.userAgent };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (ctx.idempotencyKey) headers['idempotency-key'] = ctx.idempotencyKey;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const secrets = [...(body === undefined ? [] : secretsOfBody(body)), ...(ctx.secrets ?? [])];
    const attempts = single ? 1 : settings.attempts;
    const deadline = Date.now() + (single ? single.timeoutMs : settings.deadlineMs);
    const perAttempt = single ? single.timeoutMs : settings.attemptTimeoutMs;

    // Set once a pooled connection turned out stale: the rest of the call opens new connections.
    let fresh = false;
    for (let attempt = 1; ; attempt++) {
      ctx.signal?.throwIfAborted();
      const remaining = Math.max(1, deadline - Date.now());
      const req: AttemptRequest = {
        method,
        url,
        safeUrl,
        headers,
        body: payload,
        timeoutMs: Math.min(perAttempt, remaining),
        signal: ctx.signal,
        guarded,
        read,
        anyStatus: single?.anyStatus ?? false,
        secrets,
        attempt,
        fresh,
      };
      let error: ApparatusError;
      try {
        const result = await attemptOnce(req);
        if ((result.status >= 200 && result.status < 300) || req.anyStatus) return result.body;
        error = statusError(req, result.status, result.body);
      } catch (err) {
        if (ctx.signal?.aborted) throw ctx.signal.reason;
        // A kept-alive connection the server closed as we reused it (its idle timeout): the
        // request never reached the service. Sent again at once, without using up an attempt (as
        // Node's documentation advises for reusedSocket), and on a new connection, as is every
        // later attempt of the call: the pool's other connections may be stale too. So at most once
        // per call.
        if (req.reusedSocket && !fresh && staleSocketCodes.has((err as { code?: string }).code ?? '')) {
          fresh = true;
          attempt--;
          continue;
        }
        error = err instanceof ApparatusError ? err : attemptError(err, req);
      }
      if (!error.retriedInCall || attempt >= attempts) throw withAttempts(error, attempt);
      const delayMs = backoffDelayMs(attempt, settings.backoffBaseMs, settings.backoffMaxMs, settings.random);
      if (Date.now() + delayMs >= deadline) {
        throw withAttempts(
          new ApparatusError(
            error.code,
            `${error.message}; no time left for a retry within the ${settings.deadlineMs} ms deadline`,
            { url: error.url, status: error.status, attempts: attempt, cause: error.cause ?? error },
          ),
          attempt,
        );
      }
      metrics?.retries.inc({ endpoint, outcome: error.code });
      options.onRetry?.({ endpoint, url: safeUrl, attempt, delayMs, error });
      try {
        await sleep(delayMs, undefined, ctx.signal ? { signal: ctx.signal } : undefined);
      } catch (err) {
        if (ctx.signal?.aborted) throw ctx.signal.reason;
        throw err;
      }
    }
  }

  return {
    async ping(target, opts = {}) {
      await call('ping', 'GET', target, undefined, { signal: opts.signal }, 'discard', {
        timeoutMs: opts.timeoutMs ?? settings.pingTimeoutMs,
        anyStatus: true,
      });
    },

    async config(target, body, ctx = {}) {
      const raw = await call('config', 'POST', target, body, ctx, 'json', undefined);
      const url = redactUrl(endpointUrl(targetOf(target).baseUrl, 'config'));
      return parseConfigResponse(raw.toString('utf8'), url);
    },

    async event(target, event, body, ctx) {
      if (!isLifecycleEvent(event)) throw new TypeError(`unknown apparatus event ${JSON.stringify(event)}`);
      await call(event, 'POST', target, body, ctx, 'discard', undefined);
    },

    close() {
      for (const agents of agentsList) {
        agents.http.destroy();
        agents.https.destroy();
      }
    },
  };
}

export type { ApparatusErrorCode };
