import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ApparatusClient,
  type ApparatusClientOptions,
  backoffDelayMs,
  createApparatusClient,
  errorBodyExcerpt,
  type RetryInfo,
} from '../../../src/apparatus/client.ts';
import { type ApparatusTarget, parseAllowedHosts } from '../../../src/apparatus/endpoint.ts';
import { ApparatusError } from '../../../src/apparatus/errors.ts';
import {
  configRequestBody,
  couplingEventBody,
  idempotencyKey,
  objectEventBody,
} from '../../../src/apparatus/protocol.ts';
import {
  freePort,
  json,
  plug,
  type startServer as StartServer,
  socket,
  startServer,
  type TestServer,
} from './servers.ts';

const loopbackAllowed = parseAllowedHosts('*.svc,*.svc.cluster.local,127.0.0.0/8');
const servers: TestServer[] = [];
const clients: ApparatusClient[] = [];

async function serve(handler: Parameters<typeof StartServer>[0]): Promise<TestServer> {
  const server = await startServer(handler);
  servers.push(server);
  return server;
}

function client(options: ApparatusClientOptions = {}): ApparatusClient {
  const c = createApparatusClient({
    allowedHosts: loopbackAllowed,
    backoffBaseMs: 10,
    backoffMaxMs: 50,
    random: () => 0.5,
    ...options,
  });
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const configBody = configRequestBody({
  side: 'Plug',
  plug,
  socket,
  plugData: { a: '1' },
  socketData: { b: '2' },
});
const coupled = couplingEventBody({
  side: 'Plug',
  plug,
  socket,
  plugConfig: { user: 'app' },
  socketConfig: { password: 'Sup3rSecretPassw0rd' },
});
const key = idempotencyKey({
  ownerUid: 'plug-uid-1',
  coupling: 'plug-uid-1/socket-uid-1',
  event: 'coupled',
  generation: 2,
});

async function rejection(promise: Promise<unknown>): Promise<ApparatusError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ApparatusError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

describe('wire format', () => {
  it('/config: POST JSON with version 1 (number), no vars when unset, Content-Type, optional key', async () => {
    const server = await serve((_req, res) => json(res, 200, { username: 'app', port: 5432 }));
    const config = await client().config(server.url, configBody);
    expect(config).toEqual({ username: 'app', port: '5432' });
    const [req] = server.requests;
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe('/config');
    expect(req?.headers['content-type']).toBe('application/json');
    expect(req?.headers['idempotency-key']).toBeUndefined();
    expect(req?.body.startsWith('{"version":1,')).toBe(true);
    const sent = JSON.parse(req?.body ?? '');
    expect(sent).toEqual(JSON.parse(JSON.stringify(configBody)));
    expect('vars' in sent).toBe(false);
    expect(sent.socket.status).toBeUndefined();
  });

  it('/config with vars sends them', async () => {
    const server = await serve((_req, res) => json(res, 200, {}));
    await client().config(server.url, { ...configBody, vars: { v: 'x' } });
    expect(JSON.parse(server.requests[0]?.body ?? '').vars).toEqual({ v: 'x' });
  });

  it('events: POST /<event> with version "1" (string), Idempotency-Key, body ignored', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('not json at all, and ignored');
    });
    const c = client();
    await c.event(server.url, 'coupled', coupled, { idempotencyKey: key });
    await c.event(server.url, 'created', objectEventBody('Plug', plug), { idempotencyKey: 'k2' });
    const [first, second] = server.requests;
    expect(first?.url).toBe('/coupled');
    expect(first?.headers['content-type']).toBe('application/json');
    expect(first?.headers['idempotency-key']).toBe(key);
    expect(first?.body.startsWith('{"version":"1",')).toBe(true);
    expect(JSON.parse(first?.body ?? '')).toEqual(coupled);
    expect(second?.url).toBe('/created');
    expect(JSON.parse(second?.body ?? '')).toEqual({ version: '1', plug });
  });

  it('keeps the base path and query of the endpoint', async () => {
    const server = await serve((_req, res) => json(res, 200, {}));
    await client().config(`${server.url}/socket/?tenant=a`, configBody);
    expect(server.requests[0]?.url).toBe('/socket/config?tenant=a');
  });

  it('ping is a single GET /ping', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(204);
      res.end();
    });
    await client().ping(server.url);
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /ping']);
  });

  it('ping: any HTTP answer means the apparatus is up (it may not serve /ping: the Go operator never called it)', async () => {
    const statuses = [404, 405, 500, 503, 302, 401];
    const server = await serve((_req, res, _body, index) => {
      const status = statuses[index]!;
      res.writeHead(status, status === 302 ? { location: 'http://169.254.169.254/' } : {});
      res.end('<html>Cannot GET /ping</html>');
    });
    const c = client();
    for (const _ of statuses) await c.ping(server.url);
    expect(server.requests).toHaveLength(statuses.length);
  });

  it('ping: only a connection error or a timeout means it is not up', async () => {
    const port = await freePort();
    const refused = await rejection(client().ping(`http://127.0.0.1:${port}`));
    expect(refused.code).toBe('Unreachable');
    expect(refused.attempts).toBe(1);
  });
});

