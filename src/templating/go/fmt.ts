// Go's fmt (Sprint, Sprintln, Sprintf) over our value model, following fmt/print.go and fmt/format.go:
// verbs v s d q x X o O b c U e E f F g G t T %, flags + - # space 0, width, precision, * and [n] indexes,
// and Go's error notations (%!d(string=x), %!v(MISSING), %!(EXTRA ...), %!(NOVERB), %!(BADWIDTH)...).
//
// Deliberate difference: %v of a float64 that holds an integer prints the integer (1000000, not 1e+06),
// because data came through JSON and users meant integers.

import { compareStrings, runeCount, utf8Encode } from './bytes.ts';
import { GoLimitError } from './errors.ts';
import { canBackquote, formatFloat, quote, quoteRune } from './strconv.ts';
import { isPrint } from './unicode.ts';
import { GoInt, type GoValue, isNilObject, isNoValue, isUnsigned, typeString } from './values.ts';

/** Largest padding one verb may produce; the output limit is the real bound. */
export const MAX_PADDING = 1 << 20;

interface Flags {
  plus: boolean;
  minus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  plusV: boolean;
  sharpV: boolean;
  wid: number;
  widPresent: boolean;
  prec: number;
  precPresent: boolean;
}

function clearFlags(): Flags {
  return {
    plus: false,
    minus: false,
    sharp: false,
    space: false,
    zero: false,
    plusV: false,
    sharpV: false,
    wid: 0,
    widPresent: false,
    prec: 0,
    precPresent: false,
  };
}

const LDIGITS = '0123456789abcdefx';
const UDIGITS = '0123456789ABCDEFX';

class Printer {
  buf = '';
  f: Flags = clearFlags();
  arg: GoValue = undefined;
  argSet = false;

  private padding(n: number): string {
    if (n <= 0) return '';
    if (n > MAX_PADDING) throw new GoLimitError(`format width ${n} exceeds the limit of ${MAX_PADDING}`);
    return (this.f.zero && !this.f.minus ? '0' : ' ').repeat(n);
  }

  writePadding(n: number): void {
    this.buf += this.padding(n);
  }

  padString(s: string): void {
    if (!this.f.widPresent || this.f.wid === 0) {
      this.buf += s;
      return;
    }
    const width = this.f.wid - runeCount(s);
    if (!this.f.minus) this.buf += this.padding(width) + s;
    else this.buf += s + this.padding(width);
  }

  truncateString(s: string): string {
    if (!this.f.precPresent) return s;
    let n = this.f.prec;
    let i = 0;
    for (const c of s) {
      n--;
      if (n < 0) return s.slice(0, i);
      i += c.length;
    }
    return s;
  }

  fmtS(s: string): void {
    this.padString(this.truncateString(s));
  }

  fmtQ(s: string): void {
    s = this.truncateString(s);
    if (this.f.sharp && canBackquote(s)) {
      this.padString(`\`${s}\``);
      return;
    }
    this.padString(quote(s, this.f.plus));
  }

  fmtSx(s: string, digits: string): void {
    const b = utf8Encode(s);
    let length = b.length;
    if (this.f.precPresent && this.f.prec < length) length = this.f.prec;
    let width = 2 * length;
    if (width > 0) {
      if (this.f.space) {
        if (this.f.sharp) width *= 2;
        width += length - 1;
      } else if (this.f.sharp) width += 2;
    } else {
      if (this.f.widPresent) this.writePadding(this.f.wid);
      return;
    }
    if (this.f.widPresent && this.f.wid > width && !this.f.minus) this.writePadding(this.f.wid - width);
    let out = '';
    if (this.f.sharp) out += `0${digits[16]!}`;
    for (let i = 0; i < length; i++) {
      if (this.f.space && i > 0) {
        out += ' ';
        if (this.f.sharp) out += `0${digits[16]!}`;
      }
      const c = b[i]!;
      out += digits[c >> 4]! + digits[c & 15]!;
    }
    this.buf += out;
    if (this.f.widPresent && this.f.wid > width && this.f.minus) this.writePadding(this.f.wid - width);
  }

  fmtBoolean(v: boolean): void {
    this.padString(v ? 'true' : 'false');
  }

