// The Go operator's shorthand `{% .a.b.c %}`: a path lookup, no evaluation. Runs INSIDE the sandbox.
//
// This is the stand-in for the full Go text/template + sprig engine (src/templating/go/engine.ts, written
// separately) and has the same signature, so replacing it is a one-line change in ./go-dialect.ts. Everything
// but a lone path (`.a.b`, `.`) and comments fails at parse time, before any output, as Go parses the whole
// template first; the error shows how to write the action in eta.
//
// Pure module: no Node built-ins, no host globals.

import { unsupportedGoActionMessage } from './go-eta-hints.ts';
import { type GoToken, hasRightTrimMarker, isGoSpace, lexGoAction, significantTokens } from './go-lexer.ts';

// Captured when the module is evaluated, before any tenant code of the same context runs.
const hasOwn = Object.hasOwn;
const isArray = Array.isArray;
const objectKeys = Object.keys;

export type GoErrorCode = 'TemplateSyntax' | 'TemplateRuntime' | 'TemplateUnsupported';

/** Errors of the Go dialect carry a `code` the sandbox runner passes on (the full engine may do the same). */
export class GoTemplateError extends Error {
  override name = 'GoTemplateError';
  readonly code: GoErrorCode;
  constructor(code: GoErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export interface GoRenderResult {
  output: string;
  /** Paths that did not resolve, e.g. `.plugConfig.foo` (rendered as ""). */
  missingKeys: string[];
}

type Node = { kind: 'text'; text: string } | { kind: 'path'; path: string[]; line: number };

const GO_SPACES = ' \t\r\n';

function trimLeftGo(s: string): string {
  let i = 0;
  while (i < s.length && GO_SPACES.includes(s[i] as string)) i++;
  return s.slice(i);
}

function trimRightGo(s: string): string {
  let i = s.length;
  while (i > 0 && GO_SPACES.includes(s[i - 1] as string)) i--;
  return s.slice(0, i);
}

function lineAt(src: string, index: number, from: { pos: number; line: number }): number {
  for (let i = from.pos; i < index; i++) if (src.charCodeAt(i) === 10) from.line++;
  from.pos = index;
  return from.line;
}

/** `.` → [], `.a.b` (Go lexes it as the adjacent fields `.a` `.b`) → ['a', 'b']; anything else → undefined. */
function pathOf(tokens: readonly GoToken[]): string[] | undefined {
  const first = tokens[0];
  if (tokens.length === 1 && first?.kind === 'dot') return [];
  const path: string[] = [];
  let expected = first?.pos ?? 0;
  for (const t of tokens) {
    if (t.kind !== 'field' || t.pos !== expected) return undefined;
    path.push(t.text.slice(1));
    expected = t.pos + t.text.length;
  }
  return path;
}

function parse(src: string): Node[] {
  const nodes: Node[] = [];
  const cursor = { pos: 0, line: 1 };
  let pos = 0;
  let trimNextText = false;
  for (;;) {
    const open = src.indexOf('{%', pos);
    let text = src.slice(pos, open < 0 ? src.length : open);
    if (trimNextText) text = trimLeftGo(text);
    if (open < 0) {
      if (text) nodes.push({ kind: 'text', text });
      return nodes;
    }
    const line = lineAt(src, open, cursor);
    let p = open + 2;
    // Go's left trim marker is `-` followed by a space; it removes all whitespace before the action.
    if (src[p] === '-' && isGoSpace(src.charCodeAt(p + 1))) {
      text = trimRightGo(text);
      p += 2;
    }
    if (text) nodes.push({ kind: 'text', text });
    if (src.startsWith('/*', p)) {
      const close = src.indexOf('*/', p + 2);
      if (close < 0) throw new GoTemplateError('TemplateSyntax', `line ${line}: unclosed comment`);
      let q = close + 2;
      if (hasRightTrimMarker(src, q)) {
        q += 4;
        trimNextText = true;
      } else if (src.startsWith('%}', q)) {
        q += 2;
        trimNextText = false;
      } else {
        throw new GoTemplateError('TemplateSyntax', `line ${line}: comment ends before closing delimiter`);
      }
      pos = q;
      continue;
    }
    const lexed = lexGoAction(src, p, true);
    if (lexed.error !== undefined)
      throw new GoTemplateError('TemplateSyntax', `line ${line}: ${lexed.error}`);
    const tokens = significantTokens(lexed.tokens);
    if (tokens.length === 0)
      throw new GoTemplateError('TemplateSyntax', `line ${line}: missing value for command`);
    const path = pathOf(tokens);
    if (!path)
      throw new GoTemplateError('TemplateUnsupported', `line ${line}: ${unsupportedGoActionMessage(tokens)}`);
    nodes.push({ kind: 'path', path, line });
    trimNextText = lexed.rightTrim;
    pos = lexed.end;
  }
}

function goTypeName(v: unknown): string {
  if (isArray(v)) return '[]interface {}';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'boolean') return 'bool';
  return 'interface {}';
}

// Integers print as integers below 1e21 (Go printed float64 data from 1e6 up as `1e+06`; SPEC.md changes that on
// purpose); other numbers print as JavaScript does (`0.5`, `1e+21`).
function formatNumber(n: number): string {
  return String(n);
}

/** Go's `%v` of JSON-decoded data: maps with sorted keys, slices space-separated, nil inside as <nil>. */
function formatValue(v: unknown, nested: boolean): string {
  if (v === null || v === undefined) return nested ? '<nil>' : '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (isArray(v)) {
    let s = '[';
    for (let i = 0; i < v.length; i++) s += (i ? ' ' : '') + formatValue(v[i], true);
    return `${s}]`;
  }
  if (typeof v === 'object') {
    const keys = objectKeys(v).sort();
    let s = 'map[';
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as string;
      s += `${i ? ' ' : ''}${k}:${formatValue((v as Record<string, unknown>)[k], true)}`;
    }
    return `${s}]`;
  }
  return '';
}

const MISSING = Symbol('missing');

function lookup(data: unknown, path: readonly string[], line: number): unknown {
  let v: unknown = data;
  for (let i = 0; i < path.length; i++) {
    const key = path[i] as string;
    // A nil intermediate (missing or JSON null) is a missing key here; Go failed with "nil pointer evaluating".
    if (v === null || v === undefined) return MISSING;
    if (typeof v !== 'object' || isArray(v)) {
      const at = path.slice(0, i).join('.');
      throw new GoTemplateError(
        'TemplateRuntime',
        `line ${line}: can't evaluate field ${key} in type ${goTypeName(v)} (at .${at})`,
      );
    }
    // Own properties only: `.constructor` or `.__proto__` are missing keys, never JavaScript internals.
    if (!hasOwn(v, key)) return MISSING;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/**
 * Renders a template of the Go dialect. Same contract as the full engine: throws an Error (here a
 * GoTemplateError with a `code`) with a clear message on template errors.
 */
export function renderGoTemplate(src: string, data: unknown, _opts: { seed: string }): GoRenderResult {
  const nodes = parse(src);
  let output = '';
  const missingKeys: string[] = [];
  for (const node of nodes) {
    if (node.kind === 'text') {
      output += node.text;
      continue;
    }
    const value = lookup(data, node.path, node.line);
    if (value === MISSING) {
      const name = `.${node.path.join('.')}`;
      if (!missingKeys.includes(name)) missingKeys.push(name);
      continue;
    }
    output += formatValue(value, false);
  }
  return { output, missingKeys };
}
