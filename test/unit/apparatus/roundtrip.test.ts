// The operator's client against the SDK, over real HTTP: all six endpoints.
import { afterEach, describe, expect, it } from 'vitest';
import { type ApparatusClient, createApparatusClient } from '../../../src/apparatus/client.ts';
import { parseAllowedHosts } from '../../../src/apparatus/endpoint.ts';
import {
  type ConfigRequest,
  type CouplingEventBody,
  configRequestBody,
  couplingEventBody,
  idempotencyKey,
  type ObjectEventBody,
  objectEventBody,
} from '../../../src/apparatus/protocol.ts';
import { createApparatus, type RunningApparatus } from '../../../src/apparatus/sdk/index.ts';
import { plug, socket } from './servers.ts';

const running: RunningApparatus[] = [];
const clients: ApparatusClient[] = [];

function client(options: Parameters<typeof createApparatusClient>[0] = {}): ApparatusClient {
  const c = createApparatusClient({
    allowedHosts: parseAllowedHosts('127.0.0.0/8'),
    backoffBaseMs: 5,
    backoffMaxMs: 20,
    ...options,
  });
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(running.splice(0).map((r) => r.close()));
});

describe('client ↔ SDK', () => {
  it('carries all six endpoints with typed, validated bodies', async () => {
    const received: {
      endpoint: string;
      key: string | undefined;
      body: ConfigRequest | ObjectEventBody | CouplingEventBody;
    }[] = [];
    const app = createApparatus(
      {
        config: (body, ctx) => {
          received.push({ endpoint: 'config', key: ctx.idempotencyKey, body });
          return {
            username: body.plug.metadata?.name ?? '',
            port: 5432,
            tls: true,
            hosts: ['a', 'b'],
            unset: null,
          };
        },
        created: (body, ctx) => void received.push({ endpoint: 'created', key: ctx.idempotencyKey, body }),
        coupled: (body, ctx) => void received.push({ endpoint: 'coupled', key: ctx.idempotencyKey, body }),
        updated: (body, ctx) => void received.push({ endpoint: 'updated', key: ctx.idempotencyKey, body }),
        decoupled: (body, ctx) =>
          void received.push({ endpoint: 'decoupled', key: ctx.idempotencyKey, body }),
        deleted: (body, ctx) => void received.push({ endpoint: 'deleted', key: ctx.idempotencyKey, body }),
      },
      { basePath: '/socket' },
    );
    const server = await app.listen(0, '127.0.0.1');
    running.push(server);
    const base = `http://127.0.0.1:${server.port}/socket`;
    const c = client();

    await c.ping(base);
    const configBody = configRequestBody({
      side: 'Socket',
      plug,
      socket,
      plugData: { p: '1' },
      socketData: { s: '2' },
      vars: { v: '3' },
    });
    expect(await c.config(base, configBody)).toEqual({
      username: 'app',
      port: '5432',
      tls: 'true',
      hosts: '["a","b"]',
    });

    const created = objectEventBody('Socket', socket);
    const coupled = couplingEventBody({
      side: 'Socket',
      plug,
      socket,
      plugConfig: { a: 'b' },
      socketConfig: { password: 'x' },
    });
    const keyOf = (event: 'created' | 'coupled' | 'updated' | 'decoupled' | 'deleted') =>
      idempotencyKey({
        ownerUid: 'socket-uid-1',
        coupling: event === 'created' || event === 'deleted' ? undefined : 'plug-uid-1/socket-uid-1',
        event,
        generation: 5,
      });
    await c.event(base, 'created', created, { idempotencyKey: keyOf('created') });
    await c.event(base, 'coupled', coupled, { idempotencyKey: keyOf('coupled') });
    await c.event(base, 'updated', coupled, { idempotencyKey: keyOf('updated') });
    await c.event(base, 'decoupled', coupled, { idempotencyKey: keyOf('decoupled') });
    await c.event(base, 'deleted', created, { idempotencyKey: keyOf('deleted') });

    expect(received.map((r) => r.endpoint)).toEqual([
      'config',
      'created',
      'coupled',
      'updated',
      'decoupled',
      'deleted',
    ]);
    expect(received[0]).toEqual({ endpoint: 'config', key: undefined, body: configBody });
    expect(received[1]).toEqual({ endpoint: 'created', key: keyOf('created'), body: created });
    for (const [i, event] of (['coupled', 'updated', 'decoupled'] as const).entries()) {
      expect(received[i + 2]).toEqual({ endpoint: event, key: keyOf(event), body: coupled });
    }
    expect(received[5]).toEqual({ endpoint: 'deleted', key: keyOf('deleted'), body: created });
    // The plug (other side) arrived without status on the socket's apparatus.
    expect((received[2]?.body as CouplingEventBody | undefined)?.plug).not.toHaveProperty('status');
  });

  it('a client retry after a timeout is deduplicated by the SDK: the handler runs once', async () => {
    let calls = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const app = createApparatus({
      coupled: async () => {
        calls++;
        await gate;
      },
    });
    const server = await app.listen(0, '127.0.0.1');
    running.push(server);
    const attempts: number[] = [];
    const c = client({
      attemptTimeoutMs: 100,
      attempts: 10,
      deadlineMs: 10_000,
      onRetry: (r) => {
        attempts.push(r.attempt);
        if (r.attempt === 2) release(); // the handler finishes while the client keeps retrying
      },
    });
    const coupled = couplingEventBody({ side: 'Plug', plug, socket, plugConfig: {}, socketConfig: {} });
    await c.event(`http://127.0.0.1:${server.port}`, 'coupled', coupled, { idempotencyKey: 'same-key' });
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(calls).toBe(1);
  });

  it('SDK validation errors reach the operator as a non-retried 4xx with the message', async () => {
    const app = createApparatus({});
    const server = await app.listen(0, '127.0.0.1');
    running.push(server);
    const bad = { version: '1', plug } as unknown as CouplingEventBody;
    await expect(
      client().event(`http://127.0.0.1:${server.port}`, 'coupled', bad, { idempotencyKey: 'k' }),
    ).rejects.toMatchObject({ code: 'HttpError', status: 400, attempts: 1, conditionReason: 'Error' });
  });
});
