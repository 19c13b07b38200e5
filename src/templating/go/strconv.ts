// Go's strconv, as far as templates observe it: float formatting (shortest and fixed precision, rounding
// half to even on exact ties like Go), quoting, unquoting and integer/float parsing.

import { isPrint } from './unicode.ts';

export interface Digits {
  d: string; // significant decimal digits, no leading/trailing zeros ("" for zero)
  dp: number; // position of the decimal point relative to d
}

function shortestDigits(x: number): Digits {
  if (x === 0) return { d: '', dp: 0 };
  const s = x.toExponential();
  const m = /^(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) throw new Error(`unexpected float format ${s}`);
  const d = (m[1]! + (m[2] ?? '')).replace(/0+$/, '');
  return { d, dp: Number(m[3]) + 1 };
}

/** The exact decimal expansion of a positive finite double. */
function exactDigits(x: number): Digits {
  if (x === 0) return { d: '', dp: 0 };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const bexp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e: number;
  if (bexp === 0) e = -1074;
  else {
    mant |= 1n << 52n;
    e = bexp - 1075;
  }
  let digits: string;
  let dp: number;
  if (e >= 0) {
    digits = (mant << BigInt(e)).toString();
    dp = digits.length;
  } else {
    digits = (mant * 5n ** BigInt(-e)).toString();
    dp = digits.length + e;
  }
  const trimmed = digits.replace(/0+$/, '');
  return { d: trimmed, dp };
}

/** Rounds to nd significant digits, half to even on exact ties (Go's decimal.Round). */
function roundDigits(a: Digits, nd: number): Digits {
  if (nd < 0 || nd >= a.d.length) return a;
  const next = a.d.charCodeAt(nd) - 48;
  let up: boolean;
  if (next === 5 && nd + 1 === a.d.length) up = nd > 0 && (a.d.charCodeAt(nd - 1) - 48) % 2 === 1;
  else up = next >= 5;
  if (!up) return { d: a.d.slice(0, nd).replace(/0+$/, ''), dp: a.dp };
  let i = nd - 1;
  while (i >= 0 && a.d[i] === '9') i--;
  if (i < 0) return { d: '1', dp: a.dp + 1 };
  return { d: a.d.slice(0, i) + String.fromCharCode(a.d.charCodeAt(i) + 1), dp: a.dp };
}

function fmtE(d: Digits, prec: number, fmtChar: string): string {
  let out = d.d.length > 0 ? d.d[0]! : '0';
  if (prec > 0) {
    out += '.';
    const m = Math.min(d.d.length, prec + 1);
    out += d.d.slice(1, m);
    for (let i = Math.max(m, 1); i <= prec; i++) out += '0';
  }
  let exp = d.d.length === 0 ? 0 : d.dp - 1;
  const sign = exp < 0 ? '-' : '+';
  if (exp < 0) exp = -exp;
  return `${out}${fmtChar}${sign}${exp < 10 ? `0${exp}` : String(exp)}`;
}

function fmtF(d: Digits, prec: number): string {
  let out = '';
  if (d.dp > 0) {
    const m = Math.min(d.d.length, d.dp);
    out += d.d.slice(0, m);
    out += '0'.repeat(d.dp - m);
  } else out = '0';
  if (prec > 0) {
    out += '.';
    for (let i = 1; i <= prec; i++) {
      const j = d.dp + i - 1;
      out += j >= 0 && j < d.d.length ? d.d[j]! : '0';
    }
  }
  return out;
}

/** The float's bits as Go's FormatFloat sees them: mantissa with the implicit bit, unbiased exponent. */
function floatBits(x: number): { mant: bigint; exp: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  let exp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (exp === 0) exp++;
  else mant |= 1n << 52n;
  return { mant, exp: exp - 1023 };
}

/** %b: -ddddp±ddd. */
function fmtB(neg: boolean, mant: bigint, exp: number): string {
  const e = exp - 52;
  return `${neg ? '-' : ''}${mant}p${e >= 0 ? '+' : '-'}${Math.abs(e)}`;
}

