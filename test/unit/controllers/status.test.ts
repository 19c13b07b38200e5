import { describe, expect, it } from 'vitest';
import { mergePatchDiff } from '../../../src/controllers/status.ts';
import { setCondition } from '../../../src/integration/conditions.ts';

describe('status helpers', () => {
  it('computes the smallest merge patch, nulling removed keys and replacing arrays', () => {
    expect(mergePatchDiff({ a: 1, b: { c: 2, d: 3 } }, { a: 1, b: { c: 2, d: 3 } })).toBeUndefined();
    expect(mergePatchDiff({ a: 1, b: { c: 2, d: 3 } }, { a: 1, b: { c: 5 } })).toEqual({
      b: { c: 5, d: null },
    });
    expect(mergePatchDiff({ l: [1, 2] }, { l: [1] })).toEqual({ l: [1] });
    expect(mergePatchDiff(undefined, { a: 1 })).toEqual({ a: 1 });
    expect(mergePatchDiff({ a: 1, gone: { x: 1 } }, { a: 1 })).toEqual({ gone: null });
  });

  it('changes lastTransitionTime only when a condition flips, and always sets observedGeneration', () => {
    const t1 = new Date('2026-01-01T00:00:00Z');
    const t2 = new Date('2026-01-01T01:00:00Z');
    let c = setCondition([], { type: 'Ready', status: 'False', reason: 'A', message: 'a' }, 1, t1);
    c = setCondition(c, { type: 'Ready', status: 'False', reason: 'B', message: 'b' }, 2, t2);
    expect(c[0]).toMatchObject({
      reason: 'B',
      observedGeneration: 2,
      lastTransitionTime: '2026-01-01T00:00:00Z',
    });
    c = setCondition(c, { type: 'Ready', status: 'True', reason: 'C', message: 'c' }, 2, t2);
    expect(c[0]?.lastTransitionTime).toBe('2026-01-01T01:00:00Z');
  });
});