describe('retries', () => {
  /** Answers the first request on each connection and drops the connection at its second one. */
  function serveDroppingReused(): Promise<TestServer> {
    const seen = new WeakSet<object>();
    return serve((req, res) => {
      if (seen.has(req.socket)) {
        req.socket.destroy();
        return;
      }
      seen.add(req.socket);
      json(res, 200, {});
    });
  }

  it('a connection reset then 200: retried within the call, with the same Idempotency-Key and body', async () => {
    const server = await serve((req, res, _body, index) => {
      if (index < 2) req.socket.destroy();
      else json(res, 200, {});
    });
    const retries: RetryInfo[] = [];
    await client({ onRetry: (r) => retries.push(r) }).event(server.url, 'coupled', coupled, {
      idempotencyKey: key,
    });
    expect(server.requests).toHaveLength(3);
    expect(server.requests.map((r) => r.headers['idempotency-key'])).toEqual([key, key, key]);
    expect(new Set(server.requests.map((r) => r.body)).size).toBe(1);
    expect(retries.map((r) => [r.attempt, r.error.code, r.delayMs])).toEqual([
      [1, 'Unreachable', 8],
      [2, 'Unreachable', 15],
    ]);
  });

  it('a kept-alive connection the server closes as it is reused: sent again on a new one, without using up an attempt', async () => {
    // The server drops the connection when a second request arrives on it: what a client sees when
    // the server's idle timeout closes a pooled connection just as it is reused.
    const server = await serveDroppingReused();
    const c = client({ attempts: 1 });
    await c.event(server.url, 'coupled', coupled, { idempotencyKey: key });
    await c.event(server.url, 'coupled', coupled, { idempotencyKey: key });
    expect(server.requests).toHaveLength(3);
    // A fresh connection that fails is not retried that way (attempts: 1).
    const dead = await serve((req) => {
      req.socket.destroy();
    });
    await expect(c.event(dead.url, 'coupled', coupled, { idempotencyKey: key })).rejects.toMatchObject({
      code: 'Unreachable',
    });
    expect(dead.requests).toHaveLength(1);
  });

  it('several pooled connections the server closed at once: the retry opens a new one, not the next stale one', async () => {
    // Three calls at once leave three kept-alive connections in the pool; the server then drops each
    // when a second request comes on it (as when its idle timeout closes them all after a burst and
    // the client has not yet seen them close). Taking the next pooled connection would fail again.
    const server = await serveDroppingReused();
    const c = client({ attempts: 1 });
    await Promise.all([0, 1, 2].map(() => c.event(server.url, 'coupled', coupled, { idempotencyKey: key })));
    expect(server.requests).toHaveLength(3);
    await c.event(server.url, 'coupled', coupled, { idempotencyKey: key });
    // One request on a stale connection, then one on a new connection that the server answers.
    expect(server.requests).toHaveLength(5);
  });

  it('a 5xx answer ends the call after one attempt: the coupling is requeued instead (SPEC "Apparatus")', async () => {
    const server = await serve((_req, res, _body, index) => {
      if (index === 0) json(res, 503, { error: 'warming up' });
      else json(res, 200, {});
    });
    const retries: RetryInfo[] = [];
    const c = client({ attempts: 5, onRetry: (r) => retries.push(r) });
    const err = await rejection(c.event(server.url, 'coupled', coupled, { idempotencyKey: key }));
    expect(server.requests).toHaveLength(1);
    expect(retries).toEqual([]);
    expect(err).toMatchObject({ code: 'HttpError', status: 503, attempts: 1, retriedInCall: false });
    expect(err.conditionReason).toBe('ApparatusUnavailable');
    // The requeued pass calls again with the same key.
    await c.event(server.url, 'coupled', coupled, { idempotencyKey: key });
    expect(server.requests.map((r) => r.headers['idempotency-key'])).toEqual([key, key]);
  });

  it('4xx: no retry, HttpError naming URL, status and the message', async () => {
    const server = await serve((_req, res) => json(res, 422, { error: 'username app is taken' }));
    const err = await rejection(client().config(server.url, configBody));
    expect(server.requests).toHaveLength(1);
    expect(err.code).toBe('HttpError');
    expect(err.status).toBe(422);
    expect(err.retriedInCall).toBe(false);
    expect(err.isClientError).toBe(true);
    expect(err.conditionReason).toBe('Error');
    expect(err.message).toBe(`apparatus POST ${server.url}/config answered HTTP 422: username app is taken`);
  });

  it('5xx: HttpError naming URL, status and a short excerpt of the body, ApparatusUnavailable', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/html' });
      res.end(`<html>\n<body>${'x'.repeat(1000)}</body></html>`);
    });
    const err = await rejection(client().event(server.url, 'updated', coupled, { idempotencyKey: key }));
    expect(server.requests).toHaveLength(1);
    expect(err).toMatchObject({
      code: 'HttpError',
      status: 500,
      attempts: 1,
      retriedInCall: false,
      isClientError: false,
    });
    expect(err.conditionReason).toBe('ApparatusUnavailable');
    expect(err.message).toMatch(
      /^apparatus POST http:\/\/127\.0\.0\.1:\d+\/updated answered HTTP 500: <html> <body>x+…$/,
    );
    const excerpt = err.message.slice(err.message.indexOf(': ') + 2);
    expect(excerpt.length).toBeLessThanOrEqual(300);
  });

  it('connection refused: Unreachable after all attempts, with exponential backoff', async () => {
    const port = await freePort();
    const retries: RetryInfo[] = [];
    const err = await rejection(
      client({ attempts: 4, backoffBaseMs: 20, backoffMaxMs: 1000, onRetry: (r) => retries.push(r) }).event(
        `http://127.0.0.1:${port}`,
        'deleted',
        objectEventBody('Plug', plug),
        { idempotencyKey: 'k' },
      ),
    );
    expect(err.code).toBe('Unreachable');
    expect(err.attempts).toBe(4);
    expect(err.retriedInCall).toBe(true);
    expect(err.conditionReason).toBe('ApparatusUnavailable');
    expect(err.message).toContain(`http://127.0.0.1:${port}/deleted`);
    expect(err.message).toContain('ECONNREFUSED');
    expect(retries.map((r) => r.delayMs)).toEqual([15, 30, 60]);
  });

  it('stops retrying when the overall deadline leaves no room', async () => {
    const port = await freePort();
    const err = await rejection(
      client({ attempts: 10, backoffBaseMs: 1000, backoffMaxMs: 1000, deadlineMs: 300 }).config(
        `http://127.0.0.1:${port}`,
        configBody,
      ),
    );
    expect(err.code).toBe('Unreachable');
    expect(err.attempts).toBe(1);
    expect(err.message).toContain('deadline');
  });
});