/** %x: -0x1.yyyyp±dd (Go's fmtX, including its rounding to prec hex digits). */
function fmtX(prec: number, fmt: string, neg: boolean, mantIn: bigint, expIn: number): string {
  const u64 = (v: bigint) => BigInt.asUintN(64, v);
  let mant = mantIn;
  let exp = mant === 0n ? 0 : expIn;
  mant = u64(mant << 8n);
  while (mant !== 0n && (mant & (1n << 60n)) === 0n) {
    mant = u64(mant << 1n);
    exp--;
  }
  if (prec >= 0 && prec < 15) {
    const shift = BigInt(prec * 4);
    const extra = u64(mant << shift) & ((1n << 60n) - 1n);
    mant >>= 60n - shift;
    if ((extra | (mant & 1n)) > 1n << 59n) mant++;
    mant = u64(mant << (60n - shift));
    if ((mant & (1n << 61n)) !== 0n) {
      mant >>= 1n;
      exp++;
    }
  }
  const hex = fmt === 'X' ? '0123456789ABCDEF' : '0123456789abcdef';
  let out = `${neg ? '-' : ''}0${fmt}${(mant >> 60n) & 1n}`;
  mant = u64(mant << 4n);
  if (prec < 0 && mant !== 0n) {
    out += '.';
    while (mant !== 0n) {
      out += hex[Number((mant >> 60n) & 15n)]!;
      mant = u64(mant << 4n);
    }
  } else if (prec > 0) {
    out += '.';
    for (let i = 0; i < prec; i++) {
      out += hex[Number((mant >> 60n) & 15n)]!;
      mant = u64(mant << 4n);
    }
  }
  out += fmt === 'X' ? 'P' : 'p';
  out += exp < 0 ? '-' : '+';
  const e = Math.abs(exp);
  return out + (e < 10 ? `0${e}` : String(e));
}

/** strconv.FormatFloat(x, fmt, prec, 64) for fmt in b, e, E, f, g, G, x, X. */
export function formatFloat(x: number, fmt: string, prec: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Number.POSITIVE_INFINITY) return '+Inf';
  if (x === Number.NEGATIVE_INFINITY) return '-Inf';
  const neg = x < 0 || Object.is(x, -0);
  if (fmt === 'b' || fmt === 'x' || fmt === 'X') {
    const { mant, exp } = floatBits(Math.abs(x));
    return fmt === 'b' ? fmtB(neg, mant, exp) : fmtX(prec, fmt, neg, mant, exp);
  }
  const abs = Math.abs(x);
  const shortest = prec < 0;
  let digs: Digits;
  if (shortest) {
    digs = shortestDigits(abs);
    switch (fmt) {
      case 'e':
      case 'E':
        prec = Math.max(digs.d.length - 1, 0);
        break;
      case 'f':
        prec = Math.max(digs.d.length - digs.dp, 0);
        break;
      default:
        prec = digs.d.length;
    }
  } else {
    const exact = exactDigits(abs);
    switch (fmt) {
      case 'e':
      case 'E':
        digs = roundDigits(exact, prec + 1);
        break;
      case 'f':
        digs = roundDigits(exact, exact.dp + prec);
        if (exact.dp + prec < 0) digs = exact;
        break;
      default:
        if (prec === 0) prec = 1;
        digs = roundDigits(exact, prec);
    }
  }
  const sign = neg ? '-' : '';
  switch (fmt) {
    case 'e':
    case 'E':
      return sign + fmtE(digs, prec, fmt);
    case 'f':
      return sign + fmtF(digs, prec);
    default: {
      let eprec = prec;
      if (eprec > digs.d.length && digs.d.length >= digs.dp) eprec = digs.d.length;
      if (shortest) eprec = 6;
      const exp = digs.dp - 1;
      if (exp < -4 || exp >= eprec) {
        if (prec > digs.d.length) prec = digs.d.length;
        return sign + fmtE(digs, prec - 1, fmt === 'G' ? 'E' : 'e');
      }
      if (prec > digs.dp) prec = digs.d.length;
      return sign + fmtF(digs, Math.max(prec - digs.dp, 0));
    }
  }
}

const LOWER_HEX = '0123456789abcdef';

function escapeRune(r: number, quote: number, asciiOnly: boolean): string {
  if (r === quote || r === 0x5c) return `\\${String.fromCodePoint(r)}`;
  if (asciiOnly) {
    if (r < 0x80 && isPrint(r)) return String.fromCodePoint(r);
  } else if (isPrint(r)) return String.fromCodePoint(r);
  switch (r) {
    case 7:
      return '\\a';
    case 8:
      return '\\b';
    case 12:
      return '\\f';
    case 10:
      return '\\n';
    case 13:
      return '\\r';
    case 9:
      return '\\t';
    case 11:
      return '\\v';
  }
  if (r < 0x20 || r === 0x7f) return `\\x${LOWER_HEX[r >> 4]!}${LOWER_HEX[r & 15]!}`;
  if (r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) r = 0xfffd;
  if (r < 0x10000) return `\\u${r.toString(16).padStart(4, '0')}`;
  return `\\U${r.toString(16).padStart(8, '0')}`;
}

/** strconv.Quote / QuoteToASCII. */
export function quote(s: string, asciiOnly = false): string {
  let out = '"';
  for (const c of s) out += escapeRune(c.codePointAt(0)!, 0x22, asciiOnly);
  return `${out}"`;
}

