import { request } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { configRequestBody, couplingEventBody, objectEventBody } from '../../../src/apparatus/protocol.ts';
import {
  type ApparatusHandlers,
  ApparatusHttpError,
  type ApparatusOptions,
  createApparatus,
  IdempotencyCache,
  type RunningApparatus,
} from '../../../src/apparatus/sdk/index.ts';
import { plug, socket } from './servers.ts';

const running: RunningApparatus[] = [];
const errors: string[] = [];

async function start(handlers: ApparatusHandlers, options: ApparatusOptions = {}): Promise<RunningApparatus> {
  const app = createApparatus(handlers, {
    onError: (err, info) =>
      errors.push(`${info.endpoint}: ${err instanceof Error ? err.message : String(err)}`),
    ...options,
  });
  const r = await app.listen(0, '127.0.0.1');
  running.push(r);
  return r;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.close()));
  errors.length = 0;
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: unknown;
}

/** A raw node:http call, so the tests see exactly what the SDK answers. */
function call(
  port: number,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const configBody = JSON.stringify(
  configRequestBody({ side: 'Plug', plug, socket, plugData: { a: '1' }, socketData: {} }),
);
const coupledBody = JSON.stringify(
  couplingEventBody({ side: 'Plug', plug, socket, plugConfig: { a: 'b' }, socketConfig: { c: 'd' } }),
);

describe('routing', () => {
  it('serves GET /ping, POST /config and every event; 404 elsewhere; 405 on a wrong method', async () => {
    const seen: string[] = [];
    const app = await start({
      config: (body) => {
        seen.push(`config ${body.plug.metadata?.name}`);
        return { user: 'app', n: 1 };
      },
      created: (body) => {
        seen.push(`created ${'plug' in body && body.plug ? 'plug' : 'socket'}`);
      },
      coupled: async (body) => {
        seen.push(`coupled ${body.plugConfig.a}`);
      },
    });
    expect(await call(app.port, 'GET', '/ping')).toMatchObject({ status: 200, json: { ok: true } });
    expect(await call(app.port, 'POST', '/config', configBody)).toMatchObject({
      status: 200,
      json: { user: 'app', n: 1 },
    });
    expect(
      (await call(app.port, 'POST', '/created', JSON.stringify(objectEventBody('Plug', plug)))).status,
    ).toBe(204);
    expect((await call(app.port, 'POST', '/coupled/', coupledBody)).status).toBe(204);
    expect((await call(app.port, 'POST', '/updated?x=1', coupledBody)).status).toBe(204); // no handler: acknowledged
    expect((await call(app.port, 'POST', '/nope', '{}')).status).toBe(404);
    expect((await call(app.port, 'POST', '/', '{}')).status).toBe(404);
    const wrong = await call(app.port, 'GET', '/config');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('POST');
    expect((await call(app.port, 'POST', '/ping', '{}')).status).toBe(405);
    expect(seen).toEqual(['config app', 'created plug', 'coupled b']);
  });

  it('answers {} to /config without a config handler', async () => {
    const app = await start({});
    expect(await call(app.port, 'POST', '/config', configBody)).toMatchObject({ status: 200, json: {} });
  });

  it('mounts under a base path', async () => {
    const app = await start({ config: () => ({ a: 'b' }) }, { basePath: '/socket/' });
    expect((await call(app.port, 'POST', '/socket/config', configBody)).json).toEqual({ a: 'b' });
    expect((await call(app.port, 'GET', '/socket/ping')).status).toBe(200);
    expect((await call(app.port, 'POST', '/config', configBody)).status).toBe(404);
    expect((await call(app.port, 'POST', '/socketconfig', configBody)).status).toBe(404);
  });
});

describe('validation', () => {
  it('400 with a clear message on a bad body; the handler is not called', async () => {
    let calls = 0;
    const app = await start({
      config: () => {
        calls++;
        return {};
      },
      created: () => {
        calls++;
      },
      coupled: () => {
        calls++;
      },
    });
    const notJson = await call(app.port, 'POST', '/config', '{"version":');
    expect(notJson).toMatchObject({ status: 400, json: { error: 'invalid /config body: not JSON' } });

    const wrongVersion = await call(
      app.port,
      'POST',
      '/config',
      configBody.replace('"version":1', '"version":"1"'),
    );
    expect(wrongVersion.status).toBe(400);
    expect((wrongVersion.json as { error: string }).error).toMatch(/^invalid \/config body: version: /);

    const missing = await call(app.port, 'POST', '/coupled', JSON.stringify({ version: '1', plug }));
    expect(missing.status).toBe(400);
    const message = (missing.json as { error: string }).error;
    expect(message).toContain('socket:');
    expect(message).toContain('plugConfig:');
    expect(message).toContain('socketConfig:');

    const both = await call(app.port, 'POST', '/created', JSON.stringify({ version: '1', plug, socket }));
    expect(both).toMatchObject({
      status: 400,
      json: { error: 'invalid /created body: expected exactly one of plug or socket' },
    });

    const badData = await call(
      app.port,
      'POST',
      '/config',
      configBody.replace('"plugData":{"a":"1"}', '"plugData":{"a":1}'),
    );
    expect((badData.json as { error: string }).error).toContain('plugData.a:');
    expect(calls).toBe(0);
  });

  it('413 on a body over the limit, declared or streamed', async () => {
    const app = await start({ coupled: () => {} }, { maxBodyBytes: 1000 });
    const big = JSON.stringify({ ...JSON.parse(coupledBody), pad: 'x'.repeat(5000) });
    const declared = await call(app.port, 'POST', '/coupled', big);
    expect(declared.status).toBe(413);
    const streamed = await call(app.port, 'POST', '/coupled', big, { 'transfer-encoding': 'chunked' });
    expect(streamed.status).toBe(413);
    expect((streamed.json as { error: string }).error).toContain('1000 bytes');
  });

  it('answers 413 at once, without waiting for the body, when the declared length is far too big to read', async () => {
    const app = await start({ coupled: () => {} }, { maxBodyBytes: 1000 });
    // 1 GiB announced, 10 bytes sent: the answer comes without the rest of the body.
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(app.port, '127.0.0.1', () => {
        socket.write(
          'POST /coupled HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n' +
            `content-length: ${1024 ** 3}\r\n\r\n{"version"`,
        );
      });
      let text = '';
      socket.on('data', (c: Buffer) => {
        text += c.toString('utf8');
      });
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 413 /);
    expect(reply).toContain(`request body of ${1024 ** 3} bytes exceeds the limit of 1000 bytes`);
  });
});

