// Go actions lexed as Go's text/template lexer does (lex.go, lexInsideAction), with the delimiters `{%` `%}`.
//
// Pure module: the host runs it on tenant text (dialect detection) and QuickJS runs it inside the sandbox (the
// Go shorthand). No Node built-ins, no host globals, every loop linear in the input length.

const CH_TAB = 9;
const CH_LF = 10;
const CH_CR = 13;
const CH_SPACE = 32;

/** Go's `isSpace` in text/template's lexer: space, tab, CR, LF. */
export function isGoSpace(c: number): boolean {
  return c === CH_SPACE || c === CH_TAB || c === CH_CR || c === CH_LF;
}

export type GoTokenKind =
  | 'space'
  | 'field'
  | 'dot'
  | 'variable'
  | 'identifier'
  | 'keyword'
  | 'bool'
  | 'nil'
  | 'string'
  | 'rawString'
  | 'char'
  | 'number'
  | 'pipe'
  | 'leftParen'
  | 'rightParen'
  | 'assign'
  | 'declare'
  | 'comma'
  | 'other';

export interface GoToken {
  readonly kind: GoTokenKind;
  readonly text: string;
  readonly pos: number;
}

export interface GoActionLex {
  readonly tokens: GoToken[];
  /** Index just after the action (after `%}` when lexing up to the delimiter). */
  readonly end: number;
  /** The action ended with ` -%}`. */
  readonly rightTrim: boolean;
  readonly error?: string;
}

export const GO_KEYWORDS: ReadonlySet<string> = new Set([
  'block',
  'break',
  'continue',
  'define',
  'else',
  'end',
  'if',
  'range',
  'template',
  'with',
]);

const LETTER_OR_DIGIT = /^[\p{L}\p{Nd}]$/u;

export function isGoAlphaNumeric(ch: string | undefined): boolean {
  if (ch === undefined || ch === '') return false;
  const c = ch.charCodeAt(0);
  if (c < 128) {
    return c === 95 || (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  }
  return LETTER_OR_DIGIT.test(ch);
}

function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '9';
}

/** Go's right delimiter with a trim marker: one space, `-`, `%}`. */
export function hasRightTrimMarker(src: string, p: number): boolean {
  return isGoSpace(src.charCodeAt(p)) && src[p + 1] === '-' && src.startsWith('%}', p + 2);
}

function scanNumber(src: string, p: number): number {
  let i = p;
  if (src[i] === '+' || src[i] === '-') i++;
  let digits = '0123456789_';
  if (src[i] === '0') {
    const x = src[i + 1];
    if (x === 'x' || x === 'X') {
      digits = '0123456789abcdefABCDEF_';
      i += 2;
    } else if (x === 'o' || x === 'O') {
      digits = '01234567_';
      i += 2;
    } else if (x === 'b' || x === 'B') {
      digits = '01_';
      i += 2;
    }
  }
  const start = i;
  const run = (set: string): void => {
    while (i < src.length && set.includes(src[i] as string)) i++;
  };
  run(digits);
  if (src[i] === '.') {
    i++;
    run(digits);
  }
  if (i === start) return -1;
  const e = src[i];
  if (
    (digits.length === 11 && (e === 'e' || e === 'E')) ||
    (digits.length === 23 && (e === 'p' || e === 'P'))
  ) {
    i++;
    if (src[i] === '+' || src[i] === '-') i++;
    run('0123456789_');
  }
  if (src[i] === 'i') i++;
  if (isGoAlphaNumeric(src[i])) return -1;
  return i;
}

/**
 * Lexes one Go action starting at `start` (just after `{%` and any trim marker). With `untilDelimiter`, it stops
 * at `%}` or ` -%}`; without, at the end of `src` (used on a tag's content for dialect detection).
 */