describe('timeouts', () => {
  it('a server that never answers: Timeout per attempt, retried', async () => {
    const server = await serve(() => {
      // never answers
    });
    const err = await rejection(
      client({ attemptTimeoutMs: 150, attempts: 2 }).config(server.url, configBody),
    );
    expect(err.code).toBe('Timeout');
    expect(err.attempts).toBe(2);
    expect(server.requests).toHaveLength(2);
    expect(err.message).toContain(`${server.url}/config timed out after 150 ms`);
  });

  it('a body that drips slowly: the attempt timeout covers the whole body', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"a":"');
      const timer = setInterval(() => res.write('x'), 20);
      res.on('close', () => clearInterval(timer));
    });
    const err = await rejection(
      client({ attemptTimeoutMs: 300, attempts: 1 }).config(server.url, configBody),
    );
    expect(err.code).toBe('Timeout');
  });

  it('ping has its own short timeout and no retry', async () => {
    const server = await serve(() => {});
    const err = await rejection(client({ pingTimeoutMs: 100 }).ping(server.url));
    expect(err.code).toBe('Timeout');
    expect(server.requests).toHaveLength(1);
  });
});

describe('refusals', () => {
  it('never follows a redirect; the error names the Location host only', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(307, { location: 'http://169.254.169.254/latest/meta-data?token=x' });
      res.end();
    });
    const err = await rejection(client().config(server.url, configBody));
    expect(server.requests).toHaveLength(1);
    expect(err.code).toBe('Redirect');
    expect(err.status).toBe(307);
    expect(err.retriedInCall).toBe(false);
    expect(err.message).toContain('Location host 169.254.169.254');
    expect(err.message).not.toContain('token');
  });

  it('a 50 MB streamed body is cut off at the cap with bounded memory', async () => {
    let written = 0;
    let loopDone = false;
    let wroteEverything = false;
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const server = await serve(async (_req, res) => {
      let wake: (() => void) | undefined;
      res.on('drain', () => wake?.());
      res.on('close', () => wake?.());
      res.writeHead(200, { 'content-type': 'application/json' }); // no Content-Length: chunked
      res.write('{"a":"');
      while (written < 50 * 1024 * 1024 && !res.destroyed) {
        written += chunk.length;
        if (!res.write(chunk) && !res.destroyed) await new Promise<void>((resolve) => (wake = resolve));
      }
      wroteEverything = !res.destroyed;
      loopDone = true;
      res.end('"}');
    });
    const before = process.memoryUsage().arrayBuffers;
    const err = await rejection(client().config(server.url, configBody));
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(err.code).toBe('TooLarge');
    expect(err.retriedInCall).toBe(false);
    expect(err.message).toContain('exceeds 1048576 bytes');
    await expect.poll(() => loopDone).toBe(true);
    // The client aborted: the server could push no more than the cap plus socket buffers.
    expect(wroteEverything).toBe(false);
    expect(written).toBeLessThan(16 * 1024 * 1024);
    expect(grown).toBeLessThan(16 * 1024 * 1024);
  });

  it('a body declaring more than the cap is refused before it is read', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(50 * 1024 * 1024) });
      res.write('{"a":"');
    });
    const err = await rejection(client({ maxResponseBytes: 1024 }).config(server.url, configBody));
    expect(err.code).toBe('TooLarge');
    expect(err.message).toContain('declares 52428800 bytes');
  });

  it('a large event answer is ignored, not an error', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200);
      res.end(Buffer.alloc(2 * 1024 * 1024, 0x61));
    });
    await client({ maxResponseBytes: 1024 }).event(server.url, 'coupled', coupled, { idempotencyKey: key });
  });

  it('garbage and non-object JSON are BadResponse naming the URL, not retried', async () => {
    const bodies = ['{"a": tru', '[1,2,3]', '"text"', 'null', ''];
    const server = await serve((_req, res, _body, index) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(bodies[index]);
    });
    const c = client();
    for (const body of bodies) {
      const err = await rejection(c.config(server.url, configBody));
      expect(err.code, body).toBe('BadResponse');
      expect(err.message, body).toContain(`${server.url}/config`);
      expect(err.retriedInCall).toBe(false);
      expect(err.conditionReason).toBe('ApparatusUnavailable');
    }
    expect(server.requests).toHaveLength(bodies.length);
  });

  it('a guarded call to a loopback literal is refused before any request', async () => {
    const server = await serve((_req, res) => json(res, 200, {}));
    const err = await rejection(createApparatusClient().config(server.url, configBody));
    expect(err.code).toBe('NotAllowed');
    expect(err.attempts).toBe(0);
    expect(err.message).toContain('--apparatus-allowed-hosts');
    expect(server.requests).toHaveLength(0);
  });

  it('a guarded call to a NAME resolving to loopback is refused at connect time (DNS rebinding)', async () => {
    const server = await serve((_req, res) => json(res, 200, {}));
    const c = createApparatusClient({ attempts: 3 });
    clients.push(c);
    const err = await rejection(c.config(`http://localhost:${server.port}`, configBody));
    expect(err.code).toBe('NotAllowed');
    expect(err.attempts).toBe(1);
    expect(err.retriedInCall).toBe(false);
    expect(err.message).toMatch(/localhost resolved to (127\.0\.0\.1|::1)/);
    expect(server.requests).toHaveLength(0);
  });

  it('an override target (operator config) is not guarded', async () => {
    const server = await serve((_req, res) => json(res, 200, { ok: true }));
    const c = createApparatusClient();
    clients.push(c);
    const target: ApparatusTarget = {
      baseUrl: `http://localhost:${server.port}`,
      managedPod: false,
      podName: 'app-plug-apparatus',
      source: 'override',
      guarded: false,
    };
    expect(await c.config(target, configBody)).toEqual({ ok: 'true' });
  });
});

