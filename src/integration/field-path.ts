// Field paths in the syntax the Go operator's vars used (gjson), evaluated over a decoded object:
//   spec.template.spec.serviceAccountName      dotted names
//   spec.containers.0.image                    numeric indexes
//   metadata.labels.app\.kubernetes\.io/name   \. for a dot inside a key
//   status.conditions.#                        an array's length
//   spec.containers.#.name                     a field of every element (an array)
//   status.conditions.#(type=="Ready").status  the first element matching a query
//   status.conditions.#(status=="True")#.type  every element matching (an array)
// Queries compare with == != < <= > >= and % / !% (glob match), against a quoted string, a number,
// true, false or null. A scalar result renders as a string, an object or array as JSON. A path
// that does not resolve is an error naming the path (the Go operator silently gave "").

export class FieldPathError extends Error {
  override name = 'FieldPathError';
  readonly code = 'FieldPathNotFound';
}

type Query = { field: string; op: string; value: unknown; all: boolean };
type Segment =
  | { kind: 'key'; key: string }
  | { kind: 'count' }
  | { kind: 'each' }
  | { kind: 'query'; q: Query };

/** Splits on unescaped dots, keeping `#(...)` groups whole. */
function splitPath(path: string): string[] {
  const parts: string[] = [];
  let cur = '';
  let depth = 0;
  let quote = false;
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c === '\\' && i + 1 < path.length) {
      cur += c + path[i + 1];
      i++;
      continue;
    }
    if (quote) {
      if (c === '"') quote = false;
      cur += c;
      continue;
    }
    if (c === '"' && depth > 0) quote = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    if (c === '.' && depth === 0) {
      parts.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  parts.push(cur);
  return parts;
}

function unescapePath(s: string): string {
  return s.replace(/\\(.)/g, '$1');
}

function parseLiteral(raw: string, path: string): unknown {
  const s = raw.trim();
  if (s.startsWith('"')) {
    try {
      return JSON.parse(s);
    } catch {
      throw new FieldPathError(`invalid string ${s} in field path ${path}`);
    }
  }
  if (s === 'true') return true;
  if (s === 'false') return false;
  if (s === 'null') return null;
  const n = Number(s);
  if (s !== '' && Number.isFinite(n)) return n;
  throw new FieldPathError(`invalid value ${s} in field path ${path} (quote strings: "value")`);
}

function parseSegment(part: string, path: string): Segment {
  if (part === '#') return { kind: 'count' };
  if (part.startsWith('#(')) {
    const all = part.endsWith(')#');
    const inner = part.slice(2, all ? -2 : -1);
    if (!part.endsWith(')') && !all) throw new FieldPathError(`unclosed query in field path ${path}`);
    const m = /^(.*?)(==|!=|<=|>=|<|>|!%|%)(.*)$/.exec(inner);
    if (!m)
      return { kind: 'query', q: { field: unescapePath(inner.trim()), op: 'exists', value: undefined, all } };
    return {
      kind: 'query',
      q: { field: unescapePath(m[1]!.trim()), op: m[2]!, value: parseLiteral(m[3]!, path), all },
    };
  }
  return { kind: 'key', key: unescapePath(part) };
}

export function parseFieldPath(path: string): Segment[] {
  if (path === '') throw new FieldPathError('empty field path');
  const parts = splitPath(path);
  const segs = parts.map((p) => parseSegment(p, path));
  // `#` followed by more path means "each element".
  return segs.map((s, i) => (s.kind === 'count' && i < segs.length - 1 ? { kind: 'each' } : s));
}

/**
 * Wildcard match (`*` any run, `?` one character, everything else literal) in O(pattern × value)
 * time. Both sides are tenant input: a regular expression built from the pattern backtracks
 * exponentially in the number of stars (8 stars over a 1,000-character value ran for minutes on the
 * operator's event loop).
 */
export function globMatch(pattern: string, s: string): boolean {
  let p = 0;
  let i = 0;
  let star = -1;
  let mark = 0;
  while (i < s.length) {
    if (p < pattern.length && (pattern[p] === '?' || (pattern[p] !== '*' && pattern[p] === s[i]))) {
      p++;
      i++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = i;
    } else if (star >= 0) {
      p = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

function compare(a: unknown, op: string, b: unknown): boolean {
  switch (op) {
    case 'exists':
      return a !== undefined;
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '%':
      return typeof a === 'string' && typeof b === 'string' && globMatch(b, a);
    case '!%':
      return typeof a === 'string' && typeof b === 'string' && !globMatch(b, a);
    default: {
      if (typeof a === 'number' && typeof b === 'number') {
        return op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
      }
      if (typeof a === 'string' && typeof b === 'string') {
        return op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
      }
      return false;
    }
  }
}

const missing = Symbol('missing');

function walk(value: unknown, segs: Segment[]): unknown {
  let v: unknown = value;
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!;
    if (v === missing) return missing;
    switch (s.kind) {
      case 'key': {
        if (Array.isArray(v) && /^\d+$/.test(s.key)) {
          const idx = Number(s.key);
          v = idx < v.length ? v[idx] : missing;
        } else if (v && typeof v === 'object' && !Array.isArray(v) && Object.hasOwn(v, s.key)) {
          v = (v as Record<string, unknown>)[s.key];
        } else {
          return missing;
        }
        break;
      }
      case 'count':
        if (!Array.isArray(v)) return missing;
        v = v.length;
        break;
      case 'each': {
        if (!Array.isArray(v)) return missing;
        const rest = segs.slice(i + 1);
        return v.map((e) => walk(e, rest)).filter((e) => e !== missing);
      }
      case 'query': {
        if (!Array.isArray(v)) return missing;
        const q = s.q;
        const test = (e: unknown) => {
          const field = q.field === '' ? e : walk(e, parseFieldPath(q.field));
          return compare(field === missing ? undefined : field, q.op, q.value);
        };
        if (q.all) {
          const rest = segs.slice(i + 1);
          const matches = v.filter(test);
          return rest.length ? matches.map((e) => walk(e, rest)).filter((e) => e !== missing) : matches;
        }
        const found = v.find(test);
        if (found === undefined) return missing;
        v = found;
        break;
      }
    }
  }
  return v;
}

/** The value at `path` rendered as a string; throws FieldPathError when the path does not resolve. */
export function readFieldPath(obj: unknown, path: string): string {
  const v = walk(obj, parseFieldPath(path));
  if (v === missing) throw new FieldPathError(`field path ${path} does not resolve`);
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}
