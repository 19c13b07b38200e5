// Tenant regular expressions (namespace allow/deny lists, interface `pattern`s) match in linear
// time: with JavaScript's backtracking engine these cases ran for minutes to hours on the
// operator's event loop (28 characters against ^(a+)+$ took 14 s; each more character doubles it).
import { describe, expect, it } from 'vitest';
import type { Property } from '../../../src/api/socket.ts';
import { admitNamespace, fullMatch } from '../../../src/integration/admission.ts';
import { validateSide } from '../../../src/integration/interface.ts';
import { compileLinear, RegExpSyntaxError } from '../../../src/integration/linear-regexp.ts';

describe('tenant regular expressions', () => {
  it('an interface pattern with nested quantifiers answers at once on a hostile value', () => {
    const props = { name: { pattern: '^(a+)+$' } } as unknown as Record<string, Property>;
    const r = validateSide(props, { name: `${'a'.repeat(5_000)}!` }, 'plug config');
    expect(r.ok).toBe(false);
    expect(r.errors.join()).toMatch(/name: must match pattern/);
    expect(validateSide(props, { name: 'aaaa' }, 'plug config').ok).toBe(true);
  });

  it('a namespace allow-list with nested quantifiers answers at once on a long namespace', () => {
    const ns = `${'team-payments-'.repeat(4)}x`.slice(0, 63);
    const r = admitNamespace({ namespaceWhitelist: ['([a-z-]+)+!'] }, ns, {});
    expect(r.allowed).toBe(false);
    expect(admitNamespace({ namespaceWhitelist: ['([a-z-]+)+x'] }, ns, {}).allowed).toBe(ns.endsWith('x'));
  });

  it('keeps full-match semantics and refuses what RE2 lacks with a clear error', () => {
    expect(fullMatch('prod').test('preprod')).toBe(false);
    expect(fullMatch('prod|dev').test('dev')).toBe(true);
    expect(fullMatch('team-.*').test('team-a')).toBe(true);
    expect(() => fullMatch('a)|(b')).toThrow(/invalid regular expression "a\)\|\(b"/);
    expect(() => compileLinear('(a)\\1')).toThrow(RegExpSyntaxError);
    expect(() => compileLinear('(?=a)')).toThrow(/RE2 syntax/);
    const props = { k: { pattern: '(?<=a)b' } } as unknown as Record<string, Property>;
    expect(validateSide(props, { k: 'ab' }, 'plug config').errors.join()).toMatch(/schema for it is invalid/);
  });
});
