import { describe, expect, it } from 'vitest';
import { maxPatternInput, validateSide } from '../../../src/integration/interface.ts';

describe('interface validation', () => {
  it('passes everything through without an interface', () => {
    expect(validateSide(undefined, { a: '1' }, 'plug config')).toEqual({
      ok: true,
      values: { a: '1' },
      errors: [],
    });
  });

  it('drops keys the interface does not name and fills defaults of missing optional keys', () => {
    const r = validateSide(
      { a: {}, b: { default: 'x' }, c: { default: 'y' } },
      { a: '1', c: '', z: 'dropped' },
      'plug config',
    );
    expect(r).toEqual({ ok: true, values: { a: '1', b: 'x', c: '' }, errors: [] });
  });

  it('names every missing or empty required key and the side', () => {
    const r = validateSide(
      { a: { required: true }, b: { required: true }, c: { required: true } },
      { b: '', c: 'ok' },
      'socket config',
    );
    expect(r.ok).toBe(false);
    expect(r.errors).toEqual(['socket config is missing required keys a, b']);
  });

  it('a required key with a default is satisfied by the default', () => {
    expect(validateSide({ a: { required: true, default: 'd' } }, {}, 'plug config').values).toEqual({
      a: 'd',
    });
  });

  it('checks JSON Schema keywords with declared types, keeping values strings', () => {
    const iface = {
      port: { type: 'integer', minimum: 1, maximum: 65535 },
      mode: { enum: ['ro', 'rw'] },
      host: { format: 'hostname' },
    };
    expect(validateSide(iface, { port: '5432', mode: 'ro', host: 'db.svc' }, 'c')).toEqual({
      ok: true,
      values: { port: '5432', mode: 'ro', host: 'db.svc' },
      errors: [],
    });
    const bad = validateSide(iface, { port: '0', mode: 'xx', host: 'not a host!' }, 'c');
    expect(bad.ok).toBe(false);
    expect(bad.errors).toHaveLength(3);
    expect(bad.errors.join('\n')).toMatch(/port: must be >= 1/);
  });

  it('renders a non-string default as JSON text', () => {
    expect(validateSide({ n: { type: 'integer', default: 3 } }, {}, 'c').values).toEqual({ n: '3' });
  });

  it('refuses to run a tenant pattern on an overlong value', () => {
    const r = validateSide({ a: { pattern: '^(a+)+$' } }, { a: 'a'.repeat(maxPatternInput + 1) }, 'c');
    expect(r.ok).toBe(false);
    expect(r.errors[0]).toMatch(/longer than/);
  });

  it('reports an invalid schema instead of throwing', () => {
    const r = validateSide({ a: { pattern: '(' } }, { a: 'x' }, 'c');
    expect(r.ok).toBe(false);
    expect(r.errors[0]).toMatch(/schema for it is invalid/);
  });
});
