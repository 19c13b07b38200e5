// An example apparatus for a Socket (say, a database team's): `/config` gives every coupled Plug
// its own credentials, and lifecycle events are logged. The password is derived from a seed and
// the coupling (HMAC), so it is stable across calls and restarts without any storage, as `/config`
// must be side-effect free and is called whenever the operator resolves config.
import { createHmac } from 'node:crypto';
import {
  type Apparatus,
  ApparatusHttpError,
  createApparatus,
  type KubeObject,
} from '@integration-operator/apparatus-sdk';

export interface ExampleOptions {
  /** Secret seed of the derived passwords (from a Secret in a real deployment). */
  passwordSeed: string;
  /** Path the apparatus is mounted at (the owner's `apparatus.endpoint`, e.g. `/socket`). */
  basePath?: string;
  /** Where log lines go (one JSON object per line). */
  log?: (line: string) => void;
}

function ref(object: KubeObject | undefined): string {
  return `${object?.metadata?.namespace ?? '?'}/${object?.metadata?.name ?? '?'}`;
}

/** A database user name from the plug's namespace and name: `tenant_a_app`. */
export function usernameFor(plug: KubeObject): string {
  const raw = `${plug.metadata?.namespace ?? ''}_${plug.metadata?.name ?? ''}`;
  return raw
    .replace(/[^a-zA-Z0-9_]/g, '_')
    .toLowerCase()
    .slice(0, 63);
}

/** A 32-character password, stable for one (seed, plug UID, socket UID). */
export function passwordFor(seed: string, plugUid: string, socketUid: string): string {
  return createHmac('sha256', seed).update(`${plugUid}/${socketUid}`).digest('base64url').slice(0, 32);
}

export function createExampleApparatus(options: ExampleOptions): Apparatus {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  // Log names and the idempotency key, never config values (they hold the password).
  const event = (name: string, fields: Record<string, string | undefined>): void =>
    log(JSON.stringify({ time: new Date().toISOString(), event: name, ...fields }));

  return createApparatus(
    {
      config: ({ plug, socket }) => {
        const plugUid = plug.metadata?.uid;
        const socketUid = socket.metadata?.uid;
        if (!plugUid || !socketUid) throw new ApparatusHttpError(422, 'plug and socket need metadata.uid');
        return {
          username: usernameFor(plug),
          password: passwordFor(options.passwordSeed, plugUid, socketUid),
        };
      },
      created: (body, ctx) =>
        event('created', { object: ref(body.plug ?? body.socket), key: ctx.idempotencyKey }),
      coupled: (body, ctx) =>
        event('coupled', { plug: ref(body.plug), socket: ref(body.socket), key: ctx.idempotencyKey }),
      updated: (body, ctx) =>
        event('updated', { plug: ref(body.plug), socket: ref(body.socket), key: ctx.idempotencyKey }),
      decoupled: (body, ctx) =>
        event('decoupled', { plug: ref(body.plug), socket: ref(body.socket), key: ctx.idempotencyKey }),
      deleted: (body, ctx) =>
        event('deleted', { object: ref(body.plug ?? body.socket), key: ctx.idempotencyKey }),
    },
    {
      ...(options.basePath === undefined ? {} : { basePath: options.basePath }),
      onError: (error, info) =>
        event('error', { endpoint: info.endpoint, error: error instanceof Error ? error.name : 'unknown' }),
    },
  );
}
