// The operator's client against the SDK, over real HTTP: timing and validation details (the six
// endpoints are the conformance cases: conformance.test.ts, sdk-package.test.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { type ApparatusClient, createApparatusClient } from '../../../src/apparatus/client.ts';
import { parseAllowedHosts } from '../../../src/apparatus/endpoint.ts';
import { type CouplingEventBody, couplingEventBody } from '../../../src/apparatus/protocol.ts';
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
