// Which dialect a template is written in, decided from its tags (SPEC.md "Templating"), and the checks that
// only need the tags. Runs on the host, on tenant text: everything here is linear in the template length.

import { TemplateError } from './errors.ts';
import { FORBIDDEN_GO_FUNCTIONS } from './sandbox/go-eta-hints.ts';
import { type GoToken, lexGoAction, significantTokens } from './sandbox/go-lexer.ts';
import { type ScannedTag, scanTags } from './tags.ts';

export type Dialect = 'eta' | 'go' | 'none';

/**
 * What one tag says about the dialect: `go`/`eta` decide; `go-comment` (`{%/* *\/%}`, valid in both) leans to
 * Go when nothing decides; `neutral` (empty tag, a bare `break`/`continue`) says nothing.
 */
export type TagDialect = 'eta' | 'go' | 'go-comment' | 'neutral';

export interface ClassifiedTag {
  readonly tag: ScannedTag;
  readonly dialect: TagDialect;
  /** Significant Go tokens, when the tag lexes as a Go action. */
  readonly goTokens: readonly GoToken[] | undefined;
}

export interface TemplateAnalysis {
  readonly dialect: Dialect;
  readonly tags: readonly ClassifiedTag[];
  /** First tag of each dialect, when the template mixes them. */
  readonly mixed: { readonly go: ScannedTag; readonly eta: ScannedTag } | undefined;
}

// Identifiers that start JavaScript code and never a Go action (in Go they would be undefined functions).
const JS_WORDS: ReadonlySet<string> = new Set([
  'async',
  'await',
  'case',
  'catch',
  'class',
  'const',
  'debugger',
  'delete',
  'do',
  'export',
  'finally',
  'for',
  'function',
  'import',
  'in',
  'instanceof',
  'it',
  'let',
  'new',
  'of',
  'return',
  'super',
  'switch',
  'this',
  'throw',
  'try',
  'typeof',
  'var',
  'void',
  'while',
  'yield',
  'globalThis',
  'undefined',
  'output',
  'include',
  'includeAsync',
  'layout',
  'capture',
  'JSON',
  'Math',
  'Object',
  'String',
  'Number',
  'Array',
  'Date',
  'Boolean',
  'RegExp',
  'Symbol',
  'Promise',
  'Reflect',
  'Proxy',
  'Function',
  'Error',
  'Map',
  'Set',
  'console',
  'eval',
  'parseInt',
  'parseFloat',
]);

function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '9';
}

/** A Go comment: `/*` right after `{%`, or after `{%- ` (Go needs exactly that), ending at the delimiter. */
function isGoComment(src: string, tag: ScannedTag): boolean {
  const afterOpen = tag.openTrim === '-' ? tag.start + 4 : tag.start + 2;
  if (tag.openTrim === '-' && !' \t\r\n'.includes(src[tag.start + 3] ?? 'x')) return false;
  if (tag.openTrim === '_') return false;
  return src.startsWith('/*', afterOpen) && tag.content.startsWith('/*') && tag.content.endsWith('*/');
}

export function classifyTag(src: string, tag: ScannedTag): ClassifiedTag {
  const verdict = (dialect: TagDialect, goTokens?: readonly GoToken[]): ClassifiedTag => ({
    tag,
    dialect,
    goTokens,
  });
  if (tag.prefix !== '') return verdict('eta');
  const content = tag.content;
  if (content === '') return verdict('neutral');
  if (isGoComment(src, tag)) return verdict('go-comment');
  const lexed = lexGoAction(content, 0, false);
  const tokens = lexed.error === undefined ? significantTokens(lexed.tokens) : undefined;
  // Nothing in JavaScript starts with `.` (but a number) or, in practice, with `$`.
  if ((content[0] === '.' && !isDigit(content[1])) || content[0] === '$') return verdict('go', tokens);
  if (tag.openTrim === '_' || tag.closeTrim === '_' || tokens === undefined) return verdict('eta');
  if (tokens.some((t) => t.kind === 'other')) return verdict('eta');
  const first = tokens[0];
  if (!first) return verdict('neutral');
  if (first.kind === 'identifier' && JS_WORDS.has(first.text)) return verdict('eta');
  if (
    tokens.length === 1 &&
    first.kind === 'keyword' &&
    (first.text === 'break' || first.text === 'continue')
  ) {
    return verdict('neutral');
  }
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as GoToken;
    const next = tokens[i + 1];
    // `it.x`, `foo(`: a name glued to a field or a call is JavaScript (Go would need a space).
    if (
      t.kind === 'identifier' &&
      next &&
      next.pos === t.pos + t.text.length &&
      (next.kind === 'field' || next.kind === 'leftParen')
    ) {
      return verdict('eta');
    }
    // In Go only a variable is assigned to.
    if (t.kind === 'assign' && tokens[i - 1]?.kind !== 'variable') return verdict('eta');
  }
  return verdict('go', tokens);
}

