// Text leaves QuickJS as a C string (UTF-8, NUL-terminated), so a NUL would cut it short and an unpaired
// surrogate would be replaced: either would corrupt the length-prefixed result. Both (and the escape character
// itself) are written as U+0001 + 4 hex digits here and restored by the host (wire.ts, unescapeSandboxText).
//
// Pure module, runs inside QuickJS. It uses only intrinsics captured when the module is evaluated, before any
// tenant code runs, and no regular-expression method that a template could override.

// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL and U+0001 are exactly what must be escaped.
const UNSAFE = /[\u0000\u0001]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const call = Function.prototype.call;
const bind = Function.prototype.bind;
const exec = bind.call(call, RegExp.prototype.exec) as (re: RegExp, s: string) => RegExpExecArray | null;
const slice = bind.call(call, String.prototype.slice) as (s: string, from: number, to?: number) => string;
const charCodeAt = bind.call(call, String.prototype.charCodeAt) as (s: string, i: number) => number;

const HEX = '0123456789abcdef';

export function escapeSandboxText(s: string): string {
  UNSAFE.lastIndex = 0;
  let match = exec(UNSAFE, s);
  if (match === null) return s;
  let out = '';
  let last = 0;
  while (match !== null) {
    const i = match.index;
    const c = charCodeAt(s, i);
    out += `${slice(s, last, i)}\u0001${HEX[(c >> 12) & 15]}${HEX[(c >> 8) & 15]}${HEX[(c >> 4) & 15]}${HEX[c & 15]}`;
    last = i + 1;
    match = exec(UNSAFE, s);
  }
  return out + slice(s, last);
}
