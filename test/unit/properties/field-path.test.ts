// Property tests of field paths (the gjson syntax of vars): any key can be addressed by escaping,
// a path that does not resolve is a FieldPathError naming it, no path string makes the reader
// throw anything else, and a tenant's glob query cannot stall the operator.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FieldPathError, readFieldPath } from '../../../src/integration/field-path.ts';

/** Escapes a key so that it is one path segment (every character the syntax gives a meaning). */
function escapeKey(k: string): string {
  return k.replace(/[\\.#()"|]/g, (c) => `\\${c}`);
}

function render(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

const keyChars = fc.constantFrom('a', 'b', '.', '#', '(', ')', '"', '\\', '-', '/', '_', '0', '1', ' ', 'é');
const key = fc.oneof(
  fc.string({ unit: keyChars, minLength: 1, maxLength: 6 }),
  fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty'),
);
const leaf = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null));

describe('field paths (properties)', () => {
  it('addresses any key of a nested object once its special characters are escaped', () => {
    fc.assert(
      fc.property(fc.array(key, { minLength: 1, maxLength: 5 }), leaf, (keys, value) => {
        // Build {k1: {k2: ... value}} with own properties (JSON.parse keeps __proto__ as a key).
        let obj: unknown = value;
        for (const k of [...keys].reverse())
          obj = JSON.parse(`{${JSON.stringify(k)}:${JSON.stringify(obj)}}`);
        expect(readFieldPath(obj, keys.map(escapeKey).join('.'))).toBe(render(value));
      }),
      { numRuns: 500 },
    );
  });

  it('indexes arrays by number, counts them with #, and maps # over them', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ name: fc.string({ maxLength: 5 }) }), { maxLength: 6 }), (items) => {
        const obj = { spec: { items } };
        expect(readFieldPath(obj, 'spec.items.#')).toBe(String(items.length));
        expect(readFieldPath(obj, 'spec.items.#.name')).toBe(JSON.stringify(items.map((i) => i.name)));
        items.forEach((it, i) => {
          expect(readFieldPath(obj, `spec.items.${i}.name`)).toBe(it.name);
        });
        expect(() => readFieldPath(obj, `spec.items.${items.length}.name`)).toThrow(FieldPathError);
      }),
    );
  });

  it('a missing key is a FieldPathError that names the path', () => {
    fc.assert(
      fc.property(fc.dictionary(key, leaf, { maxKeys: 4 }), key, (dict, k) => {
        fc.pre(!Object.hasOwn(dict, k));
        const obj = JSON.parse(JSON.stringify({ data: dict }));
        const path = `data.${escapeKey(k)}`;
        expect(() => readFieldPath(obj, path)).toThrow(FieldPathError);
        expect(() => readFieldPath(obj, path)).toThrow(path);
      }),
    );
  });

  it('any path string either resolves or fails with a FieldPathError (never another error)', () => {
    const obj = {
      metadata: { name: 'n', labels: { 'a.b': 'c' } },
      status: { conditions: [{ type: 'Ready', status: 'True' }], n: [1, 2, 3] },
    };
    const pathChars = fc.constantFrom(
      '.',
      '#',
      '(',
      ')',
      '"',
      '=',
      '!',
      '%',
      '<',
      '>',
      '*',
      '?',
      '\\',
      'a',
      'status',
      'type',
      '1',
    );
    fc.assert(
      fc.property(fc.string({ unit: pathChars, maxLength: 30 }), (path) => {
        try {
          expect(typeof readFieldPath(obj, path)).toBe('string');
        } catch (err) {
          expect(err).toBeInstanceOf(FieldPathError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('glob queries (% and !%) match like wildcards: * any run, ? one character, all else literal', () => {
    const chars = fc.constantFrom('a', 'b', '.', '+', '(', '[', '^', '$', '\\');
    fc.assert(
      fc.property(
        fc.string({ unit: fc.oneof(chars, fc.constantFrom('*', '?')), maxLength: 8 }),
        fc.string({ unit: chars, maxLength: 10 }),
        (pattern, s) => {
          const want = new RegExp(
            `^${[...pattern].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('')}$`,
            's',
          ).test(s);
          const obj = { items: [{ v: s }] };
          const q = (op: string) => `items.#(v${op}${JSON.stringify(pattern)})#.v`;
          expect(readFieldPath(obj, q('%'))).toBe(JSON.stringify(want ? [s] : []));
          expect(readFieldPath(obj, q('!%'))).toBe(JSON.stringify(want ? [] : [s]));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a glob query with many stars over a long value answers at once (no backtracking stall)', () => {
    // A tenant writes the pattern (vars fieldPath) and the value (an object it can read). With a
    // backtracking regular expression this took minutes and blocked the operator's event loop.
    const obj = { items: [{ name: 'a'.repeat(20_000) }] };
    const path = `items.#(name%"${'*a'.repeat(12)}*b").name`;
    expect(() => readFieldPath(obj, path)).toThrow(FieldPathError);
    const ok = `items.#(name%"${'*a'.repeat(12)}*").name`;
    expect(readFieldPath(obj, ok)).toBe(obj.items[0]!.name);
  });
});