  fmtInteger(value: bigint, base: number, verb: string, digits: string): void {
    const negative = value < 0n;
    let u = negative ? -value : value;
    let prec = 0;
    if (this.f.precPresent) {
      prec = this.f.prec;
      if (prec === 0 && u === 0n) {
        const oldZero = this.f.zero;
        this.f.zero = false;
        this.writePadding(this.f.wid);
        this.f.zero = oldZero;
        return;
      }
    } else if (this.f.zero && !this.f.minus && this.f.widPresent) {
      prec = this.f.wid;
      if (negative || this.f.plus || this.f.space) prec--;
    }
    if (prec > MAX_PADDING)
      throw new GoLimitError(`format precision ${prec} exceeds the limit of ${MAX_PADDING}`);
    let s = '';
    const b = BigInt(base);
    while (u >= b) {
      s = digits[Number(u % b)]! + s;
      u /= b;
    }
    s = digits[Number(u)]! + s;
    if (s.length < prec) s = '0'.repeat(prec - s.length) + s;
    if (this.f.sharp) {
      if (base === 2) s = `0b${s}`;
      else if (base === 8) {
        if (s[0] !== '0') s = `0${s}`;
      } else if (base === 16) s = `0${digits[16]!}${s}`;
    }
    if (verb === 'O') s = `0o${s}`;
    if (negative) s = `-${s}`;
    else if (this.f.plus) s = `+${s}`;
    else if (this.f.space) s = ` ${s}`;
    const oldZero = this.f.zero;
    this.f.zero = false;
    this.padString(s);
    this.f.zero = oldZero;
  }

  fmtUnicode(u: bigint): void {
    let prec = 4;
    if (this.f.precPresent && this.f.prec > 4) prec = this.f.prec;
    if (prec > MAX_PADDING) throw new GoLimitError(`format precision ${prec} exceeds the limit`);
    let s = u.toString(16).toUpperCase();
    if (s.length < prec) s = '0'.repeat(prec - s.length) + s;
    s = `U+${s}`;
    if (this.f.sharp && u <= 0x10ffffn && isPrint(Number(u))) s += ` '${String.fromCodePoint(Number(u))}'`;
    const oldZero = this.f.zero;
    this.f.zero = false;
    this.padString(s);
    this.f.zero = oldZero;
  }

  fmtC(u: bigint): void {
    let r = u > 0x10ffffn ? 0xfffd : Number(u);
    if (r >= 0xd800 && r <= 0xdfff) r = 0xfffd;
    this.padString(String.fromCodePoint(r));
  }

  fmtQc(u: bigint): void {
    const r = u > 0x10ffffn ? 0xfffd : Number(u);
    this.padString(quoteRune(r, this.f.plus));
  }

  fmtFloat(v: number, verb: string, prec: number): void {
    if (this.f.precPresent) prec = this.f.prec;
    if (prec > MAX_PADDING) throw new GoLimitError(`format precision ${prec} exceeds the limit`);
    let num: string;
    if (verb === 'v' && Number.isInteger(v) && Math.abs(v) < 1e21 && !this.f.precPresent) {
      num = Object.is(v, -0) ? '-0' : BigInt(v).toString();
    } else {
      num = formatFloat(v, verb === 'v' ? 'g' : verb, prec);
    }
    if (num[0] !== '-' && num[0] !== '+') num = `+${num}`;
    if (this.f.space && num[0] === '+' && !this.f.plus) num = ` ${num.slice(1)}`;
    if (num[1] === 'I' || num[1] === 'N') {
      const oldZero = this.f.zero;
      this.f.zero = false;
      if (num[1] === 'N' && !this.f.space && !this.f.plus) num = num.slice(1);
      this.padString(num);
      this.f.zero = oldZero;
      return;
    }
    if (this.f.sharp && verb !== 'b') {
      let digits = 0;
      if (verb === 'v' || verb === 'g' || verb === 'G' || verb === 'x') {
        digits = prec;
        if (digits === -1) digits = 6;
      }
      let tail = '';
      let hasDecimalPoint = false;
      let sawNonzeroDigit = false;
      for (let i = 1; i < num.length; i++) {
        const c = num[i]!;
        if (c === '.') hasDecimalPoint = true;
        else if (c === 'p' || c === 'P' || ((c === 'e' || c === 'E') && verb !== 'x' && verb !== 'X')) {
          tail = num.slice(i);
          num = num.slice(0, i);
          break;
        } else {
          if (c !== '0') sawNonzeroDigit = true;
          if (sawNonzeroDigit) digits--;
        }
      }
      if (!hasDecimalPoint) {
        if (num.length === 2 && num[1] === '0') digits--;
        num += '.';
      }
      while (digits > 0) {
        num += '0';
        digits--;
      }
      num += tail;
    }
    if (this.f.plus || num[0] !== '+') {
      if (this.f.zero && !this.f.minus && this.f.widPresent && this.f.wid > num.length) {
        this.buf += num[0]!;
        this.writePadding(this.f.wid - num.length);
        this.buf += num.slice(1);
        return;
      }
      this.padString(num);
      return;
    }
    this.padString(num.slice(1));
  }

