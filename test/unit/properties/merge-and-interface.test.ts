// Property tests of resolution's pure parts: the merge order of config sources (Secret, literal,
// template, ConfigMap, apparatus; later wins) and validation against a socket interface (unknown
// keys dropped, every missing required key named, defaults fill, no interface = no validation).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Property } from '../../../src/api/socket.ts';
import { validateSide } from '../../../src/integration/interface.ts';
import {
  type ConfigSources,
  configSourceOrder,
  mergeSources,
  withoutSecretValues,
} from '../../../src/integration/merge.ts';

// Keys that are names of Object.prototype members are legal keys of a ConfigMap, a Secret or a
// literal map (JSON.parse keeps them as own keys).
const key = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('a', 'b', 'c', 'password', 'host', 'x.y', 'k-1') },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty') },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 6 }) },
);
/** A string map as it arrives from JSON (own keys only, `__proto__` included). */
const jsonMap = fc
  .array(fc.tuple(key, fc.string({ maxLength: 6 })), { maxLength: 6 })
  .map(
    (entries) =>
      JSON.parse(
        `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`,
      ) as Record<string, string>,
  );
const sources = fc.record(
  {
    secret: jsonMap,
    literal: jsonMap,
    template: jsonMap,
    configMap: jsonMap,
    apparatus: jsonMap,
  },
  { requiredKeys: [] },
);

describe('merge order (properties)', () => {
  it('each key takes the value of the last source, in Secret, literal, template, ConfigMap, apparatus order', () => {
    fc.assert(
      fc.property(sources, (src: ConfigSources) => {
        const m = mergeSources(src);
        const want = new Map<string, { v: string; from: string }>();
        for (const name of configSourceOrder) {
          const s = src[name];
          if (!s) continue;
          for (const k of Object.keys(s)) want.set(k, { v: s[k]!, from: name });
        }
        expect(Object.keys(m.values).sort()).toEqual([...want.keys()].sort());
        for (const [k, w] of want) {
          expect(Object.hasOwn(m.values, k)).toBe(true);
          expect(m.values[k]).toBe(w.v);
          expect(m.from[k]).toBe(w.from);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('what may reach status holds no value whose winning source is a Secret', () => {
    fc.assert(
      fc.property(sources, (src) => {
        const m = mergeSources(src);
        const shown = withoutSecretValues(m);
        for (const k of Object.keys(m.values)) {
          expect(Object.hasOwn(shown, k)).toBe(m.from[k] !== 'secret');
        }
        expect(Object.keys(shown).length).toBe(
          Object.keys(m.values).filter((k) => m.from[k] !== 'secret').length,
        );
      }),
    );
  });

  it('merging never pollutes Object.prototype', () => {
    fc.assert(
      fc.property(sources, (src) => {
        mergeSources(src);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect(Object.getPrototypeOf({})).toBe(Object.prototype);
      }),
    );
  });
});

const property: fc.Arbitrary<Property> = fc.record(
  {
    required: fc.boolean(),
    default: fc.oneof(fc.string({ maxLength: 4 }), fc.integer({ min: 0, max: 9 })),
    description: fc.string({ maxLength: 5 }),
  },
  { requiredKeys: [] },
);
const properties = fc
  .array(fc.tuple(key, property), { maxLength: 5 })
  .map(
    (entries) =>
      JSON.parse(
        `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`,
      ) as Record<string, Property>,
  );

describe('interface validation (properties)', () => {
  it('no interface means no validation: the values pass through unchanged', () => {
    fc.assert(
      fc.property(jsonMap, (values) => {
        const r = validateSide(undefined, values, 'plug config');
        expect(r.ok).toBe(true);
        expect(r.values).toEqual(values);
      }),
    );
  });

  it('keeps only named keys, fills defaults, and names every missing required key and the side', () => {
    fc.assert(
      fc.property(
        properties,
        jsonMap,
        fc.constantFrom('plug config', 'socket result'),
        (props, values, what) => {
          const r = validateSide(props, values, what);
          const missing: string[] = [];
          for (const [k, p] of Object.entries(props)) {
            const given = Object.hasOwn(values, k) ? values[k] : undefined;
            const def =
              p.default === undefined
                ? undefined
                : typeof p.default === 'string'
                  ? p.default
                  : JSON.stringify(p.default);
            const v = given ?? def;
            if (p.required && (v === undefined || v === '')) {
              missing.push(k);
              expect(Object.hasOwn(r.values, k)).toBe(false);
            } else if (v !== undefined) {
              expect(Object.hasOwn(r.values, k)).toBe(true);
              expect(r.values[k]).toBe(v);
            } else {
              expect(Object.hasOwn(r.values, k)).toBe(false);
            }
          }
          for (const k of Object.keys(r.values)) expect(Object.hasOwn(props, k)).toBe(true);
          expect(r.ok).toBe(missing.length === 0);
          if (missing.length) {
            expect(r.errors[0]).toContain(what);
            for (const k of missing) expect(r.errors[0]).toContain(k);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('is idempotent: validating an accepted result again accepts it unchanged', () => {
    fc.assert(
      fc.property(properties, jsonMap, (props, values) => {
        const r = validateSide(props, values, 'plug config');
        fc.pre(r.ok);
        const again = validateSide(props, r.values, 'plug config');
        expect(again.ok).toBe(true);
        expect(again.values).toEqual(r.values);
      }),
    );
  });

  it('checks declared JSON Schema types on the string values', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: -10, max: 10 }), (n, min) => {
        const props = { port: { type: 'integer', minimum: min } } as unknown as Record<string, Property>;
        const r = validateSide(props, { port: String(n) }, 'plug config');
        expect(r.ok).toBe(n >= min);
        const bad = validateSide(props, { port: `${n}.5` }, 'plug config');
        expect(bad.ok).toBe(false);
      }),
    );
  });
});