describe('cancellation, secrets and metrics', () => {
  it('an AbortSignal cancels an attempt in flight and a backoff wait', async () => {
    const hanging = await serve(() => {});
    const controller = new AbortController();
    const call = client().config(hanging.url, configBody, { signal: controller.signal });
    await expect.poll(() => hanging.requests.length).toBe(1);
    controller.abort(new Error('reconcile cancelled'));
    await expect(call).rejects.toThrow('reconcile cancelled');

    const refusing = `http://127.0.0.1:${await freePort()}`;
    const second = new AbortController();
    const retrying = client({
      backoffBaseMs: 60_000,
      backoffMaxMs: 60_000,
      deadlineMs: 120_000,
      onRetry: () => second.abort(),
    });
    await expect(retrying.config(refusing, configBody, { signal: second.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });

  it('blanks config, data and vars values out of error excerpts', async () => {
    const server = await serve((_req, res, body) => {
      const sent = JSON.parse(body);
      json(res, 400, {
        error: `bad password ${sent.socketConfig.password} for user ${sent.plugConfig.user}`,
      });
    });
    const err = await rejection(
      client().event(server.url, 'coupled', coupled, { idempotencyKey: key, secrets: ['user'] }),
    );
    expect(err.message).not.toContain('Sup3rSecretPassw0rd');
    expect(err.message).toContain('bad password *** for ***');
  });

  it('errorBodyExcerpt: JSON message fields, control characters, length', () => {
    expect(errorBodyExcerpt('{"error":{"message":"nested"}}')).toBe('nested');
    expect(errorBodyExcerpt('{"message":"m"}')).toBe('m');
    expect(errorBodyExcerpt('line1\r\nline2\u0007\tend')).toBe('line1 line2 end');
    expect(errorBodyExcerpt('x'.repeat(1000))).toHaveLength(300);
    expect(errorBodyExcerpt('token abcd and abcdef', ['abcd', 'abcdef'])).toBe('token *** and ***');
  });

  it('records latency and failures by endpoint and outcome', async () => {
    const registry = new Registry();
    const ok = await serve((_req, res) => json(res, 200, {}));
    const bad = await serve((_req, res) => json(res, 404, {}));
    const c = client({ registry });
    client({ registry }); // a second client on the same registry reuses the metrics
    await c.config(ok.url, configBody);
    await c.event(ok.url, 'created', objectEventBody('Plug', plug), { idempotencyKey: 'k' });
    await rejection(c.event(bad.url, 'deleted', objectEventBody('Plug', plug), { idempotencyKey: 'k' }));
    const text = await registry.metrics();
    expect(text).toMatch(
      /integration_operator_apparatus_request_duration_seconds_count\{endpoint="config",outcome="success"\} 1/,
    );
    expect(text).toMatch(
      /integration_operator_apparatus_request_duration_seconds_count\{endpoint="created",outcome="success"\} 1/,
    );
    expect(text).toMatch(
      /integration_operator_apparatus_request_failures_total\{endpoint="deleted",outcome="HttpError"\} 1/,
    );
  });

  it('backoffDelayMs: exponential, capped, half jittered', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(n, 100, 1000, () => 0))).toEqual([
      50, 100, 200, 400, 500,
    ]);
    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(n, 100, 1000, () => 0.999999))).toEqual([
      100, 200, 400, 800, 1000,
    ]);
  });
});
