import { describe, expect, it } from 'vitest';
import { admitNamespace, matchesSelector } from '../../../src/integration/admission.ts';

describe('namespace admission', () => {
  it('matches whitelist patterns against the whole name (prod does not admit preprod)', () => {
    expect(admitNamespace({ namespaceWhitelist: ['prod'] }, 'prod', undefined).allowed).toBe(true);
    expect(admitNamespace({ namespaceWhitelist: ['prod'] }, 'preprod', undefined).allowed).toBe(false);
    expect(admitNamespace({ namespaceWhitelist: ['prod'] }, 'prod-2', undefined).allowed).toBe(false);
    expect(admitNamespace({ namespaceWhitelist: ['prod-.*'] }, 'prod-2', undefined).allowed).toBe(true);
    expect(admitNamespace({ namespaceWhitelist: ['a|b'] }, 'ab', undefined).allowed).toBe(false);
  });

  it('refuses blacklisted namespaces by whole name', () => {
    expect(admitNamespace({ namespaceBlacklist: ['kube-.*'] }, 'kube-system', undefined).allowed).toBe(false);
    expect(admitNamespace({ namespaceBlacklist: ['kube'] }, 'kube-system', undefined).allowed).toBe(true);
  });

  it('explains a refusal and reports invalid patterns instead of throwing', () => {
    const r = admitNamespace({ namespaceWhitelist: ['(oops'] }, 'x', undefined);
    expect(r.allowed).toBe(false);
    expect(!r.allowed && r.message).toMatch(/invalid regular expression/);
  });

  it('applies a namespace label selector', () => {
    const v = {
      namespaceSelector: {
        matchLabels: { env: 'prod' },
        matchExpressions: [{ key: 'team', operator: 'In', values: ['a', 'b'] }],
      },
    };
    expect(admitNamespace(v, 'x', { env: 'prod', team: 'a' }).allowed).toBe(true);
    expect(admitNamespace(v, 'x', { env: 'prod', team: 'c' }).allowed).toBe(false);
    expect(admitNamespace(v, 'x', undefined).allowed).toBe(false);
    expect(matchesSelector({ a: '1' }, { matchExpressions: [{ key: 'b', operator: 'DoesNotExist' }] })).toBe(
      true,
    );
    expect(
      matchesSelector({ a: '1' }, { matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] }),
    ).toBe(false);
    expect(matchesSelector({}, { matchExpressions: [{ key: 'a', operator: 'Exists' }] })).toBe(false);
  });

  it('admits everything without validation', () => {
    expect(admitNamespace(undefined, 'anything', undefined).allowed).toBe(true);
  });
});
