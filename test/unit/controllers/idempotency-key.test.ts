// The Idempotency-Key of a coupling event is stable across retries of that event. A decoupled is
// retried with whatever could be resolved at that moment (the config, or nothing when an apparatus
// /config call fails or the socket is gone); its key must not depend on that (found by the chaos
// run: one socket-side decoupled delivered under two keys while an apparatus was failing).
import { describe, expect, it } from 'vitest';
import { DefaultActions } from '../../../src/controllers/actions.ts';
import type { ApparatusService } from '../../../src/controllers/apparatus.ts';
import { ownerOf } from '../../../src/controllers/owner.ts';
import type { CouplingInputs } from '../../../src/controllers/resolve.ts';
import type { Kube } from '../../../src/kube/objects.ts';

const plug = ownerOf(
  'Plug',
  {
    apiVersion: 'integration.rock8s.com/v1beta1',
    kind: 'Plug',
    metadata: { name: 'p', namespace: 'ns', uid: 'pu', generation: 1 },
  },
  { apparatus: { containers: [] } },
);
const socket = ownerOf(
  'Socket',
  {
    apiVersion: 'integration.rock8s.com/v1beta1',
    kind: 'Socket',
    metadata: { name: 's', namespace: 'ns', uid: 'su', generation: 1 },
  },
  { apparatus: { containers: [] } },
);

function inputs(hash: string): CouplingInputs {
  const side = {
    data: {},
    vars: undefined,
    config: { values: { a: hash }, from: { a: 'literal' as const } },
  };
  return {
    plug: side,
    socket: side,
    hash,
    sourcesHash: hash,
    warnings: [],
    secretValues: [],
  };
}

function recordingActions() {
  const keys: Array<{ event: string; key: string }> = [];
  const apparatus: ApparatusService = {
    config: async () => undefined,
    event: async (_o, event, _body, key) => {
      keys.push({ event, key });
      return true;
    },
  };
  const actions = new DefaultActions({
    kube: {} as Kube,
    apparatus,
    allowClusterScoped: false,
    warn: () => {},
  });
  return { actions, keys };
}

describe('Idempotency-Key of coupling events', () => {
  it('a decoupled has one key whether or not its inputs could be resolved', async () => {
    const { actions, keys } = recordingActions();
    for (const i of [inputs('h1'), undefined, inputs('h2')]) {
      for (const side of ['plug', 'socket'] as const)
        await actions.couplingEvent({ side, event: 'decoupled', plug, socket, socketUid: 'su', inputs: i });
    }
    const plugKeys = new Set(keys.filter((_, i) => i % 2 === 0).map((k) => k.key));
    const socketKeys = new Set(keys.filter((_, i) => i % 2 === 1).map((k) => k.key));
    expect(plugKeys.size).toBe(1);
    expect(socketKeys.size).toBe(1);
    expect([...plugKeys][0]).not.toBe([...socketKeys][0]);
  });

  it('coupled and updated keys follow the inputs (a new update is a new event)', async () => {
    const { actions, keys } = recordingActions();
    for (const h of ['h1', 'h1', 'h2'])
      await actions.couplingEvent({
        side: 'plug',
        event: 'updated',
        plug,
        socket,
        socketUid: 'su',
        inputs: inputs(h),
      });
    expect(keys[0]!.key).toBe(keys[1]!.key);
    expect(keys[1]!.key).not.toBe(keys[2]!.key);
  });
});