export function analyzeTemplate(src: string): TemplateAnalysis {
  if (!src.includes('{%')) return { dialect: 'none', tags: [], mixed: undefined };
  const tags = scanTags(src).map((t) => classifyTag(src, t));
  let go: ScannedTag | undefined;
  let eta: ScannedTag | undefined;
  let comment = false;
  for (const t of tags) {
    if (t.dialect === 'go') go ??= t.tag;
    else if (t.dialect === 'eta') eta ??= t.tag;
    else if (t.dialect === 'go-comment') comment = true;
  }
  if (go && eta) return { dialect: 'go', tags, mixed: { go, eta } };
  const dialect: Dialect = go ? 'go' : eta ? 'eta' : comment ? 'go' : 'eta';
  return { dialect, tags, mixed: undefined };
}

function snippet(src: string, tag: ScannedTag): string {
  const text = src.slice(tag.start, tag.end).replace(/\s+/g, ' ');
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}

export function mixedDialectMessage(src: string, mixed: NonNullable<TemplateAnalysis['mixed']>): string {
  return (
    `the template mixes the Go dialect (line ${mixed.go.line}: ${snippet(src, mixed.go)}) and the eta dialect ` +
    `(line ${mixed.eta.line}: ${snippet(src, mixed.eta)}); write it in one of them ` +
    '(in eta, data is under `it`: {%= it.plugConfig.name %}; in Go: {% .plugConfig.name %})'
  );
}

/**
 * The dialect of a template: 'none' when it has no tags (render it as is), 'go' or 'eta' from its tags.
 * Throws TemplateError `TemplateDialectMixed` when it mixes both.
 */
export function detectDialect(src: string): Dialect {
  const analysis = analyzeTemplate(src);
  if (analysis.mixed)
    throw new TemplateError('TemplateDialectMixed', mixedDialectMessage(src, analysis.mixed));
  return analysis.dialect;
}

/** Why the renderer refuses a template before rendering it, and the tag that says so. */
export interface DialectProblem {
  readonly code: 'TemplateDialectMixed' | 'TemplateUnsupported';
  readonly message: string;
  readonly tag: ScannedTag;
}

/**
 * What is wrong with a template whatever its data: it mixes the dialects, or (Go) it calls a function that
 * would reach the environment, files or network. The renderer refuses such templates before any render, and
 * `kubectl integration check` reports them.
 */
export function dialectProblem(src: string, analysis: TemplateAnalysis): DialectProblem | undefined {
  if (analysis.mixed) {
    const { go, eta } = analysis.mixed;
    return {
      code: 'TemplateDialectMixed',
      message: mixedDialectMessage(src, analysis.mixed),
      tag: go.start > eta.start ? go : eta,
    };
  }
  if (analysis.dialect !== 'go') return undefined;
  const forbidden = findForbiddenGoCall(analysis);
  if (!forbidden) return undefined;
  return {
    code: 'TemplateUnsupported',
    message: `line ${forbidden.tag.line}: \`${forbidden.name}\` does not exist here: templates cannot read the operator's environment, files or network`,
    tag: forbidden.tag,
  };
}

/** A Go action that calls a function reaching the environment, files or network (`env "HOME"`), if any. */
export function findForbiddenGoCall(
  analysis: TemplateAnalysis,
): { tag: ScannedTag; name: string } | undefined {
  for (const t of analysis.tags) {
    const hit = t.goTokens?.find((tok) => tok.kind === 'identifier' && FORBIDDEN_GO_FUNCTIONS.has(tok.text));
    if (hit) return { tag: t.tag, name: hit.text };
  }
  return undefined;
}

const GO_BLOCK_OPENERS = new Set(['if', 'range', 'with', 'define', 'block']);

/**
 * Go blocks left open (`{% if %}` without `{% end %}`) or closed without being opened, for templates that are
 * one string of an object template: an action cannot span two strings.
 */
export function unbalancedGoBlock(
  analysis: TemplateAnalysis,
): { tag: ScannedTag; problem: string } | undefined {
  const open: ScannedTag[] = [];
  for (const t of analysis.tags) {
    const head = t.goTokens?.[0];
    if (t.dialect !== 'go' || head?.kind !== 'keyword') continue;
    if (GO_BLOCK_OPENERS.has(head.text)) open.push(t.tag);
    else if (head.text === 'end' && !open.pop())
      return { tag: t.tag, problem: '`{% end %}` closes a block this string did not open' };
  }
  const first = open[0];
  return first
    ? { tag: first, problem: 'a block opened here is not closed by `{% end %}` in the same string' }
    : undefined;
}

/** `{` minus `}` in the code tags (`{% ... %}`) of an eta template, outside strings and comments. */
export function etaBraceBalance(analysis: TemplateAnalysis): number {
  let balance = 0;
  for (const { tag } of analysis.tags) {
    if (tag.prefix !== '') continue;
    const s = tag.content;
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      if (c === '"' || c === "'" || c === '`') {
        const close = s.indexOf(c, i + 1);
        i = close < 0 ? s.length : close;
      } else if (c === '/' && s[i + 1] === '*') {
        const close = s.indexOf('*/', i + 2);
        i = close < 0 ? s.length : close + 1;
      } else if (c === '/' && s[i + 1] === '/') {
        const close = s.indexOf('\n', i + 2);
        i = close < 0 ? s.length : close;
      } else if (c === '{') balance++;
      else if (c === '}') balance--;
    }
  }
  return balance;
}
