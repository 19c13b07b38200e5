// Which part of the data a render can read, so that only that part is serialised, posted to a sandbox
// worker and parsed there. A socket's template that names only `.plug.metadata.name` and `.socketConfig`
// does not need the socket object (its spec, managed fields and a status listing up to 100 plugs): sending
// it anyway tripled the cost of each render (bench: 3.2 ms of CPU per Job template with the socket, 1.3
// ms without).
//
// Pruning never changes what a template renders: a template can only read data through the names it
// writes, and whatever it reaches through a name is kept whole. The rules, from the tags (dialect.ts):
// - Go dialect: a bare `.` or `$` (the whole data, e.g. `toJson .`, `index . "socket"`) needs everything;
//   otherwise each field chain (`.plug.metadata.name`, `$.socket.metadata`) keeps exactly that path, the
//   value at its end whole (see goNeeds for why that holds inside `with`, `range` and variables too).
// - eta: data is `it`; every `it` must be followed by `.name` (or `?.name`), which keeps that top-level key
//   whole. Any other use of `it` (`it[k]`, `f(it)`), `arguments` or `eval` needs everything.
// - A template without tags needs nothing.

import type { TemplateAnalysis } from './dialect.ts';
import type { GoToken } from './sandbox/go-lexer.ts';

/** A set of paths into the data: a node marked `whole` keeps its value as it is. */
export interface DataNeeds {
  whole: boolean;
  children: Map<string, DataNeeds>;
}

const node = (): DataNeeds => ({ whole: false, children: new Map() });

/** Everything: the data is sent as it is. */
export const ALL_DATA: DataNeeds = { whole: true, children: new Map() };

function addPath(root: DataNeeds, path: readonly string[]): void {
  let n = root;
  for (const key of path) {
    if (n.whole) return;
    let child = n.children.get(key);
    if (!child) {
      child = node();
      n.children.set(key, child);
    }
    n = child;
  }
  n.whole = true;
  n.children.clear();
}

/** `b` starts where `a` ends: `.a.b` is one chain, `.a .b` two arguments. */
export const glued = (a: GoToken | undefined, b: GoToken): boolean =>
  a !== undefined && a.pos + a.text.length === b.pos;

/**
 * Adds what a Go template reads; false when it may read anything. A template reaches the data only
 * through the dot at the top level or `$`: a chain `.a.b` or `$.a.b` yields the value at its end,
 * which is kept whole, so every value the template holds afterwards (in a variable, as the dot of a
 * `with`/`range`/`template`, from a function) comes from a whole value. A chain inside such a scope
 * (`{% with .plug %}{% .metadata.name %}`) is also taken as a path from the root: one that is not
 * there keeps nothing.
 */
function goNeeds(analysis: TemplateAnalysis, into: DataNeeds): boolean {
  for (const t of analysis.tags) {
    if (t.dialect === 'neutral' || t.dialect === 'go-comment') continue;
    if (t.dialect !== 'go' || !t.goTokens) return false;
    const tokens = t.goTokens;
    for (let i = 0; i < tokens.length; i++) {
      const tok = tokens[i] as GoToken;
      if (tok.kind === 'dot') return false;
      if (tok.kind === 'variable' && tok.text === '$') {
        const next = tokens[i + 1];
        if (!(next?.kind === 'field' && glued(tok, next))) return false;
        continue;
      }
      if (tok.kind !== 'field') continue;
      // A field glued to `)` or to a variable other than `$` reads that value, not the data.
      const prev = tokens[i - 1];
      if (
        prev &&
        glued(prev, tok) &&
        (prev.kind === 'rightParen' || prev.kind === 'variable') &&
        prev.text !== '$'
      )
        continue;
      const path = [tok.text.slice(1)];
      while (tokens[i + 1]?.kind === 'field' && glued(tokens[i], tokens[i + 1] as GoToken)) {
        i++;
        path.push((tokens[i] as GoToken).text.slice(1));
      }
      addPath(into, path);
    }
  }
  return true;
}

const IT = /(?<![\w$.])it(?![\w$])/g;
const AFTER_IT = /^\s*\??\.\s*([A-Za-z_$][\w$]*)/;
const ESCAPES = /(?<![\w$.])(?:arguments|eval)(?![\w$])/;

/** Adds what an eta template reads; false when it may read anything. */
function etaNeeds(analysis: TemplateAnalysis, into: DataNeeds): boolean {
  for (const { tag } of analysis.tags) {
    const code = tag.content;
    if (ESCAPES.test(code)) return false;
    for (const m of code.matchAll(IT)) {
      const after = AFTER_IT.exec(code.slice((m.index ?? 0) + 2));
      if (!after?.[1]) return false;
      addPath(into, [after[1]]);
    }
  }
  return true;
}

/** What a batch of templates (rendered over the same data) can read. */
export function dataNeeds(analyses: readonly TemplateAnalysis[]): DataNeeds {
  const needs = node();
  for (const a of analyses) {
    if (a.dialect === 'none') continue;
    const ok = a.dialect === 'go' ? goNeeds(a, needs) : etaNeeds(a, needs);
    if (!ok) return ALL_DATA;
  }
  return needs;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The part of `data` a render with these needs can read (the same object when it needs all of it). */
export function pruneData(data: unknown, needs: DataNeeds): unknown {
  if (needs.whole || !isPlainObject(data)) return data;
  const out: Record<string, unknown> = {};
  for (const [key, child] of needs.children) {
    if (Object.hasOwn(data, key)) out[key] = pruneData(data[key], child);
  }
  return out;
}