describe('handler errors', () => {
  it('a thrown error answers 500 with a short message, without the error text', async () => {
    const app = await start({
      coupled: () => {
        throw new Error('db password hunter2 rejected');
      },
      config: async () => {
        throw new Error('boom');
      },
    });
    const reply = await call(app.port, 'POST', '/coupled', coupledBody);
    expect(reply).toMatchObject({ status: 500, json: { error: 'coupled handler failed' } });
    expect(reply.body).not.toContain('hunter2');
    expect((await call(app.port, 'POST', '/config', configBody)).status).toBe(500);
    expect(errors).toEqual(['coupled: db password hunter2 rejected', 'config: boom']);
  });

  it('ApparatusHttpError chooses the status and message', async () => {
    const app = await start({
      coupled: () => {
        throw new ApparatusHttpError(422, 'username taken');
      },
    });
    expect(await call(app.port, 'POST', '/coupled', coupledBody)).toMatchObject({
      status: 422,
      json: { error: 'username taken' },
    });
  });

  it('a config handler returning a non-object is a 500', async () => {
    const app = await start({ config: () => ['a'] as unknown as Record<string, string> });
    expect((await call(app.port, 'POST', '/config', configBody)).status).toBe(500);
  });
});

describe('idempotency', () => {
  it('a repeated Idempotency-Key returns the first answer without calling the handler again', async () => {
    let calls = 0;
    const app = await start({
      coupled: () => {
        calls++;
      },
    });
    const first = await call(app.port, 'POST', '/coupled', coupledBody, { 'idempotency-key': 'k1' });
    const again = await call(app.port, 'POST', '/coupled', coupledBody, { 'idempotency-key': 'k1' });
    expect(first.status).toBe(204);
    expect(again.status).toBe(204);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(calls).toBe(1);
    await call(app.port, 'POST', '/coupled', coupledBody, { 'idempotency-key': 'k2' });
    await call(app.port, 'POST', '/updated', coupledBody, { 'idempotency-key': 'k1' }); // other endpoint
    await call(app.port, 'POST', '/coupled', coupledBody); // no key: never deduplicated
    await call(app.port, 'POST', '/coupled', coupledBody);
    expect(calls).toBe(4);
  });

  it('a repeat that arrives while the first is in flight waits for it', async () => {
    let calls = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const app = await start({
      coupled: async () => {
        calls++;
        await gate;
      },
    });
    const first = call(app.port, 'POST', '/coupled', coupledBody, { 'idempotency-key': 'k' });
    await expect.poll(() => calls).toBe(1);
    const second = call(app.port, 'POST', '/coupled', coupledBody, { 'idempotency-key': 'k' });
    release();
    expect((await first).status).toBe(204);
    expect((await second).status).toBe(204);
    expect(calls).toBe(1);
  });

  it('a failed event is not remembered: the retry runs the handler again', async () => {
    let calls = 0;
    const app = await start({
      coupled: () => {
        calls++;
        if (calls === 1) throw new Error('transient');
      },
    });
    expect((await call(app.port, 'POST', '/coupled', coupledBody, { 'idempotency-key': 'k' })).status).toBe(
      500,
    );
    expect((await call(app.port, 'POST', '/coupled', coupledBody, { 'idempotency-key': 'k' })).status).toBe(
      204,
    );
    expect(calls).toBe(2);
  });

  it('/config is never deduplicated (side-effect free, must reflect current inputs)', async () => {
    let calls = 0;
    const app = await start({ config: () => ({ n: ++calls }) });
    await call(app.port, 'POST', '/config', configBody, { 'idempotency-key': 'k' });
    const second = await call(app.port, 'POST', '/config', configBody, { 'idempotency-key': 'k' });
    expect(second.json).toEqual({ n: 2 });
  });

  it('the cache is a bounded LRU with TTL', () => {
    let now = 0;
    const cache = new IdempotencyCache<string>({ maxEntries: 2, ttlMs: 100, now: () => now });
    cache.set('a', '1');
    cache.set('b', '2');
    expect(cache.get('a')).toBe('1'); // a is now the most recent
    cache.set('c', '3'); // evicts b
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe('1');
    expect(cache.size).toBe(2);
    now = 100;
    expect(cache.get('a')).toBeUndefined();
    cache.set('d', '4');
    cache.deleteIfSame('d', 'other');
    expect(cache.get('d')).toBe('4');
    cache.deleteIfSame('d', '4');
    expect(cache.get('d')).toBeUndefined();
  });
});