  badVerb(verb: string): void {
    this.buf += `%!${verb}(`;
    if (this.argSet && !(this.arg === null || isNoValue(this.arg))) {
      this.buf += `${typeString(this.arg)}=`;
      this.printArg(this.arg, 'v');
    } else {
      this.buf += '<nil>';
    }
    this.buf += ')';
  }

  fmtBool(v: boolean, verb: string): void {
    if (verb === 't' || verb === 'v') this.fmtBoolean(v);
    else this.badVerb(verb);
  }

  fmtIntegerVerb(v: GoInt, verb: string): void {
    const unsigned = isUnsigned(v.type);
    switch (verb) {
      case 'v':
        if (this.f.sharpV && unsigned) {
          const sharp = this.f.sharp;
          this.f.sharp = true;
          this.fmtInteger(v.v, 16, 'v', LDIGITS);
          this.f.sharp = sharp;
        } else this.fmtInteger(v.v, 10, verb, LDIGITS);
        return;
      case 'd':
        this.fmtInteger(v.v, 10, verb, LDIGITS);
        return;
      case 'b':
        this.fmtInteger(v.v, 2, verb, LDIGITS);
        return;
      case 'o':
      case 'O':
        this.fmtInteger(v.v, 8, verb, LDIGITS);
        return;
      case 'x':
        this.fmtInteger(v.v, 16, verb, LDIGITS);
        return;
      case 'X':
        this.fmtInteger(v.v, 16, verb, UDIGITS);
        return;
      case 'c':
        this.fmtC(BigInt.asUintN(64, v.v));
        return;
      case 'q':
        this.fmtQc(BigInt.asUintN(64, v.v));
        return;
      case 'U':
        this.fmtUnicode(BigInt.asUintN(64, v.v));
        return;
      default:
        this.badVerb(verb);
    }
  }

  fmtFloatVerb(v: number, verb: string): void {
    switch (verb) {
      case 'v':
        this.fmtFloat(v, 'v', -1);
        return;
      case 'b':
      case 'g':
      case 'G':
      case 'x':
      case 'X':
        this.fmtFloat(v, verb, -1);
        return;
      case 'f':
      case 'e':
      case 'E':
        this.fmtFloat(v, verb, 6);
        return;
      case 'F':
        this.fmtFloat(v, 'f', 6);
        return;
      default:
        this.badVerb(verb);
    }
  }

  fmtString(v: string, verb: string): void {
    switch (verb) {
      case 'v':
        if (this.f.sharpV) this.fmtQ(v);
        else this.fmtS(v);
        return;
      case 's':
        this.fmtS(v);
        return;
      case 'x':
        this.fmtSx(v, LDIGITS);
        return;
      case 'X':
        this.fmtSx(v, UDIGITS);
        return;
      case 'q':
        this.fmtQ(v);
        return;
      default:
        this.badVerb(verb);
    }
  }

  printArg(arg: GoValue, verb: string): void {
    this.arg = arg;
    this.argSet = true;
    if (arg === null || isNoValue(arg)) {
      if (verb === 'T' || verb === 'v') this.padString('<nil>');
      else this.badVerb(verb);
      return;
    }
    if (verb === 'T') {
      this.fmtS(typeString(arg));
      return;
    }
    this.printValue(arg, verb, 0);
  }

