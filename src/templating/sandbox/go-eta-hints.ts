// How to write an unsupported Go action in eta: the text of the "not supported yet" errors of the Go shorthand.
// Pure module (runs inside QuickJS). Best effort: when a translation is not obvious, the message says so
// instead of guessing.

import type { GoToken } from './go-lexer.ts';

/** Functions that reach the operator's environment, files or network: they do not exist, in any dialect. */
export const FORBIDDEN_GO_FUNCTIONS: ReadonlySet<string> = new Set(['env', 'expandenv', 'getHostByName']);

type Translate = (args: string[]) => string | null;

const one =
  (f: (x: string) => string): Translate =>
  (a) =>
    a.length === 1 ? f(a[0] as string) : null;
const two =
  (f: (x: string, y: string) => string): Translate =>
  (a) =>
    a.length === 2 ? f(a[0] as string, a[1] as string) : null;

// Go passes the piped value as the LAST argument, so `.x | default "a"` is default("a", it.x).
const FUNCTIONS: Record<string, Translate> = {
  quote: one((x) => `JSON.stringify(${x})`),
  squote: one((x) => `"'" + ${x} + "'"`),
  toJson: one((x) => `JSON.stringify(${x})`),
  toRawJson: one((x) => `JSON.stringify(${x})`),
  mustToJson: one((x) => `JSON.stringify(${x})`),
  toPrettyJson: one((x) => `JSON.stringify(${x}, null, 2)`),
  toYaml: one((x) => `JSON.stringify(${x})`),
  upper: one((x) => `String(${x}).toUpperCase()`),
  lower: one((x) => `String(${x}).toLowerCase()`),
  trim: one((x) => `String(${x}).trim()`),
  toString: one((x) => `String(${x})`),
  int: one((x) => `Math.trunc(Number(${x}))`),
  int64: one((x) => `Math.trunc(Number(${x}))`),
  atoi: one((x) => `Math.trunc(Number(${x}))`),
  float64: one((x) => `Number(${x})`),
  len: one((x) => `${x}.length`),
  not: one((x) => `!${x}`),
  default: two((d, x) => `(${x} || ${d})`),
  indent: two((n, x) => `String(${x}).replace(/^/gm, " ".repeat(${n}))`),
  nindent: two((n, x) => `"\\n" + String(${x}).replace(/^/gm, " ".repeat(${n}))`),
  join: two((sep, list) => `${list}.join(${sep})`),
  hasPrefix: two((p, s) => `String(${s}).startsWith(${p})`),
  hasSuffix: two((p, s) => `String(${s}).endsWith(${p})`),
  contains: two((p, s) => `String(${s}).includes(${p})`),
  eq: two((a, b) => `${a} === ${b}`),
  ne: two((a, b) => `${a} !== ${b}`),
  lt: two((a, b) => `${a} < ${b}`),
  le: two((a, b) => `${a} <= ${b}`),
  gt: two((a, b) => `${a} > ${b}`),
  ge: two((a, b) => `${a} >= ${b}`),
  and: (a) => (a.length >= 2 ? a.join(' && ') : null),
  or: (a) => (a.length >= 2 ? a.join(' || ') : null),
  replace: (a) => (a.length === 3 ? `String(${a[2]}).replaceAll(${a[0]}, ${a[1]})` : null),
  print: (a) => (a.length > 0 ? a.map((x) => `String(${x})`).join(' + ') : null),
};

const OPERAND_KINDS = new Set(['field', 'dot', 'variable', 'string', 'rawString', 'number', 'bool', 'nil']);

function operandToJs(t: GoToken): string | null {
  switch (t.kind) {
    case 'field':
      return `it${t.text}`;
    case 'dot':
      return 'it';
    case 'variable':
      return t.text === '$' ? 'it' : t.text.slice(1);
    case 'string':
    case 'number':
    case 'bool':
      return t.text;
    case 'rawString':
      return JSON.stringify(t.text.slice(1, -1));
    case 'nil':
      return 'null';
    default:
      return null;
  }
}

/** Groups `$x` `.a` written without space into one term (`$x.a`), as Go's parser chains them. */
function terms(tokens: readonly GoToken[]): GoToken[][] {
  const out: GoToken[][] = [];
  for (const t of tokens) {
    const last = out[out.length - 1];
    const prev = last?.[last.length - 1];
    if (last && prev && t.kind === 'field' && prev.pos + prev.text.length === t.pos) last.push(t);
    else out.push([t]);
  }
  return out;
}

function termToJs(term: readonly GoToken[]): string | null {
  const [head, ...rest] = term;
  if (!head || !OPERAND_KINDS.has(head.kind)) return null;
  let js = operandToJs(head);
  if (js === null) return null;
  for (const f of rest) js += f.text;
  return js;
}

