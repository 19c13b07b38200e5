import { describe, expect, it } from 'vitest';
import type { CouplingRecord } from '../../../src/api/plug.ts';
import { canonicalJson, inputsHash } from '../../../src/integration/hash.ts';
import { isCoupled, owedCouplingEvents, owedDecouplings } from '../../../src/integration/lifecycle.ts';
import { mergeSources, withoutSecretValues } from '../../../src/integration/merge.ts';

const base: CouplingRecord = { socketUid: 's1', socketName: 's', socketNamespace: 'ns' };

describe('owed lifecycle events', () => {
  it('owes coupled on both sides, plug first, when nothing is recorded or the socket changed', () => {
    const both = [
      { side: 'plug', event: 'coupled' },
      { side: 'socket', event: 'coupled' },
    ];
    expect(owedCouplingEvents(undefined, 's1', 'h')).toEqual(both);
    expect(
      owedCouplingEvents({ ...base, socketUid: 'old', plug: { event: 'coupled', hash: 'h' } }, 's1', 'h'),
    ).toEqual(both);
  });

  it('owes only the side still missing after a crash between sides', () => {
    expect(owedCouplingEvents({ ...base, plug: { event: 'coupled', hash: 'h' } }, 's1', 'h')).toEqual([
      { side: 'socket', event: 'coupled' },
    ]);
  });

  it('owes nothing when both sides performed the current inputs, updated when they changed', () => {
    const rec = { ...base, plug: { event: 'coupled', hash: 'h' }, socket: { event: 'updated', hash: 'h' } };
    expect(owedCouplingEvents(rec, 's1', 'h')).toEqual([]);
    expect(owedCouplingEvents(rec, 's1', 'h2')).toEqual([
      { side: 'plug', event: 'updated' },
      { side: 'socket', event: 'updated' },
    ]);
  });

  it('never owes a decoupled without a prior coupled, and skipped sides owe nothing', () => {
    expect(owedDecouplings(undefined)).toEqual([]);
    expect(owedDecouplings({ ...base })).toEqual([]);
    expect(owedDecouplings({ ...base, plug: { event: 'coupled' } })).toEqual(['plug']);
    expect(owedDecouplings({ ...base, plug: { event: 'decoupled' }, socket: { event: 'updated' } })).toEqual([
      'socket',
    ]);
    expect(owedDecouplings({ ...base, socket: { event: 'coupled', skipped: true } })).toEqual([]);
    expect(isCoupled({ ...base, plug: { event: 'coupled' } })).toBe(false);
    expect(isCoupled({ ...base, plug: { event: 'coupled' }, socket: { event: 'updated' } })).toBe(true);
  });
});

describe('merge order and hashing', () => {
  it('merges Secret, literal, template, ConfigMap, apparatus: later wins', () => {
    const m = mergeSources({
      secret: { a: 'secret', b: 'secret', pw: 's3cret' },
      literal: { b: 'literal', c: 'literal' },
      template: { c: 'template', d: 'template' },
      configMap: { d: 'cm', e: 'cm' },
      apparatus: { e: 'apparatus' },
    });
    expect(m.values).toEqual({
      a: 'secret',
      b: 'literal',
      c: 'template',
      d: 'cm',
      e: 'apparatus',
      pw: 's3cret',
    });
    expect(withoutSecretValues(m)).toEqual({ b: 'literal', c: 'template', d: 'cm', e: 'apparatus' });
  });

  it('hashes canonically (key order does not matter)', () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: 3 } })).toBe('{"a":{"c":3,"d":2},"b":1}');
    expect(inputsHash({ a: 1, b: 2 })).toBe(inputsHash({ b: 2, a: 1 }));
    expect(inputsHash({ a: 1 })).not.toBe(inputsHash({ a: 2 }));
  });
});