describe('graceful shutdown', () => {
  it('finishes an in-flight request, refuses new connections, then closes', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started = false;
    let finished = false;
    const app = createApparatus({
      coupled: async () => {
        started = true;
        await gate;
        finished = true;
      },
    });
    const server = await app.listen(0, '127.0.0.1');
    const inFlight = call(server.port, 'POST', '/coupled', coupledBody);
    await expect.poll(() => started).toBe(true);
    let closed = false;
    const closing = server.close().then(() => {
      closed = true;
    });
    // No longer accepting: a new connection is refused while the in-flight request runs.
    await expect(call(server.port, 'GET', '/ping')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(closed).toBe(false);
    release();
    const reply = await inFlight;
    expect(reply.status).toBe(204);
    expect(reply.headers.connection).toBe('close');
    expect(finished).toBe(true);
    await closing;
    expect(closed).toBe(true);
  });

  it('cuts connections after the shutdown timeout and aborts the handler signal', async () => {
    let signal: AbortSignal | undefined;
    const app = createApparatus(
      {
        coupled: (_body, ctx) => {
          signal = ctx.signal;
          return new Promise<void>(() => {}); // never settles
        },
      },
      { shutdownTimeoutMs: 50 },
    );
    const server = await app.listen(0, '127.0.0.1');
    const inFlight = call(server.port, 'POST', '/coupled', coupledBody).catch((err: unknown) => err);
    await expect.poll(() => signal).toBeDefined();
    await server.close();
    expect(signal?.aborted).toBe(true);
    expect(await inFlight).toMatchObject({ code: 'ECONNRESET' });
  });
});

describe('config answers', () => {
  it('are sent as JSON.stringify would: undefined dropped, Dates as strings', async () => {
    const app = await start({
      config: () => ({ a: 'x', gone: undefined, when: new Date(0) }) as unknown as Record<string, string>,
    });
    expect((await call(app.port, 'POST', '/config', configBody)).json).toEqual({
      a: 'x',
      when: '1970-01-01T00:00:00.000Z',
    });
  });
});