/** A command: a lone operand, or a function name followed by operands (plus the piped value). */
function commandToJs(tokens: readonly GoToken[], piped: string | null): string | null {
  const ts = terms(tokens);
  const first = ts[0];
  if (!first) return null;
  const head = first[0];
  if (head?.kind === 'identifier' && first.length === 1) {
    const fn = FUNCTIONS[head.text];
    if (!fn) return null;
    const args: string[] = [];
    for (const t of ts.slice(1)) {
      const js = termToJs(t);
      if (js === null) return null;
      args.push(js);
    }
    if (piped !== null) args.push(piped);
    return fn(args);
  }
  if (ts.length !== 1 || piped !== null) return null;
  return termToJs(first);
}

/** The JavaScript for a Go pipeline (`.x | quote`, `default "a" .b`), or null when there is no simple one. */
export function pipelineToJs(tokens: readonly GoToken[]): string | null {
  const commands: GoToken[][] = [[]];
  for (const t of tokens) {
    if (t.kind === 'pipe') commands.push([]);
    else commands[commands.length - 1]?.push(t);
  }
  let js: string | null = null;
  for (const c of commands) {
    js = commandToJs(c, js);
    if (js === null) return null;
  }
  return js;
}

function firstFunctionName(tokens: readonly GoToken[]): string | undefined {
  return tokens.find((t) => t.kind === 'identifier')?.text;
}

const GENERIC = 'write it in eta instead (data is under `it`, e.g. {%= it.plugConfig.name %})';

/**
 * The message for a Go action the shorthand does not support, with the eta spelling where one is known.
 * `tokens` are the significant tokens of the action.
 */
export function unsupportedGoActionMessage(tokens: readonly GoToken[]): string {
  const forbidden = tokens.find((t) => t.kind === 'identifier' && FORBIDDEN_GO_FUNCTIONS.has(t.text));
  if (forbidden) {
    return `\`${forbidden.text}\` does not exist here: templates cannot read the operator's environment, files or network`;
  }
  const head = tokens[0];
  if (!head) return 'empty Go action';
  if (head.kind === 'keyword') {
    const rest = tokens.slice(1);
    switch (head.text) {
      case 'if': {
        const cond = pipelineToJs(rest);
        return `Go \`if\` is not supported yet; in eta write {% if (${cond ?? '…'}) { %} … {% } %}`;
      }
      case 'else': {
        if (rest[0]?.kind === 'keyword' && rest[0].text === 'if') {
          const cond = pipelineToJs(rest.slice(1));
          return `Go \`else if\` is not supported yet; in eta write {% } else if (${cond ?? '…'}) { %}`;
        }
        return 'Go `else` is not supported yet; in eta write {% } else { %}';
      }
      case 'end':
        return 'Go `end` is not supported yet; in eta close the block with {% } %}';
      case 'range': {
        const declare = rest.findIndex((t) => t.kind === 'declare');
        const vars = declare >= 0 ? rest.slice(0, declare).filter((t) => t.kind === 'variable') : [];
        const list = pipelineToJs(declare >= 0 ? rest.slice(declare + 1) : rest) ?? '…';
        const loop =
          vars.length === 2
            ? `for (const [${vars[0]?.text.slice(1)}, ${vars[1]?.text.slice(1)}] of Object.entries(${list}))`
            : `for (const ${vars[0]?.text.slice(1) ?? 'item'} of ${list})`;
        return `Go \`range\` is not supported yet; in eta write {% ${loop} { %} … {% } %}`;
      }
      case 'with': {
        const value = pipelineToJs(rest) ?? '…';
        return `Go \`with\` is not supported yet; in eta write {% if (${value}) { %} … {% } %} and use ${value} where Go used .`;
      }
      case 'break':
      case 'continue':
        return `Go \`${head.text}\` is not supported yet; in eta write {% ${head.text} %} inside a for loop`;
      default:
        return `Go \`${head.text}\` (named templates) is not supported: write the text inline`;
    }
  }
  if (tokens.some((t) => t.kind === 'declare' || t.kind === 'assign')) {
    return 'Go variables are not supported yet; in eta write {% let name = … %} and use name';
  }
  const js = pipelineToJs(tokens);
  if (tokens.some((t) => t.kind === 'pipe')) {
    return js === null
      ? `Go pipelines are not supported yet; ${GENERIC}`
      : `Go pipelines are not supported yet; in eta write {%= ${js} %}`;
  }
  if (head.kind === 'identifier') {
    if (js !== null) return `Go function calls are not supported yet; in eta write {%= ${js} %}`;
    const name = firstFunctionName(tokens) ?? head.text;
    if (name === 'printf') {
      return `Go \`printf\` is not supported yet; in eta write a template literal, e.g. {%= \`\${it.a}-\${it.b}\` %}`;
    }
    return `Go function \`${name}\` is not supported yet; ${GENERIC}`;
  }
  if (head.kind === 'variable') {
    return js === null
      ? `Go variables are not supported yet; ${GENERIC}`
      : `Go variables are not supported yet; in eta write {%= ${js} %}`;
  }
  if (js !== null) return `this Go action is not supported yet; in eta write {%= ${js} %}`;
  return `this Go action is not supported yet; ${GENERIC}`;
}
