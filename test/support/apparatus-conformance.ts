// The apparatus protocol's conformance cases: what any apparatus built with the SDK must do when the
// operator's own client (src/apparatus/client.ts) calls it. Run against the conformance apparatus
// (test/fixtures/apparatus-conformance/apparatus.mjs) in every form it ships in: in-process on the
// SDK's source, and from the packed tarball under plain Node (Node 24 and the system's Node 20).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApparatusClient } from '../../src/apparatus/client.ts';
import { parseAllowedHosts } from '../../src/apparatus/endpoint.ts';
import {
  type CouplingEventBody,
  configRequestBody,
  couplingEventBody,
  idempotencyKey,
  type KubeObject,
  type LifecycleEvent,
  objectEventBody,
} from '../../src/apparatus/protocol.ts';

export interface ConformanceTarget {
  /** The apparatus's base URL, with its base path (`http://127.0.0.1:<port>/conformance`). */
  base: string;
  stop(): Promise<void>;
}

/** The fixture's base path and body limit (test/fixtures/apparatus-conformance/apparatus.mjs). */
export const CONFORMANCE_BASE_PATH = '/conformance';
const MAX_BODY_BYTES = 64 * 1024;

interface Handled {
  endpoint: LifecycleEvent;
  key: string | null;
  body: unknown;
}

function plugObject(name: string, answer?: string): KubeObject {
  return {
    apiVersion: 'integration.rock8s.com/v1beta1',
    kind: 'Plug',
    metadata: {
      name,
      namespace: 'tenant',
      uid: `uid-${name}`,
      ...(answer ? { labels: { 'conformance/answer': answer } } : {}),
    },
    spec: { socket: { name: 'db' } },
    status: { conditions: [] },
  };
}

const socketObject: KubeObject = {
  apiVersion: 'integration.rock8s.com/v1beta1',
  kind: 'Socket',
  metadata: { name: 'db', namespace: 'provider', uid: 'uid-socket' },
  spec: {},
};

function coupling(plug: KubeObject): CouplingEventBody {
  return couplingEventBody({
    side: 'Socket',
    plug,
    socket: socketObject,
    plugConfig: { database: 'orders' },
    socketConfig: { host: 'db.provider.svc' },
  });
}

function keyFor(plug: KubeObject, event: LifecycleEvent): string {
  return idempotencyKey({
    ownerUid: 'uid-socket',
    coupling: event === 'created' || event === 'deleted' ? undefined : `${plug.metadata?.uid}/uid-socket`,
    event,
    generation: 1,
  });
}

/**
 * Registers the conformance cases for one way of running the conformance apparatus. `start` starts
 * it (once, before the cases) and says where it listens.
 */