  printValue(value: GoValue, verb: string, depth: number): void {
    if (depth > 0) {
      this.arg = value;
      this.argSet = true;
    }
    if (value === null || isNoValue(value)) {
      if (this.f.sharpV) this.buf += 'interface {}(nil)';
      else this.buf += '<nil>';
      return;
    }
    if (typeof value === 'boolean') {
      this.fmtBool(value, verb);
      return;
    }
    if (typeof value === 'number') {
      this.fmtFloatVerb(value, verb);
      return;
    }
    if (typeof value === 'string') {
      this.fmtString(value, verb);
      return;
    }
    if (value instanceof GoInt) {
      this.fmtIntegerVerb(value, verb);
      return;
    }
    if (Array.isArray(value)) {
      if (this.f.sharpV) {
        this.buf += typeString(value);
        if (isNilObject(value)) {
          this.buf += '(nil)';
          return;
        }
      }
      this.buf += this.f.sharpV ? '{' : '[';
      value.forEach((e, i) => {
        if (i > 0) this.buf += this.f.sharpV ? ', ' : ' ';
        this.printValue(e, verb, depth + 1);
      });
      this.buf += this.f.sharpV ? '}' : ']';
      return;
    }
    if (value instanceof Map) {
      if (this.f.sharpV) {
        this.buf += typeString(value);
        if (isNilObject(value)) {
          this.buf += '(nil)';
          return;
        }
        this.buf += '{';
      } else this.buf += 'map[';
      const keys = [...value.keys()].sort(compareStrings);
      keys.forEach((k, i) => {
        if (i > 0) this.buf += this.f.sharpV ? ', ' : ' ';
        this.printValue(k, verb, depth + 1);
        this.buf += ':';
        this.printValue(value.get(k), verb, depth + 1);
      });
      this.buf += this.f.sharpV ? '}' : ']';
    }
  }
}

function tooLarge(x: number): boolean {
  return x > 1e6 || x < -1e6;
}

function parsenum(s: string, start: number, end: number): [number, boolean, number] {
  if (start >= end) return [0, false, end];
  let num = 0;
  let isnum = false;
  let i = start;
  for (; i < end && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57; i++) {
    if (tooLarge(num)) return [0, false, end];
    num = num * 10 + (s.charCodeAt(i) - 48);
    isnum = true;
  }
  return [num, isnum, i];
}

function intFromArg(a: GoValue[], argNum: number): [number, boolean, number] {
  let num = 0;
  let isInt = false;
  let newArgNum = argNum;
  if (argNum < a.length) {
    const v = a[argNum];
    if (v instanceof GoInt && v.v >= -(1n << 63n) && v.v < 1n << 63n) {
      num = Number(v.v);
      isInt = true;
    }
    newArgNum = argNum + 1;
    if (tooLarge(num)) {
      num = 0;
      isInt = false;
    }
  }
  return [num, isInt, newArgNum];
}

function parseArgNumber(format: string): [number, number, boolean] {
  if (format.length < 3) return [0, 1, false];
  for (let i = 1; i < format.length; i++) {
    if (format[i] === ']') {
      const [width, ok, newi] = parsenum(format, 1, i);
      if (!ok || newi !== i) return [0, i + 1, false];
      return [width - 1, i + 1, true];
    }
  }
  return [0, 1, false];
}

