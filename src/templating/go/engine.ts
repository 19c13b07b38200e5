// Entry point of the Go-template dialect: text/template + sprig v2.22.0 semantics, self-contained (no
// Node built-ins, no host globals beyond ES2023) so it can be loaded into a bare QuickJS context.
//
// Deliberate differences from the Go operator (see README of this folder): a missing key renders as ""
// and is reported in missingKeys; integral float64 values print as integers; env/expandenv, files,
// network, keys and the clock are unavailable; output, loops, work and recursion are bounded; random
// functions are stable for a given seed; `endif` is accepted as `end`.

import { GoTemplateError } from './errors.ts';
import { Executor, isStackOverflow, type Limits } from './exec.ts';
import { FUNCS } from './funcs.ts';
import { type ParsedTemplate, parseTemplate } from './parse.ts';
import { seededRandom32 } from './random.ts';
import { fromJSON, type GoValue, inPlaceChangeCount, nilMap } from './values.ts';

export type { GoTemplateErrorCode } from './errors.ts';
export { GoTemplateError } from './errors.ts';

export interface RenderGoTemplateOptions {
  /** Seed of randAlphaNum/uuidv4/shuffle...: same seed and template, same values. */
  seed: string;
  leftDelim?: string;
  rightDelim?: string;
  limits?: Partial<Limits>;
  /**
   * The caller has not changed `data` since an earlier call with the same object (the templates of one
   * render share it): its Go value is reused instead of converted again, unless a template changed a map
   * in place since (sprig's set, unset, merge), in which case it is converted afresh as before.
   */
  reuseData?: boolean;
}

export interface RenderGoTemplateResult {
  output: string;
  /** Paths of keys that were missing where a value was printed, e.g. `.plugConfig.foo`, in order. */
  missingKeys: string[];
}

/**
 * Default bounds. Work units are node evaluations, copied list elements, 64-character chunks of built strings
 * and regular-expression VM steps; 500,000 units take about 0.6-1.5 s in QuickJS (0.05 s in V8), while
 * a 40-line Job template uses a few hundred.
 */
export const DEFAULT_LIMITS: Limits = {
  maxOutput: 1 << 20,
  maxIterations: 100_000,
  maxWork: 500_000,
  maxDepth: 100,
};

export const MAX_TEMPLATE_LENGTH = 1 << 20;

// Parsed templates are immutable, so a context that lives across renders (safe for this engine: templates
// cannot run JavaScript) reuses them; the cache is bounded by entries and by total source length.
const CACHE_ENTRIES = 64;
const CACHE_CHARS = 4 << 20;
const parseCache = new Map<string, ParsedTemplate>();
let cachedChars = 0;

function parseCached(src: string, leftDelim: string, rightDelim: string): ParsedTemplate {
  const key = `${leftDelim}\u0000${rightDelim}\u0000${src}`;
  const hit = parseCache.get(key);
  if (hit) {
    parseCache.delete(key);
    parseCache.set(key, hit);
    return hit;
  }
  let tmpl: ParsedTemplate;
  try {
    tmpl = parseTemplate(src, { leftDelim, rightDelim, hasFunction: (name) => FUNCS.has(name) });
  } catch (e) {
    if (isStackOverflow(e)) {
      throw new GoTemplateError('GO_TEMPLATE_LIMIT', 'template nesting is too deep', undefined, { cause: e });
    }
    throw e;
  }
  parseCache.set(key, tmpl);
  cachedChars += key.length;
  for (const [k] of parseCache) {
    if (parseCache.size <= CACHE_ENTRIES && cachedChars <= CACHE_CHARS) break;
    parseCache.delete(k);
    cachedChars -= k.length;
  }
  return tmpl;
}

/** Parses a template as the renderer does (same delimiters, functions and cache); throws GoTemplateError. */
export function parseGoTemplate(src: string, leftDelim = '{%', rightDelim = '%}'): ParsedTemplate {
  return parseCached(src, leftDelim, rightDelim);
}

// The Go value of each data object, with the in-place change count it was converted at. An object
// template renders each string leaf as a template of its own over the same data; converting a socket
// with a long status once per leaf cost most of the render.
const converted = new WeakMap<object, { value: GoValue; changes: number }>();

function goData(data: unknown, reuse: boolean): GoValue {
  // The Go operator always executed over a map; no data at all behaves as an empty (nil) map.
  if (data === null || data === undefined) return nilMap();
  if (typeof data !== 'object') return fromJSON(data);
  const hit = reuse ? converted.get(data) : undefined;
  if (hit && hit.changes === inPlaceChangeCount()) return hit.value;
  const value = fromJSON(data);
  converted.set(data, { value, changes: inPlaceChangeCount() });
  return value;
}

export function renderGoTemplate(
  src: string,
  data: unknown,
  opts: RenderGoTemplateOptions,
): RenderGoTemplateResult {
  if (src.length > MAX_TEMPLATE_LENGTH) {
    throw new GoTemplateError('GO_TEMPLATE_LIMIT', `template longer than ${MAX_TEMPLATE_LENGTH} characters`);
  }
  const leftDelim = opts.leftDelim || '{%';
  const rightDelim = opts.rightDelim || '%}';
  const tmpl = parseCached(src, leftDelim, rightDelim);
  let value: GoValue;
  try {
    value = goData(data, opts.reuseData === true);
  } catch (e) {
    throw new GoTemplateError('GO_TEMPLATE_LIMIT', 'template data is nested too deeply', undefined, {
      cause: e,
    });
  }
  const limits: Limits = { ...DEFAULT_LIMITS, ...opts.limits };
  return new Executor(tmpl, FUNCS, limits, seededRandom32(opts.seed)).execute(value);
}