export function describeApparatusConformance(name: string, start: () => Promise<ConformanceTarget>): void {
  describe(`apparatus protocol conformance: ${name}`, () => {
    let target: ConformanceTarget | undefined;
    const client = createApparatusClient({
      allowedHosts: parseAllowedHosts('127.0.0.0/8'),
      attempts: 3,
      backoffBaseMs: 5,
      backoffMaxMs: 20,
    });
    const base = (): string => {
      if (!target) throw new Error('the conformance apparatus did not start');
      return target.base;
    };
    /** What the apparatus handled for an Idempotency-Key (read through its side-effect-free /config). */
    const handled = async (key: string): Promise<Handled[]> => {
      const answer = await client.config(
        base(),
        configRequestBody({
          side: 'Socket',
          plug: plugObject('reader'),
          socket: socketObject,
          plugData: { conformance: 'handled' },
          socketData: {},
        }),
      );
      return (JSON.parse(answer.handled ?? '[]') as Handled[]).filter((h) => h.key === key);
    };

    beforeAll(async () => {
      target = await start();
    }, 180_000);
    afterAll(async () => {
      client.close();
      await target?.stop();
    });

    it('answers GET /ping under its base path, and 404 outside it', async () => {
      await client.ping(base());
      expect((await fetch(`${base()}/ping`)).status).toBe(200);
      // (The operator takes any answer to /ping as "up": the status is read here, not by its client.)
      expect((await fetch(`${base().replace(CONFORMANCE_BASE_PATH, '/elsewhere')}/ping`)).status).toBe(404);
    });

    it('POST /config: the answer becomes config strings (numbers, booleans and arrays as JSON, null dropped)', async () => {
      const body = configRequestBody({
        side: 'Socket',
        plug: plugObject('app'),
        socket: socketObject,
        plugData: { p: '1' },
        socketData: { s: '2' },
      });
      expect(await client.config(base(), body)).toEqual({
        username: 'app',
        port: '5432',
        tls: 'true',
        hosts: '["a","b"]',
      });
      const withVars = await client.config(base(), { ...body, vars: { region: 'eu' } });
      expect(withVars.vars).toBe('{"region":"eu"}');
    });

    it('delivers every lifecycle event with its body and Idempotency-Key', async () => {
      const plug = plugObject('events');
      const bodies = {
        created: objectEventBody('Socket', socketObject),
        coupled: coupling(plug),
        updated: coupling(plug),
        decoupled: coupling(plug),
        deleted: objectEventBody('Socket', socketObject),
      };
      for (const event of ['created', 'coupled', 'updated', 'decoupled', 'deleted'] as const) {
        const key = keyFor(plug, event);
        await client.event(base(), event, bodies[event], { idempotencyKey: key });
        expect(await handled(key)).toEqual([{ endpoint: event, key, body: bodies[event] }]);
      }
    });

    it('runs an event once per Idempotency-Key: a repeated delivery is answered without the handler', async () => {
      const plug = plugObject('repeated');
      const key = keyFor(plug, 'coupled');
      await client.event(base(), 'coupled', coupling(plug), { idempotencyKey: key });
      await client.event(base(), 'coupled', coupling(plug), { idempotencyKey: key });
      expect(await handled(key)).toHaveLength(1);
    });

    it('a 4xx from a handler is final: one attempt, its message, condition reason Error', async () => {
      const plug = plugObject('refused', '422');
      const key = keyFor(plug, 'coupled');
      const failure = client.event(base(), 'coupled', coupling(plug), { idempotencyKey: key });
      await expect(failure).rejects.toMatchObject({
        code: 'HttpError',
        status: 422,
        attempts: 1,
        conditionReason: 'Error',
      });
      await expect(failure).rejects.toThrow('the conformance apparatus refuses this plug');
      expect(await handled(key)).toHaveLength(1);
    });

    it('a failing handler answers 5xx without its own text, and runs again when the event is delivered again', async () => {
      for (const answer of ['500', '503']) {
        const plug = plugObject(`failing-${answer}`, answer);
        const key = keyFor(plug, 'updated');
        const deliver = () => client.event(base(), 'updated', coupling(plug), { idempotencyKey: key });
        // An answer is not retried within the call: the operator requeues the coupling instead.
        const failure = deliver();
        await expect(failure).rejects.toMatchObject({
          code: 'HttpError',
          status: Number(answer),
          attempts: 1,
          conditionReason: 'ApparatusUnavailable',
        });
        await expect(failure).rejects.not.toThrow('internal detail');
        // Failures are not remembered: the next delivery (same key) reaches the handler again.
        await expect(deliver()).rejects.toMatchObject({ status: Number(answer) });
        expect(await handled(key)).toHaveLength(2);
      }
    });

    it('refuses a body that breaks the protocol with 400 naming the field, not retried', async () => {
      const plug = plugObject('invalid');
      const bad = { version: '1', plug } as unknown as CouplingEventBody;
      const failure = client.event(base(), 'coupled', bad, { idempotencyKey: keyFor(plug, 'coupled') });
      await expect(failure).rejects.toMatchObject({ code: 'HttpError', status: 400, attempts: 1 });
      await expect(failure).rejects.toThrow('socket');
    });

    it('refuses a body over its limit with 413, read by the client (not a connection reset)', async () => {
      // Bodies well over the limit are the ones a server that answers and closes at once turns into
      // ECONNRESET at the client (still sending): 3 in 4 of them before the SDK read them to the end.
      for (const times of [1, 2, 4, 16, 2, 4, 16]) {
        const body = configRequestBody({
          side: 'Socket',
          plug: plugObject('large'),
          socket: socketObject,
          plugData: { blob: 'x'.repeat(times * MAX_BODY_BYTES) },
          socketData: {},
        });
        await expect(client.config(base(), body)).rejects.toMatchObject({ code: 'HttpError', status: 413 });
      }
    });
  });
}
