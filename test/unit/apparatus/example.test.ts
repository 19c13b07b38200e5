// The example apparatus (examples/apparatus) through the operator's client.
import { afterEach, describe, expect, it } from 'vitest';
import { createExampleApparatus, passwordFor } from '../../../examples/apparatus/apparatus.ts';
import { createApparatusClient } from '../../../src/apparatus/client.ts';
import { parseAllowedHosts } from '../../../src/apparatus/endpoint.ts';
import { configRequestBody, couplingEventBody } from '../../../src/apparatus/protocol.ts';
import type { RunningApparatus } from '../../../src/apparatus/sdk/index.ts';
import { plug, socket } from './servers.ts';

const running: RunningApparatus[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.close()));
});

describe('example apparatus', () => {
  it('answers stable per-plug credentials and logs events without secrets', async () => {
    const lines: string[] = [];
    const server = await createExampleApparatus({
      passwordSeed: 'seed',
      basePath: '/socket',
      log: (l) => lines.push(l),
    }).listen(0, '127.0.0.1');
    running.push(server);
    const client = createApparatusClient({ allowedHosts: parseAllowedHosts('127.0.0.0/8') });
    const base = `http://127.0.0.1:${server.port}/socket`;
    const body = configRequestBody({ side: 'Socket', plug, socket, plugData: {}, socketData: {} });
    const first = await client.config(base, body);
    const second = await client.config(base, body);
    expect(first).toEqual({
      username: 'tenant_a_app',
      password: passwordFor('seed', 'plug-uid-1', 'socket-uid-1'),
    });
    expect(second).toEqual(first);
    expect(first.password).toHaveLength(32);
    const other = await client.config(base, {
      ...body,
      plug: { ...plug, metadata: { ...plug.metadata, uid: 'plug-uid-2' } },
    });
    expect(other.password).not.toBe(first.password);

    await client.event(
      base,
      'coupled',
      couplingEventBody({ side: 'Socket', plug, socket, plugConfig: {}, socketConfig: first }),
      {
        idempotencyKey: 'k1',
      },
    );
    client.close();
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      event: 'coupled',
      plug: 'tenant-a/app',
      socket: 'tenant-a/db',
      key: 'k1',
    });
    expect(lines.join('\n')).not.toContain(first.password ?? 'none');
  });
});
