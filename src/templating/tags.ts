// Finding the `{% ... %}` tags of a template the way eta's parser finds them, for dialect detection.
// Runs on the host on tenant text: every loop is linear in the input length (no backtracking regular
// expressions), and whitespace runs are examined once.

export type TrimMarker = '' | '-' | '_';
export type TagPrefix = '' | '=' | '~';

/** A tag as eta's parser finds it: `{%` [trim] [ws] [= or ~] [ws] content [ws] [trim] `%}`. */
export interface ScannedTag {
  /** Index of `{%`. */
  readonly start: number;
  /** Index just after `%}` (the template length when the tag is not closed). */
  readonly end: number;
  /** 1-based line of `{%`. */
  readonly line: number;
  readonly openTrim: TrimMarker;
  readonly closeTrim: TrimMarker;
  readonly prefix: TagPrefix;
  /** The text between the markers, without surrounding whitespace. */
  readonly content: string;
  readonly closed: boolean;
}

const CH_TAB = 9;
const CH_LF = 10;
const CH_CR = 13;
const CH_SPACE = 32;
const CH_DQUOTE = 34;
const CH_SQUOTE = 39;
const CH_STAR = 42;
const CH_SLASH = 47;
const CH_BACKSLASH = 92;
const CH_BACKTICK = 96;

/** Same set as `\s` in a JavaScript regular expression (what eta's tag regexes use). */
export function isJsSpace(c: number): boolean {
  if (c === CH_SPACE || (c >= CH_TAB && c <= CH_CR)) return true;
  if (c < 0xa0) return false;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/** Index just after the closing quote of the string starting at `q`, or -1 (newline or end reached first). */
function skipQuoted(src: string, q: number, quote: number): number {
  let i = q + 1;
  while (i < src.length) {
    const c = src.charCodeAt(i);
    if (c === CH_BACKSLASH) {
      i += 2;
      continue;
    }
    if (c === quote) return i + 1;
    if (c === CH_LF || c === CH_CR) return -1;
    i++;
  }
  return -1;
}

/** Index just after the closing backtick of the template literal starting at `q`, or -1. */
function skipTemplateLiteral(src: string, q: number): number {
  let i = q + 1;
  let braceDepth = 0;
  while (i < src.length) {
    const c = src.charCodeAt(i);
    if (c === CH_BACKSLASH) {
      i += 2;
      continue;
    }
    if (braceDepth === 0) {
      if (c === CH_BACKTICK) return i + 1;
      if (c === 36 /* $ */ && src.charCodeAt(i + 1) === 123 /* { */) {
        braceDepth = 1;
        i += 2;
        continue;
      }
    } else if (c === 123) braceDepth++;
    else if (c === 125) braceDepth--;
    i++;
  }
  return -1;
}

function countNewlines(src: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (src.charCodeAt(i) === CH_LF) n++;
  return n;
}

/**
 * All tags of a template, found the way eta 4.6's parser finds them (tags `{%` `%}`, prefixes `=`/`~`, trim
 * markers `-`/`_`, strings and `/* *\/` comments skipped while looking for `%}`). Scanning stops at the first
 * tag that is not closed (returned with `closed: false`).
 */
export function scanTags(src: string): ScannedTag[] {
  const tags: ScannedTag[] = [];
  const len = src.length;
  let pos = 0;
  let line = 1;
  let lineCountedTo = 0;
  for (;;) {
    const open = src.indexOf('{%', pos);
    if (open < 0) break;
    line += countNewlines(src, lineCountedTo, open);
    lineCountedTo = open;
    let p = open + 2;
    let openTrim: TrimMarker = '';
    const marker = src[p];
    if (marker === '-' || marker === '_') {
      openTrim = marker;
      p++;
    }
    while (p < len && isJsSpace(src.charCodeAt(p))) p++;
    let prefix: TagPrefix = '';
    const pre = src[p];
    if (pre === '=' || pre === '~') {
      prefix = pre;
      p++;
      while (p < len && isJsSpace(src.charCodeAt(p))) p++;
    }
    const contentStart = p;
    let q = p;
    let contentEnd = -1;
    let closeTrim: TrimMarker = '';
    let end = len;
    while (q < len) {
      const c = src.charCodeAt(q);
      if (c === CH_SQUOTE || c === CH_DQUOTE || c === CH_BACKTICK) {
        const after = c === CH_BACKTICK ? skipTemplateLiteral(src, q) : skipQuoted(src, q, c);
        if (after < 0) break;
        q = after;
        continue;
      }
      if (c === CH_SLASH && src.charCodeAt(q + 1) === CH_STAR) {
        const close = src.indexOf('*/', q + 2);
        if (close < 0) break;
        q = close + 2;
        continue;
      }
      // The closing `\s*(-|_)?%}`. A whitespace run is examined once: every position inside it sees the same
      // tail, so a failed match at its start fails for all of them (this keeps the scan linear).
      let r = q;
      while (r < len && isJsSpace(src.charCodeAt(r))) r++;
      let m = r;
      let trim: TrimMarker = '';
      const t = src[m];
      if ((t === '-' || t === '_') && src.startsWith('%}', m + 1)) {
        trim = t;
        m++;
      }
      if (src.startsWith('%}', m)) {
        contentEnd = q;
        closeTrim = trim;
        end = m + 2;
        break;
      }
      q = r > q ? r : q + 1;
    }
    if (contentEnd < 0) {
      tags.push({
        start: open,
        end: len,
        line,
        openTrim,
        closeTrim: '',
        prefix,
        content: src.slice(contentStart).trimEnd(),
        closed: false,
      });
      break;
    }
    tags.push({
      start: open,
      end,
      line,
      openTrim,
      closeTrim,
      prefix,
      content: src.slice(contentStart, contentEnd),
      closed: true,
    });
    pos = end;
  }
  return tags;
}
