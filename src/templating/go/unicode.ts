// Go's unicode package predicates and simple case mappings, on code points, using JS Unicode property
// escapes (available in QuickJS). Go maps case rune by rune (simple mappings): "ß" stays "ß" under ToUpper.

const LETTER = /^\p{L}$/u;
const DIGIT = /^\p{Nd}$/u;
const NUMBER = /^\p{N}$/u;
const UPPER = /^\p{Lu}$/u;
const LOWER = /^\p{Ll}$/u;
const TITLE = /^\p{Lt}$/u;
const PUNCT = /^\p{P}$/u;
const PRINT = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
const WHITE_SPACE = /^\p{White_Space}$/u;

const ch = (r: number): string => String.fromCodePoint(r);

export function isLetter(r: number): boolean {
  if (r < 0x80) return (r >= 0x41 && r <= 0x5a) || (r >= 0x61 && r <= 0x7a);
  return LETTER.test(ch(r));
}
export function isDigit(r: number): boolean {
  if (r < 0x80) return r >= 0x30 && r <= 0x39;
  return DIGIT.test(ch(r));
}
export function isNumber(r: number): boolean {
  if (r < 0x80) return r >= 0x30 && r <= 0x39;
  return NUMBER.test(ch(r));
}
export function isUpper(r: number): boolean {
  if (r < 0x80) return r >= 0x41 && r <= 0x5a;
  return UPPER.test(ch(r));
}
export function isLower(r: number): boolean {
  if (r < 0x80) return r >= 0x61 && r <= 0x7a;
  return LOWER.test(ch(r));
}
export function isTitle(r: number): boolean {
  return r >= 0x80 && TITLE.test(ch(r));
}
export function isPunct(r: number): boolean {
  return PUNCT.test(ch(r));
}
export function isSpace(r: number): boolean {
  if (r < 0x100) return r === 0x20 || (r >= 0x09 && r <= 0x0d) || r === 0x85 || r === 0xa0;
  return WHITE_SPACE.test(ch(r));
}
/** strconv.IsPrint / unicode.IsPrint: letters, marks, numbers, punctuation, symbols and ASCII space. */
export function isPrint(r: number): boolean {
  if (r < 0x80) return r >= 0x20 && r < 0x7f;
  if (r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) return false;
  return PRINT.test(ch(r));
}

function single(s: string, orig: number): number {
  const cp = s.codePointAt(0)!;
  return s.length === String.fromCodePoint(cp).length ? cp : orig;
}

export function toUpper(r: number): number {
  if (r < 0x80) return r >= 0x61 && r <= 0x7a ? r - 32 : r;
  return single(ch(r).toUpperCase(), r);
}
export function toLower(r: number): number {
  if (r < 0x80) return r >= 0x41 && r <= 0x5a ? r + 32 : r;
  if (r === 0x130) return 0x69; // Go's simple mapping of İ
  return single(ch(r).toLowerCase(), r);
}
export function toTitle(r: number): number {
  // Digraphs have distinct title-case forms; everything else titles as upper case.
  if (r === 0x1c4 || r === 0x1c5 || r === 0x1c6) return 0x1c5;
  if (r === 0x1c7 || r === 0x1c8 || r === 0x1c9) return 0x1c8;
  if (r === 0x1ca || r === 0x1cb || r === 0x1cc) return 0x1cb;
  if (r === 0x1f1 || r === 0x1f2 || r === 0x1f3) return 0x1f2;
  return toUpper(r);
}

export function mapRunes(s: string, f: (r: number) => number): string {
  let out = '';
  for (const c of s) out += String.fromCodePoint(f(c.codePointAt(0)!));
  return out;
}