export function lexGoAction(src: string, start: number, untilDelimiter: boolean): GoActionLex {
  const tokens: GoToken[] = [];
  const len = src.length;
  let p = start;
  let depth = 0;
  const fail = (error: string): GoActionLex => ({ tokens, end: p, rightTrim: false, error });
  const atTerminator = (i: number): boolean => {
    if (i >= len) return true;
    const c = src[i] as string;
    if (isGoSpace(c.charCodeAt(0)) || '.,|:()'.includes(c)) return true;
    return untilDelimiter && src.startsWith('%}', i);
  };
  for (;;) {
    if (untilDelimiter) {
      if (hasRightTrimMarker(src, p)) return { tokens, end: p + 4, rightTrim: true };
      if (src.startsWith('%}', p)) {
        if (depth > 0) return fail('unclosed left paren');
        return { tokens, end: p + 2, rightTrim: false };
      }
    }
    if (p >= len) {
      if (untilDelimiter) return fail('unclosed action');
      if (depth > 0) return fail('unclosed left paren');
      return { tokens, end: p, rightTrim: false };
    }
    const ch = src[p] as string;
    const c = src.charCodeAt(p);
    const from = p;
    if (isGoSpace(c)) {
      while (p < len && isGoSpace(src.charCodeAt(p))) p++;
      // Leave the space of a ` -%}` to the delimiter check.
      if (untilDelimiter && src[p] === '-' && src.startsWith('%}', p + 1)) p--;
      if (p > from) tokens.push({ kind: 'space', text: src.slice(from, p), pos: from });
      continue;
    }
    if (ch === '=') {
      tokens.push({ kind: 'assign', text: '=', pos: p++ });
      continue;
    }
    if (ch === ':') {
      if (src[p + 1] !== '=') return fail('expected :=');
      tokens.push({ kind: 'declare', text: ':=', pos: p });
      p += 2;
      continue;
    }
    if (ch === '|') {
      tokens.push({ kind: 'pipe', text: '|', pos: p++ });
      continue;
    }
    if (ch === '"' || ch === "'") {
      let i = p + 1;
      for (;;) {
        if (i >= len)
          return fail(ch === '"' ? 'unterminated quoted string' : 'unterminated character constant');
        const d = src[i];
        if (d === '\\') {
          if (i + 1 >= len || src[i + 1] === '\n') {
            return fail(ch === '"' ? 'unterminated quoted string' : 'unterminated character constant');
          }
          i += 2;
          continue;
        }
        if (d === '\n')
          return fail(ch === '"' ? 'unterminated quoted string' : 'unterminated character constant');
        i++;
        if (d === ch) break;
      }
      tokens.push({ kind: ch === '"' ? 'string' : 'char', text: src.slice(p, i), pos: p });
      p = i;
      continue;
    }
    if (ch === '`') {
      const close = src.indexOf('`', p + 1);
      if (close < 0) return fail('unterminated raw quoted string');
      tokens.push({ kind: 'rawString', text: src.slice(p, close + 1), pos: p });
      p = close + 1;
      continue;
    }
    if (ch === '$') {
      let i = p + 1;
      while (i < len && isGoAlphaNumeric(src[i])) i++;
      if (!atTerminator(i)) return fail(`bad character ${JSON.stringify(src[i])}`);
      tokens.push({ kind: 'variable', text: src.slice(p, i), pos: p });
      p = i;
      continue;
    }
    if (ch === '.' && !isDigit(src[p + 1])) {
      let i = p + 1;
      while (i < len && isGoAlphaNumeric(src[i])) i++;
      if (i === p + 1) {
        tokens.push({ kind: 'dot', text: '.', pos: p });
        p = i;
        continue;
      }
      if (!atTerminator(i)) return fail(`bad character ${JSON.stringify(src[i])}`);
      tokens.push({ kind: 'field', text: src.slice(p, i), pos: p });
      p = i;
      continue;
    }
    if (ch === '+' || ch === '-' || ch === '.' || isDigit(ch)) {
      const i = scanNumber(src, p);
      if (i < 0) return fail(`bad number syntax: ${JSON.stringify(src.slice(p, p + 10))}`);
      tokens.push({ kind: 'number', text: src.slice(p, i), pos: p });
      p = i;
      continue;
    }
    if (isGoAlphaNumeric(ch)) {
      let i = p + 1;
      while (i < len && isGoAlphaNumeric(src[i])) i++;
      if (!atTerminator(i)) return fail(`bad character ${JSON.stringify(src[i])}`);
      const word = src.slice(p, i);
      const kind: GoTokenKind = GO_KEYWORDS.has(word)
        ? 'keyword'
        : word === 'true' || word === 'false'
          ? 'bool'
          : word === 'nil'
            ? 'nil'
            : 'identifier';
      tokens.push({ kind, text: word, pos: p });
      p = i;
      continue;
    }
    if (ch === '(') {
      depth++;
      tokens.push({ kind: 'leftParen', text: ch, pos: p++ });
      continue;
    }
    if (ch === ')') {
      depth--;
      if (depth < 0) return fail('unexpected right paren');
      tokens.push({ kind: 'rightParen', text: ch, pos: p++ });
      continue;
    }
    if (ch === ',') {
      tokens.push({ kind: 'comma', text: ch, pos: p++ });
      continue;
    }
    if (c > 32 && c < 127) {
      tokens.push({ kind: 'other', text: ch, pos: p++ });
      continue;
    }
    return fail(`unrecognized character in action: U+${c.toString(16).toUpperCase().padStart(4, '0')}`);
  }
}

/** Tokens that are not spaces. */
export function significantTokens(tokens: readonly GoToken[]): GoToken[] {
  return tokens.filter((t) => t.kind !== 'space');
}
