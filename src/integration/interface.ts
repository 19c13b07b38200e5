// Validation of one side's config or result against the socket's interface.
//
// Seed format: {KEY: {required?, default?, description?}}. We also accept a safe subset of JSON
// Schema keywords in a property and validate them with ajv. Rules (SPEC.md "Resolution"):
// - keys the interface does not name are dropped;
// - every missing or empty required key is reported, naming the side (not just the first);
// - defaults fill missing optional keys;
// - no interface (or no entry for the side) means no validation: values pass through.
// Values stay strings; a property that declares another `type` is checked as that type.
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { Property } from '../api/socket.ts';
import { ajvLinearRegExp } from './linear-regexp.ts';
import { setOwn } from './merge.ts';

// ajv-formats is CommonJS with a default export; under Node ESM the namespace's default is the function.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** JSON Schema keywords a property may use. Anything else (e.g. $ref, nested schemas) is ignored. */
const allowedKeywords = [
  'type',
  'enum',
  'const',
  'pattern',
  'format',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
] as const;

/** Values longer than this are not matched against a tenant `pattern` (regular-expression cost). */
export const maxPatternInput = 10_000;

// `pattern` keywords are tenant regular expressions matched on the operator's event loop: RE2
// (linear time), not JavaScript's backtracking engine (see linear-regexp.ts).
const ajv = new Ajv({
  strict: false,
  allErrors: true,
  coerceTypes: true,
  validateSchema: true,
  code: { regExp: ajvLinearRegExp },
});
addFormats(ajv);

const compiled = new Map<string, ValidateFunction>();

export interface ValidationResult {
  ok: boolean;
  values: Record<string, string>;
  /** Human-readable problems, one per key. */
  errors: string[];
}

function keywordSchema(p: Property): Record<string, unknown> | undefined {
  const s: Record<string, unknown> = {};
  for (const k of allowedKeywords)
    if ((p as Record<string, unknown>)[k] !== undefined) s[k] = (p as Record<string, unknown>)[k];
  return Object.keys(s).length ? s : undefined;
}

function validatorFor(schema: Record<string, unknown>): ValidateFunction {
  const key = JSON.stringify(schema);
  let v = compiled.get(key);
  if (!v) {
    v = ajv.compile(schema);
    if (compiled.size > 10_000) compiled.clear();
    compiled.set(key, v);
  }
  return v;
}

function defaultString(d: unknown): string | undefined {
  if (d === undefined || d === null) return undefined;
  return typeof d === 'string' ? d : JSON.stringify(d);
}

/**
 * Validates `values` of one side (`what` names it in messages, e.g. "plug config").
 * `properties` undefined = no validation.
 */
export function validateSide(
  properties: Record<string, Property> | undefined,
  values: Record<string, string>,
  what: string,
): ValidationResult {
  if (!properties) return { ok: true, values: { ...values }, errors: [] };
  const out: Record<string, string> = {};
  const missing: string[] = [];
  const errors: string[] = [];
  for (const [key, prop] of Object.entries(properties)) {
    let v = Object.hasOwn(values, key) ? values[key] : undefined;
    if (v === undefined) v = defaultString(prop?.default);
    if (prop?.required && (v === undefined || v === '')) {
      missing.push(key);
      continue;
    }
    if (v === undefined) continue;
    const schema = prop ? keywordSchema(prop) : undefined;
    if (schema) {
      if (schema.pattern !== undefined && v.length > maxPatternInput) {
        errors.push(
          `${key}: value is ${v.length} characters, longer than the ${maxPatternInput} checked against a pattern`,
        );
        continue;
      }
      // Strings on the wire; a declared non-string type is checked after coercion (ajv coerces
      // inside the holder object, leaving `v` a string).
      let validate: ValidateFunction;
      try {
        validate = validatorFor({ type: 'object', properties: { v: schema } });
      } catch (err) {
        errors.push(`${what} ${key}: the interface's schema for it is invalid: ${(err as Error).message}`);
        continue;
      }
      if (!validate({ v })) {
        const msg = (validate.errors ?? []).map((e) => e.message).join('; ');
        errors.push(`${what} ${key}: ${msg || 'invalid'}`);
        continue;
      }
    }
    setOwn(out, key, v);
  }
  if (missing.length) {
    errors.unshift(
      `${what} is missing required ${missing.length === 1 ? 'key' : 'keys'} ${missing.join(', ')}`,
    );
  }
  return { ok: errors.length === 0, values: out, errors };
}