/** fmt.Sprintf. */
export function sprintf(format: string, a: GoValue[]): string {
  const p = new Printer();
  const end = format.length;
  let argNum = 0;
  let afterIndex = false;
  let reordered = false;
  let goodArgNum = true;
  const argNumber = (argN: number, i: number): [number, number, boolean] => {
    if (format.length <= i || format[i] !== '[') return [argN, i, false];
    reordered = true;
    const [index, wid, ok] = parseArgNumber(format.slice(i));
    if (ok && index >= 0 && index < a.length) return [index, i + wid, true];
    goodArgNum = false;
    return [argN, i + wid, ok];
  };
  let i = 0;
  formatLoop: while (i < end) {
    goodArgNum = true;
    const lasti = i;
    while (i < end && format[i] !== '%') i++;
    if (i > lasti) p.buf += format.slice(lasti, i);
    if (i >= end) break;
    i++;
    p.f = clearFlags();
    simple: for (; i < end; i++) {
      const c = format[i]!;
      switch (c) {
        case '#':
          p.f.sharp = true;
          break;
        case '0':
          p.f.zero = true;
          break;
        case '+':
          p.f.plus = true;
          break;
        case '-':
          p.f.minus = true;
          break;
        case ' ':
          p.f.space = true;
          break;
        default:
          if (c >= 'a' && c <= 'z' && argNum < a.length) {
            if (c === 'v' || c === 'w') {
              p.f.sharpV = p.f.sharp;
              p.f.sharp = false;
              p.f.plusV = p.f.plus;
              p.f.plus = false;
            }
            p.printArg(a[argNum], c);
            argNum++;
            i++;
            continue formatLoop;
          }
          break simple;
      }
    }
    [argNum, i, afterIndex] = argNumber(argNum, i);
    if (i < end && format[i] === '*') {
      i++;
      [p.f.wid, p.f.widPresent, argNum] = intFromArg(a, argNum);
      if (!p.f.widPresent) p.buf += '%!(BADWIDTH)';
      if (p.f.wid < 0) {
        p.f.wid = -p.f.wid;
        p.f.minus = true;
        p.f.zero = false;
      }
      afterIndex = false;
    } else {
      [p.f.wid, p.f.widPresent, i] = parsenum(format, i, end);
      if (afterIndex && p.f.widPresent) goodArgNum = false;
    }
    if (i + 1 < end && format[i] === '.') {
      i++;
      if (afterIndex) goodArgNum = false;
      [argNum, i, afterIndex] = argNumber(argNum, i);
      if (i < end && format[i] === '*') {
        i++;
        [p.f.prec, p.f.precPresent, argNum] = intFromArg(a, argNum);
        if (p.f.prec < 0) {
          p.f.prec = 0;
          p.f.precPresent = false;
        }
        if (!p.f.precPresent) p.buf += '%!(BADPREC)';
        afterIndex = false;
      } else {
        [p.f.prec, p.f.precPresent, i] = parsenum(format, i, end);
        if (!p.f.precPresent) {
          p.f.prec = 0;
          p.f.precPresent = true;
        }
      }
    }
    if (!afterIndex) [argNum, i, afterIndex] = argNumber(argNum, i);
    if (i >= end) {
      p.buf += '%!(NOVERB)';
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    if (verb === '%') p.buf += '%';
    else if (!goodArgNum) p.buf += `%!${verb}(BADINDEX)`;
    else if (argNum >= a.length) p.buf += `%!${verb}(MISSING)`;
    else {
      if (verb === 'v' || verb === 'w') {
        p.f.sharpV = p.f.sharp;
        p.f.sharp = false;
        p.f.plusV = p.f.plus;
        p.f.plus = false;
      }
      p.printArg(a[argNum], verb);
      argNum++;
    }
  }
  if (!reordered && argNum < a.length) {
    p.f = clearFlags();
    p.buf += '%!(EXTRA ';
    a.slice(argNum).forEach((arg, k) => {
      if (k > 0) p.buf += ', ';
      if (arg === null || isNoValue(arg)) p.buf += '<nil>';
      else {
        p.buf += `${typeString(arg)}=`;
        p.printArg(arg, 'v');
      }
    });
    p.buf += ')';
  }
  return p.buf;
}

/** fmt.Sprint: spaces between operands when neither is a string. */
export function sprint(a: GoValue[]): string {
  const p = new Printer();
  let prevString = false;
  a.forEach((arg, i) => {
    const isString = typeof arg === 'string';
    if (i > 0 && !isString && !prevString) p.buf += ' ';
    p.f = clearFlags();
    p.printArg(arg, 'v');
    prevString = isString;
  });
  return p.buf;
}

/** fmt.Sprintln. */
export function sprintln(a: GoValue[]): string {
  const p = new Printer();
  a.forEach((arg, i) => {
    if (i > 0) p.buf += ' ';
    p.f = clearFlags();
    p.printArg(arg, 'v');
  });
  return `${p.buf}\n`;
}

/** fmt.Sprintf("%v", v). */
export function formatV(v: GoValue): string {
  return sprint([v]);
}