/** strconv.QuoteRune / QuoteRuneToASCII. */
export function quoteRune(r: number, asciiOnly = false): string {
  if (r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) r = 0xfffd;
  return `'${escapeRune(r, 0x27, asciiOnly)}'`;
}

export function canBackquote(s: string): boolean {
  for (const c of s) {
    const r = c.codePointAt(0)!;
    if (r === 0xfeff) return false;
    if ((r < 0x20 && r !== 9) || r === 0x60 || r === 0x7f) return false;
  }
  return true;
}

/** Decodes one escape or character of a Go quoted literal at s[i]; returns [rune, next index]. */
function unquoteChar(s: string, i: number, q: string): [number, number] {
  const c = s.codePointAt(i)!;
  if (c === q.charCodeAt(0) && (q === "'" || q === '"')) throw new SyntaxError('invalid syntax');
  if (c !== 0x5c) return [c, i + (c > 0xffff ? 2 : 1)];
  const e = s[i + 1];
  if (e === undefined) throw new SyntaxError('invalid syntax');
  const simple: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 0x5c };
  if (Object.hasOwn(simple, e)) return [simple[e]!, i + 2];
  if (e === q && (q === "'" || q === '"')) return [q.charCodeAt(0), i + 2];
  if (e === 'x' || e === 'u' || e === 'U') {
    const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
    const hex = s.slice(i + 2, i + 2 + n);
    if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) throw new SyntaxError('invalid syntax');
    const v = Number.parseInt(hex, 16);
    if (e !== 'x' && (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))) throw new SyntaxError('invalid syntax');
    return [v, i + 2 + n];
  }
  if (e >= '0' && e <= '7') {
    const oct = s.slice(i + 1, i + 4);
    if (!/^[0-7]{3}$/.test(oct)) throw new SyntaxError('invalid syntax');
    const v = Number.parseInt(oct, 8);
    if (v > 255) throw new SyntaxError('invalid syntax');
    return [v, i + 4];
  }
  throw new SyntaxError('invalid syntax');
}

/**
 * strconv.Unquote for "...", `...` and '...'. A \x escape above 0x7f inside "..." makes a raw byte in Go;
 * here it becomes the character with that code (a deliberate simplification: no invalid UTF-8 strings).
 */
export function unquote(lit: string): string {
  const q = lit[0];
  if (lit.length < 2 || lit[lit.length - 1] !== q) throw new SyntaxError('invalid syntax');
  const body = lit.slice(1, -1);
  if (q === '`') {
    if (body.includes('`')) throw new SyntaxError('invalid syntax');
    return body.replaceAll('\r', '');
  }
  if (q !== '"' && q !== "'") throw new SyntaxError('invalid syntax');
  if (q === '"' && !body.includes('\\') && !body.includes('"') && !body.includes('\n')) return body;
  let out = '';
  let i = 0;
  let count = 0;
  while (i < body.length) {
    const [r, next] = unquoteChar(body, i, q);
    if (body[i] === '\n') throw new SyntaxError('invalid syntax');
    out += String.fromCodePoint(r);
    i = next;
    count++;
  }
  if (q === "'" && count !== 1) throw new SyntaxError('invalid syntax');
  return out;
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** strconv.ParseInt(s, base, 64) for bases 8 and 10 (sprig's atoi, int64, toDecimal). */
export function parseInt64(s: string, base: 8 | 10): bigint | undefined {
  const re = base === 10 ? /^[+-]?[0-9]+$/ : /^[+-]?[0-7]+$/;
  if (!re.test(s)) return undefined;
  const neg = s[0] === '-';
  const digits = s.replace(/^[+-]/, '');
  let v = 0n;
  const b = BigInt(base);
  for (const c of digits) v = v * b + BigInt(c.charCodeAt(0) - 48);
  if (neg) v = -v;
  if (v < INT64_MIN || v > INT64_MAX) return undefined;
  return v;
}

/** strconv.ParseFloat(s, 64); undefined on syntax or range error. */
export function parseFloat64(s: string): number | undefined {
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s[0] === '-' ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(s)) return Number.NaN;
  if (/^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(s)) {
    const v = Number(s);
    return Number.isFinite(v) ? v : undefined;
  }
  const hex = /^([+-]?)0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)[pP]([+-]?[0-9]+)$/.exec(s);
  if (hex && (hex[2]! + hex[3]!).length > 0) {
    const mant = Number.parseInt(hex[2]! + hex[3]! || '0', 16);
    const v = mant * 2 ** (Number(hex[4]) - 4 * hex[3]!.length);
    if (!Number.isFinite(v)) return undefined;
    return hex[1] === '-' ? -v : v;
  }
  return undefined;
}
