// The function map: text/template's builtins plus sprig v2.22.0's TxtFuncMap, written against sprig's
// source and its dependencies as the Go operator built them (goutils 1.1.1, xstrings 1.3.2, mergo 0.3.5).
// Functions that reach the environment, files, network or key material exist (so templates parse as in Go)
// but fail when called. Random functions draw from the render's seeded generator.

import {
  base32Decode,
  base32Encode,
  base64Decode,
  base64Encode,
  byteLength,
  compareStrings,
  hexEncode,
  runes,
  utf8Decode,
  utf8Encode,
} from './bytes.ts';
import { GoFuncError, GoLimitError, GoUnavailableError } from './errors.ts';
import type { CallContext, FuncDef, ParamType } from './exec.ts';
import { formatV, sprint, sprintf, sprintln } from './fmt.ts';
import { adler32, sha1Hex, sha256Hex } from './hash.ts';
import { marshal } from './json.ts';
import { randomBelow } from './random.ts';
import * as re from './regexp.ts';
import { parseFloat64, parseInt64, quote } from './strconv.ts';
import {
  isLetter,
  isLower,
  isNumber,
  isPrint,
  isPunct,
  isSpace,
  isTitle,
  isUpper,
  mapRunes,
  toLower,
  toTitle,
  toUpper,
} from './unicode.ts';
import {
  changedInPlace,
  deepEqual,
  GoInt,
  type GoMap,
  type GoValue,
  int,
  isEmpty,
  isNilObject,
  isNoValue,
  isTrue,
  isUnsigned,
  kindString,
  mapElemType,
  nilSlice,
  sliceElemType,
  typedMap,
  typedSlice,
  typeString,
  wrapInt,
} from './values.ts';

/** Longest string a function may return, and most elements a function may build into a list. */
export const MAX_STRING = 1 << 20;
export const MAX_LIST = 100_000;

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

function checkString(s: string, ctx: CallContext): string {
  if (s.length > MAX_STRING)
    throw new GoLimitError(`string of ${s.length} characters exceeds the limit of ${MAX_STRING}`);
  ctx.charge(s.length >> 6);
  return s;
}

function checkListSize(n: number): void {
  if (n > MAX_LIST) throw new GoLimitError(`list of ${n} elements exceeds the limit of ${MAX_LIST}`);
}

function str(args: GoValue[], i: number): string {
  return args[i] as string;
}
function num(args: GoValue[], i: number): number {
  return Number((args[i] as GoInt).v);
}
function map(args: GoValue[], i: number): GoMap {
  return args[i] as GoMap;
}

/** sprig's strval: strings as they are, everything else via %v. */
export function strval(v: GoValue): string {
  if (typeof v === 'string') return v;
  return formatV(v === undefined ? null : v);
}

function toInt64(v: GoValue): bigint {
  if (typeof v === 'string') return parseInt64(v, 10) ?? 0n;
  if (v instanceof GoInt) {
    if (isUnsigned(v.type)) return v.v <= INT64_MAX ? v.v : INT64_MAX;
    return v.v;
  }
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v >= 2 ** 63 || v < -(2 ** 63)) return INT64_MIN; // amd64 conversion result
    return BigInt(Math.trunc(v));
  }
  if (typeof v === 'boolean') return v ? 1n : 0n;
  return 0n;
}

function toFloat64(v: GoValue): number {
  if (typeof v === 'string') return parseFloat64(v) ?? 0;
  if (v instanceof GoInt) return Number(v.v);
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return 0;
}

const i64 = (v: bigint): GoInt => new GoInt('int64', wrapInt(v, 'int64'));

function kindName(v: GoValue): string {
  if (v === null || isNoValue(v)) {
    throw new GoFuncError('runtime error: invalid memory address or nil pointer dereference');
  }
  return kindString(v);
}

function asList(v: GoValue, what: string): GoValue[] {
  if (Array.isArray(v)) return v;
  throw new GoFuncError(`Cannot ${what} on type ${kindName(v)}`);
}

/** sprig's strslice. */
function strslice(v: GoValue): string[] {
  if (Array.isArray(v)) {
    if (sliceElemType(v) === 'string') return v as string[];
    return v.filter((e) => e !== null && !isNoValue(e)).map(strval);
  }
  if (v === null || isNoValue(v)) return [];
  return [strval(v)];
}

function stringList(items: string[]): GoValue[] {
  return typedSlice(items, 'string');
}

// ---- text/template builtins ----

function indirect(v: GoValue): GoValue {
  return v === null ? undefined : v;
}

type Kind = 'bool' | 'int' | 'uint' | 'float' | 'string' | 'invalid';
function basicKind(v: GoValue): Kind {
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return 'float';
  if (typeof v === 'string') return 'string';
  if (v instanceof GoInt) return isUnsigned(v.type) ? 'uint' : 'int';
  return 'invalid';
}

function isNilValue(v: GoValue): boolean {
  if (v === null || isNoValue(v)) return true;
  if (Array.isArray(v) || v instanceof Map) return isNilObject(v);
  return false;
}

function eq(args: GoValue[]): boolean {
  const arg1 = indirect(args[0]);
  if (args.length < 2) throw new GoFuncError('missing argument for comparison');
  const k1 = basicKind(arg1);
  for (const raw of args.slice(1)) {
    const arg = indirect(raw);
    const k2 = basicKind(arg);
    let truth = false;
    if (k1 !== k2) {
      if ((k1 === 'int' && k2 === 'uint') || (k1 === 'uint' && k2 === 'int')) {
        truth = (arg1 as GoInt).v === (arg as GoInt).v;
      } else if (!isNoValue(arg1) && !isNoValue(arg)) {
        throw new GoFuncError(
          `incompatible types for comparison: ${typeString(arg1)} and ${typeString(arg)}`,
        );
      }
    } else if (k1 === 'int' || k1 === 'uint') {
      truth = (arg1 as GoInt).v === (arg as GoInt).v;
    } else if (k1 !== 'invalid') {
      truth = arg1 === arg;
    } else {
      const bothKinds = [arg1, arg].map((x) => (isNoValue(x) ? 'invalid' : kindString(x)));
      if (bothKinds[0] !== bothKinds[1] && bothKinds[0] !== 'invalid' && bothKinds[1] !== 'invalid') {
        throw new GoFuncError(
          `non-comparable types ${formatV(arg1)}: ${typeString(arg1)}, ${typeString(arg)}: ${formatV(arg)}`,
        );
      }
      if (isNilValue(arg1) || isNilValue(arg)) truth = isNilValue(arg) === isNilValue(arg1);
      else throw new GoFuncError(`non-comparable type ${formatV(arg)}: ${typeString(arg)}`);
    }
    if (truth) return true;
  }
  return false;
}

function lt(a: GoValue, b: GoValue): boolean {
  const arg1 = indirect(a);
  const arg2 = indirect(b);
  const k1 = basicKind(arg1);
  const k2 = basicKind(arg2);
  if (k1 === 'invalid' || k2 === 'invalid') throw new GoFuncError('invalid type for comparison');
  if (k1 !== k2) {
    if ((k1 === 'int' && k2 === 'uint') || (k1 === 'uint' && k2 === 'int')) {
      return (arg1 as GoInt).v < (arg2 as GoInt).v;
    }
    throw new GoFuncError(`incompatible types for comparison: ${typeString(arg1)} and ${typeString(arg2)}`);
  }
  switch (k1) {
    case 'bool':
      throw new GoFuncError('invalid type for comparison');
    case 'float':
      return (arg1 as number) < (arg2 as number);
    case 'string':
      return compareStrings(arg1 as string, arg2 as string) < 0;
    default:
      return (arg1 as GoInt).v < (arg2 as GoInt).v;
  }
}

function length(v: GoValue): GoValue {
  if (v === null) throw new GoFuncError('len of nil pointer');
  if (typeof v === 'string') return int(byteLength(v));
  if (Array.isArray(v)) return int(v.length);
  if (v instanceof Map) return int(v.size);
  if (isNoValue(v)) throw new GoFuncError('len of untyped nil');
  throw new GoFuncError(`len of type ${typeString(v)}`);
}

function indexArg(index: GoValue, cap: number): number {
  if (!(index instanceof GoInt)) {
    if (isNoValue(index)) throw new GoFuncError('cannot index slice/array with nil');
    throw new GoFuncError(`cannot index slice/array with type ${typeString(index)}`);
  }
  const x = index.v;
  if (x < 0n || x > BigInt(cap)) throw new GoFuncError(`index out of range: ${x}`);
  return Number(x);
}

function index(args: GoValue[]): GoValue {
  let item = indirect(args[0]);
  if (isNoValue(item)) throw new GoFuncError('index of untyped nil');
  for (const raw of args.slice(1)) {
    const idx = indirect(raw);
    if (item === null) throw new GoFuncError('index of nil pointer');
    if (typeof item === 'string') {
      const bytes = utf8Encode(item);
      const x = indexArg(idx, bytes.length);
      if (x >= bytes.length) throw new GoFuncError(`reflect: string index out of range`);
      item = int(bytes[x]!, 'uint8');
    } else if (Array.isArray(item)) {
      const x = indexArg(idx, item.length);
      if (x >= item.length) throw new GoFuncError(`reflect: slice index out of range`);
      item = item[x];
    } else if (item instanceof Map) {
      if (typeof idx !== 'string') {
        if (isNoValue(idx)) throw new GoFuncError('value is nil; should be of type string');
        throw new GoFuncError(`value has type ${typeString(idx)}; should be string`);
      }
      if (item.has(idx)) item = item.get(idx);
      else item = mapElemType(item) === 'string' ? '' : null;
    } else {
      throw new GoFuncError(`can't index item of type ${typeString(item)}`);
    }
  }
  return item;
}

/** text/template's evalArgs, with the deliberate difference that nil prints as "" (not "<no value>"). */
function evalArgs(args: GoValue[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return sprint(args.map((a) => (a === null || isNoValue(a) ? '' : a)));
}

function htmlEscape(s: string): string {
  return s.replace(/[\0"'&<>]/g, (c) =>
    c === '\0'
      ? '\uFFFD'
      : c === '"'
        ? '&#34;'
        : c === "'"
          ? '&#39;'
          : c === '&'
            ? '&amp;'
            : c === '<'
              ? '&lt;'
              : '&gt;',
  );
}

function jsEscape(s: string): string {
  let out = '';
  for (const c of s) {
    const r = c.codePointAt(0)!;
    switch (c) {
      case '\\':
        out += '\\\\';
        continue;
      case "'":
        out += "\\'";
        continue;
      case '"':
        out += '\\"';
        continue;
      case '<':
        out += '\\u003C';
        continue;
      case '>':
        out += '\\u003E';
        continue;
      case '&':
        out += '\\u0026';
        continue;
      case '=':
        out += '\\u003D';
        continue;
    }
    if (r < 0x20) out += `\\u00${r.toString(16).toUpperCase().padStart(2, '0')}`;
    else if (r < 0x80 || isPrint(r)) out += c;
    else out += `\\u${r.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return out;
}

function queryEscape(s: string): string {
  let out = '';
  for (const b of utf8Encode(s)) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

// ---- sprig helpers ----

function trimFunc(s: string, cut: (r: number) => boolean): string {
  const rs = runes(s);
  let a = 0;
  let b = rs.length;
  while (a < b && cut(rs[a]!)) a++;
  while (b > a && cut(rs[b - 1]!)) b--;
  return String.fromCodePoint(...rs.slice(a, b));
}

function isSeparator(r: number): boolean {
  if (r <= 0x7f) {
    if ((r >= 0x30 && r <= 0x39) || (r >= 0x61 && r <= 0x7a) || (r >= 0x41 && r <= 0x5a) || r === 0x5f)
      return false;
    return true;
  }
  if (isLetter(r) || /^\p{Nd}$/u.test(String.fromCodePoint(r))) return false;
  return isSpace(r);
}

function title(s: string): string {
  let prev = 0x20;
  return mapRunes(s, (r) => {
    const out = isSeparator(prev) ? toTitle(r) : r;
    prev = r;
    return out;
  });
}

function uncapitalize(s: string): string {
  let next = true;
  return mapRunes(s, (r) => {
    if (isSpace(r)) {
      next = true;
      return r;
    }
    if (next) {
      next = false;
      return toLower(r);
    }
    return r;
  });
}

function swapCase(s: string): string {
  let whitespace = true;
  return mapRunes(s, (r) => {
    if (isUpper(r) || isTitle(r)) {
      whitespace = false;
      return toLower(r);
    }
    if (isLower(r)) {
      if (whitespace) {
        whitespace = false;
        return toTitle(r);
      }
      return toUpper(r);
    }
    whitespace = isSpace(r);
    return r;
  });
}

/** goutils.DeleteWhiteSpace works on bytes, writing each kept byte as the rune of that value. */
function deleteWhiteSpace(s: string): string {
  if (s === '') return s;
  const b = utf8Encode(s);
  let out = '';
  let count = 0;
  for (const x of b) {
    if (!isSpace(x)) {
      out += String.fromCharCode(x);
      count++;
    }
  }
  return count === b.length ? s : out;
}

/** goutils.Initials, byte-wise like the original. */
function initials(s: string): string {
  let out = '';
  let gap = true;
  for (const x of utf8Encode(s)) {
    if (isSpace(x)) gap = true;
    else if (gap) {
      out += String.fromCharCode(x);
      gap = false;
    }
  }
  return out;
}

/** goutils.AbbreviateFull, on UTF-8 bytes like the original. */
function abbreviateBytes(b: Uint8Array, offset: number, maxWidth: number): Uint8Array {
  const len = b.length;
  const dots = Uint8Array.of(0x2e, 0x2e, 0x2e);
  const cat = (...parts: Uint8Array[]) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  if (len === 0 || maxWidth < 4) return new Uint8Array(0);
  if (len <= maxWidth) return b;
  if (offset > len) offset = len;
  if (len - offset < maxWidth - 3) offset = len - (maxWidth - 3);
  if (offset <= 4) return cat(b.subarray(0, maxWidth - 3), dots);
  if (maxWidth < 7) return new Uint8Array(0);
  if (offset + maxWidth - 3 < len) return cat(dots, abbreviateBytes(b.subarray(offset), 0, maxWidth - 3));
  return cat(dots, b.subarray(len - (maxWidth - 3)));
}

function abbreviateFull(s: string, offset: number, maxWidth: number): string {
  return utf8Decode(abbreviateBytes(utf8Encode(s), offset, maxWidth));
}

function wrapCustom(s: string, wrapLength: number, newLine: string, wrapLong: boolean): string {
  if (s === '') return '';
  if (newLine === '') newLine = '\n';
  if (wrapLength < 1) wrapLength = 1;
  const b = utf8Encode(s);
  const len = b.length;
  const sl = (x: number, y: number) => utf8Decode(b, x, y);
  let offset = 0;
  let out = '';
  const lastSpace = (from: number, to: number): number => {
    for (let i = to - 1; i >= from; i--) if (b[i] === 0x20) return i - from;
    return -1;
  };
  while (len - offset > wrapLength) {
    if (b[offset] === 0x20) {
      offset++;
      continue;
    }
    const end = wrapLength + offset + 1;
    let spaceToWrapAt = lastSpace(offset, end) + offset;
    if (spaceToWrapAt >= offset) {
      out += sl(offset, spaceToWrapAt) + newLine;
      offset = spaceToWrapAt + 1;
    } else if (wrapLong) {
      out += sl(offset, wrapLength + offset) + newLine;
      offset += wrapLength;
    } else {
      const e = wrapLength + offset;
      let idx = -1;
      for (let i = e; i < len; i++) {
        if (b[i] === 0x20) {
          idx = i - e;
          break;
        }
      }
      if (idx === -1) {
        out += sl(offset, len);
        offset = len;
      } else {
        spaceToWrapAt = idx + e;
        out += sl(offset, spaceToWrapAt) + newLine;
        offset = spaceToWrapAt + 1;
      }
    }
  }
  return out + sl(offset, len);
}

// xstrings 1.3.2 case conversions.
const isConnector = (r: number) => r === 0x2d || r === 0x5f || isSpace(r);
function isAlphabet(r: number): boolean {
  if (!isLetter(r)) return false;
  if (r < 0x3400) return true;
  if (r >= 0x4e00 && r <= 0x9fcc) return false;
  if (r >= 0x3400 && r <= 0x4d85) return false;
  if (r >= 0x20000 && r <= 0x2b81d) return false;
  return true;
}

function toCamelCase(s: string): string {
  const rs = runes(s);
  if (rs.length === 0) return '';
  let out = '';
  let i = 0;
  let r0 = 0;
  let r1 = 0;
  while (i < rs.length) {
    r0 = rs[i++]!;
    if (!isConnector(r0)) {
      r0 = toUpper(r0);
      break;
    }
    out += String.fromCodePoint(r0);
  }
  if (i >= rs.length) {
    // Go writes the last rune again here, even a connector ("__" becomes "___").
    return out + String.fromCodePoint(r0);
  }
  while (i < rs.length) {
    r1 = r0;
    r0 = rs[i++]!;
    if (isConnector(r0) && isConnector(r1)) {
      out += String.fromCodePoint(r1);
      continue;
    }
    if (isConnector(r1)) r0 = toUpper(r0);
    else {
      r0 = toLower(r0);
      out += String.fromCodePoint(r1);
    }
  }
  return out + String.fromCodePoint(r0);
}

const W_INVALID = 0;
const W_NUMBER = 1;
const W_UPPER = 2;
const W_ALPHA = 3;
const W_CONNECTOR = 4;
const W_PUNCT = 5;
const W_OTHER = 6;

interface Word {
  wt: number;
  word: number[];
  rest: number;
}

function nextWord(rs: number[], start: number): Word {
  if (start >= rs.length) return { wt: W_INVALID, word: [], rest: start };
  const nextValid = (at: number, prev: number): [number, number] => {
    let size = 0;
    for (let k = at; k < rs.length; k++) {
      size++;
      if (rs[k] !== 0xfffd) return [rs[k]!, size];
    }
    return [prev, size];
  };
  let offset = 0;
  let pos = start;
  let [r, size] = nextValid(pos, 0xfffd);
  offset += size;
  if (r === 0xfffd) return { wt: W_INVALID, word: rs.slice(start, start + offset), rest: start + offset };
  let wt: number;
  const run = (pred: (x: number) => boolean) => {
    pos += size;
    while (pos < rs.length) {
      [r, size] = nextValid(pos, r);
      if (!pred(r)) break;
      offset += size;
      pos += size;
    }
  };
  if (isConnector(r)) {
    wt = W_CONNECTOR;
    run(isConnector);
  } else if (isPunct(r)) {
    wt = W_PUNCT;
    run(isPunct);
  } else if (isUpper(r)) {
    wt = W_UPPER;
    pos += size;
    if (pos < rs.length) {
      [r, size] = nextValid(pos, r);
      if (isUpper(r)) {
        let prevSize = size;
        offset += size;
        pos += size;
        while (pos < rs.length) {
          [r, size] = nextValid(pos, r);
          if (!isUpper(r)) break;
          prevSize = size;
          offset += size;
          pos += size;
        }
        if (pos < rs.length && isAlphabet(r)) {
          offset -= prevSize;
          pos = start + offset;
        }
      } else if (isAlphabet(r)) {
        offset += size;
        pos += size;
        while (pos < rs.length) {
          [r, size] = nextValid(pos, r);
          if (!isAlphabet(r) || isUpper(r)) break;
          offset += size;
          pos += size;
        }
      }
    }
  } else if (isAlphabet(r)) {
    wt = W_ALPHA;
    run((x) => isAlphabet(x) && !isUpper(x));
  } else if (isNumber(r)) {
    wt = W_NUMBER;
    run(isNumber);
  } else {
    wt = W_OTHER;
    pos += size;
    while (pos < rs.length) {
      [r, size] = nextValid(pos, r);
      if (size === 0 || isConnector(r) || isAlphabet(r) || isNumber(r) || isPunct(r)) break;
      offset += size;
      pos += size;
    }
  }
  return { wt, word: rs.slice(start, start + offset), rest: pos };
}

function camelCaseToLowerCase(s: string, connector: number): string {
  const rs = runes(s);
  if (rs.length === 0) return '';
  const out: number[] = [];
  const toLowerWord = (wt: number, word: number[]) => {
    if (wt !== W_UPPER && wt !== W_CONNECTOR) {
      out.push(...word);
      return;
    }
    for (const r of word) {
      if (isConnector(r)) out.push(connector);
      else if (isUpper(r)) out.push(toLower(r));
      else out.push(r);
    }
  };
  let { wt, word, rest } = nextWord(rs, 0);
  while (rest < rs.length) {
    if (wt !== W_CONNECTOR) toLowerWord(wt, word);
    const prev = wt;
    const last = word;
    ({ wt, word, rest } = nextWord(rs, rest));
    switch (prev) {
      case W_NUMBER:
        while (wt === W_ALPHA || wt === W_NUMBER) {
          toLowerWord(wt, word);
          ({ wt, word, rest } = nextWord(rs, rest));
        }
        if (wt !== W_INVALID && wt !== W_PUNCT) out.push(connector);
        break;
      case W_CONNECTOR:
        toLowerWord(prev, last);
        break;
      case W_PUNCT:
        break;
      default: {
        if (wt !== W_NUMBER) {
          if (wt !== W_CONNECTOR && wt !== W_PUNCT) out.push(connector);
          break;
        }
        if (rest >= rs.length) break;
        const lastNum = word;
        ({ wt, word, rest } = nextWord(rs, rest));
        if (wt !== W_ALPHA) {
          toLowerWord(W_NUMBER, lastNum);
          if (wt !== W_CONNECTOR && wt !== W_PUNCT) out.push(connector);
          break;
        }
        out.push(connector);
        toLowerWord(W_NUMBER, lastNum);
        while (wt === W_ALPHA || wt === W_NUMBER) {
          toLowerWord(wt, word);
          ({ wt, word, rest } = nextWord(rs, rest));
        }
        if (wt !== W_INVALID && wt !== W_CONNECTOR && wt !== W_PUNCT) out.push(connector);
      }
    }
  }
  toLowerWord(wt, word);
  return String.fromCodePoint(...out);
}

function goSplit(s: string, sep: string, n: number): string[] | null {
  if (n === 0) return null;
  if (sep === '') {
    const rs = [...s];
    if (n < 0 || n >= rs.length) return rs;
    return [...rs.slice(0, n - 1), rs.slice(n - 1).join('')];
  }
  if (n < 0) return s.split(sep);
  const out: string[] = [];
  let rest = s;
  while (out.length < n - 1) {
    const k = rest.indexOf(sep);
    if (k < 0) break;
    out.push(rest.slice(0, k));
    rest = rest.slice(k + sep.length);
  }
  out.push(rest);
  return out;
}

function splitMap(parts: string[] | null): GoMap {
  const m: GoMap = new Map();
  (parts ?? []).forEach((p, i) => {
    m.set(`_${i}`, p);
  });
  return typedMap(m, 'string');
}

function untilStep(start: number, stop: number, step: number, ctx: CallContext): GoValue[] {
  const out: GoValue[] = [];
  const count =
    stop < start
      ? step >= 0
        ? 0
        : Math.ceil((start - stop) / -step)
      : step <= 0
        ? 0
        : Math.ceil((stop - start) / step);
  checkListSize(count);
  ctx.charge(count);
  if (stop < start) {
    for (let i = start; i > stop; i += step) out.push(int(i));
  } else {
    for (let i = start; i < stop; i += step) out.push(int(i));
  }
  return typedSlice(out, 'int');
}

function deepCopy(v: GoValue, ctx: CallContext): GoValue {
  ctx.charge(1);
  if (Array.isArray(v)) {
    if (isNilObject(v)) return nilSlice(sliceElemType(v));
    return typedSlice(
      v.map((e) => deepCopy(e, ctx)),
      sliceElemType(v),
    );
  }
  if (v instanceof Map) {
    const m: GoMap = new Map();
    for (const [k, e] of v) m.set(k, deepCopy(e, ctx));
    return typedMap(m, mapElemType(v));
  }
  return v;
}

/** mergo 0.3.5's deepMerge for map[string]interface{}, as sprig's merge and mergeOverwrite call it. */
function mergeInto(dst: GoMap, src: GoMap, overwrite: boolean, ctx: CallContext, depth = 0): void {
  if (depth > 100) throw new GoLimitError('merge nests too deeply');
  for (const [key, srcElem] of src) {
    ctx.charge(1);
    if (srcElem === null || isNoValue(srcElem)) continue;
    const had = dst.has(key);
    const dstElem = dst.get(key);
    if (srcElem instanceof Map) {
      if (had) {
        if (dstElem instanceof Map) mergeInto(dstElem, srcElem, overwrite, ctx, depth + 1);
        continue;
      }
    }
    if (overwrite || !had || isEmpty(dstElem)) dst.set(key, srcElem);
  }
}

function uuidV4(ctx: CallContext): string {
  const b = new Uint8Array(16);
  for (let i = 0; i < 16; i += 4) {
    const x = ctx.random32();
    b[i] = x >>> 24;
    b[i + 1] = (x >>> 16) & 255;
    b[i + 2] = (x >>> 8) & 255;
    b[i + 3] = x & 255;
  }
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = hexEncode(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const ALPHA = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';
let ASCII = '';
for (let c = 32; c <= 126; c++) ASCII += String.fromCharCode(c);

function randomString(count: number, alphabet: string, ctx: CallContext): string {
  if (count <= 0) return '';
  if (count > MAX_STRING) throw new GoLimitError(`random string of ${count} characters exceeds the limit`);
  ctx.charge(count);
  let out = '';
  for (let i = 0; i < count; i++) out += alphabet[randomBelow(ctx.random32, alphabet.length)]!;
  return out;
}

function pathClean(p: string): string {
  if (p === '') return '.';
  const rooted = p[0] === '/';
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length > 0 && parts[parts.length - 1] !== '..') parts.pop();
      else if (!rooted) parts.push('..');
      continue;
    }
    parts.push(seg);
  }
  const out = (rooted ? '/' : '') + parts.join('/');
  return out === '' ? '.' : out;
}

function pathBase(p: string): string {
  if (p === '') return '.';
  p = p.replace(/\/+$/, '');
  const i = p.lastIndexOf('/');
  if (i >= 0) p = p.slice(i + 1);
  return p === '' ? '/' : p;
}

function pathDir(p: string): string {
  const i = p.lastIndexOf('/');
  return pathClean(p.slice(0, i + 1));
}

function pathExt(p: string): string {
  for (let i = p.length - 1; i >= 0 && p[i] !== '/'; i--) if (p[i] === '.') return p.slice(i);
  return '';
}

function regex(pattern: string): re.Regexp {
  try {
    return re.compileRegexp(pattern);
  } catch (e) {
    if (e instanceof re.RegexpSyntaxError) {
      throw new GoFuncError(`regexp: Compile(${quote(pattern)}): error parsing regexp: ${e.message}`);
    }
    throw e;
  }
}

function checkRegexInput(pattern: string, s: string): void {
  if (pattern.length > 10_000) throw new GoLimitError('regular expression longer than 10000 characters');
  if (s.length > MAX_STRING) throw new GoLimitError('regular expression input exceeds the string limit');
}

function unavailable(name: string, why: string): FuncDef {
  return {
    params: [],
    variadic: 'any',
    call: () => {
      throw new GoUnavailableError(`function "${name}" is not available: ${why}`);
    },
  };
}

const def = (params: ParamType[], call: FuncDef['call'], variadic?: ParamType): FuncDef =>
  variadic ? { params, variadic, call } : { params, call };

function cmp(f: (a: GoValue, b: GoValue) => boolean): FuncDef {
  return def(['value', 'value'], (a) => f(a[0], a[1]));
}

function listFn(what: string, f: (l: GoValue[], ctx: CallContext) => GoValue): FuncDef {
  return def(['any'], (a, ctx) => {
    const l = asList(a[0], what);
    ctx.charge(l.length);
    return f(l, ctx);
  });
}

function buildFuncs(): Map<string, FuncDef> {
  const m = new Map<string, FuncDef>();
  const add = (name: string, f: FuncDef) => m.set(name, f);

  // text/template builtins (and/or are evaluated by the executor, short-circuiting)
  add(
    'and',
    def(['value'], () => null, 'value'),
  );
  add(
    'or',
    def(['value'], () => null, 'value'),
  );
  add(
    'not',
    def(['value'], (a) => !isTrue(indirect(a[0]))),
  );
  add(
    'len',
    def(['value'], (a) => length(a[0])),
  );
  add(
    'index',
    def(['value'], (a) => index(a), 'value'),
  );
  add(
    'print',
    def([], (a, ctx) => checkString(sprint(a), ctx), 'any'),
  );
  add(
    'printf',
    def(['string'], (a, ctx) => checkString(sprintf(str(a, 0), a.slice(1)), ctx), 'any'),
  );
  add(
    'println',
    def([], (a, ctx) => checkString(sprintln(a), ctx), 'any'),
  );
  add(
    'html',
    def([], (a) => htmlEscape(evalArgs(a)), 'any'),
  );
  add(
    'js',
    def([], (a) => jsEscape(evalArgs(a)), 'any'),
  );
  add(
    'urlquery',
    def([], (a) => queryEscape(evalArgs(a)), 'any'),
  );
  add(
    'eq',
    def(['value'], (a) => eq(a), 'value'),
  );
  add(
    'ne',
    cmp((x, y) => !eq([x, y])),
  );
  add('lt', cmp(lt));
  add(
    'le',
    cmp((x, y) => lt(x, y) || eq([x, y])),
  );
  add(
    'gt',
    cmp((x, y) => !(lt(x, y) || eq([x, y]))),
  );
  add(
    'ge',
    cmp((x, y) => !lt(x, y)),
  );
  add(
    'call',
    def(
      ['value'],
      () => {
        throw new GoFuncError('call is not supported: template data holds no functions');
      },
      'value',
    ),
  );

  // sprig: strings
  add(
    'hello',
    def([], () => 'Hello!'),
  );
  add(
    'abbrev',
    def(['int', 'string'], (a) => (num(a, 0) < 4 ? str(a, 1) : abbreviateFull(str(a, 1), 0, num(a, 0)))),
  );
  add(
    'abbrevboth',
    def(['int', 'int', 'string'], (a) => {
      const left = num(a, 0);
      const right = num(a, 1);
      if (right < 4 || (left > 0 && right < 7)) return str(a, 2);
      return abbreviateFull(str(a, 2), left, right);
    }),
  );
  add(
    'trunc',
    def(['int', 'string'], (a) => {
      const c = num(a, 0);
      const b = utf8Encode(str(a, 1));
      if (b.length <= c) return str(a, 1);
      if (c < 0) throw new GoFuncError(`runtime error: slice bounds out of range [:${c}]`);
      return utf8Decode(b, 0, c);
    }),
  );
  add(
    'trim',
    def(['string'], (a) => trimFunc(str(a, 0), isSpace)),
  );
  add(
    'upper',
    def(['string'], (a) => mapRunes(str(a, 0), toUpper)),
  );
  add(
    'lower',
    def(['string'], (a) => mapRunes(str(a, 0), toLower)),
  );
  add(
    'title',
    def(['string'], (a) => title(str(a, 0))),
  );
  add(
    'untitle',
    def(['string'], (a) => uncapitalize(str(a, 0))),
  );
  add(
    'substr',
    def(['int', 'int', 'string'], (a) => {
      const start = num(a, 0);
      const end = num(a, 1);
      const b = utf8Encode(str(a, 2));
      const bad = () => new GoFuncError('runtime error: slice bounds out of range');
      if (start < 0) {
        if (end < 0 || end > b.length) throw bad();
        return utf8Decode(b, 0, end);
      }
      if (end < 0 || end > b.length) {
        if (start > b.length) throw bad();
        return utf8Decode(b, start);
      }
      if (start > end) throw bad();
      return utf8Decode(b, start, end);
    }),
  );
  add(
    'repeat',
    def(['int', 'string'], (a, ctx) => {
      const count = num(a, 0);
      const s = str(a, 1);
      if (count < 0) throw new GoFuncError('strings: negative Repeat count');
      if (s.length * count > MAX_STRING) {
        throw new GoLimitError(
          `repeat would build ${s.length * count} characters, over the limit of ${MAX_STRING}`,
        );
      }
      return checkString(s.repeat(count), ctx);
    }),
  );
  const trimAll = def(['string', 'string'], (a) => {
    const cut = new Set(runes(str(a, 0)));
    return trimFunc(str(a, 1), (r) => cut.has(r));
  });
  add('trimall', trimAll);
  add('trimAll', trimAll);
  add(
    'trimSuffix',
    def(['string', 'string'], (a) =>
      str(a, 1).endsWith(str(a, 0)) ? str(a, 1).slice(0, str(a, 1).length - str(a, 0).length) : str(a, 1),
    ),
  );
  add(
    'trimPrefix',
    def(['string', 'string'], (a) =>
      str(a, 1).startsWith(str(a, 0)) ? str(a, 1).slice(str(a, 0).length) : str(a, 1),
    ),
  );
  add(
    'nospace',
    def(['string'], (a) => deleteWhiteSpace(str(a, 0))),
  );
  add(
    'initials',
    def(['string'], (a) => initials(str(a, 0))),
  );
  add(
    'randAlphaNum',
    def(['int'], (a, ctx) => randomString(num(a, 0), ALPHA + DIGITS, ctx)),
  );
  add(
    'randAlpha',
    def(['int'], (a, ctx) => randomString(num(a, 0), ALPHA, ctx)),
  );
  add(
    'randAscii',
    def(['int'], (a, ctx) => randomString(num(a, 0), ASCII, ctx)),
  );
  add(
    'randNumeric',
    def(['int'], (a, ctx) => randomString(num(a, 0), DIGITS, ctx)),
  );
  add(
    'swapcase',
    def(['string'], (a) => swapCase(str(a, 0))),
  );
  add(
    'shuffle',
    def(['string'], (a, ctx) => {
      const rs = runes(str(a, 0));
      ctx.charge(rs.length);
      for (let i = rs.length - 1; i > 0; i--) {
        const j = randomBelow(ctx.random32, i + 1);
        [rs[i], rs[j]] = [rs[j]!, rs[i]!];
      }
      return String.fromCodePoint(...rs);
    }),
  );
  add(
    'snakecase',
    def(['string'], (a) => camelCaseToLowerCase(str(a, 0), 0x5f)),
  );
  add(
    'camelcase',
    def(['string'], (a) => toCamelCase(str(a, 0))),
  );
  add(
    'kebabcase',
    def(['string'], (a) => camelCaseToLowerCase(str(a, 0), 0x2d)),
  );
  add(
    'wrap',
    def(['int', 'string'], (a, ctx) => checkString(wrapCustom(str(a, 1), num(a, 0), '', false), ctx)),
  );
  add(
    'wrapWith',
    def(['int', 'string', 'string'], (a, ctx) =>
      checkString(wrapCustom(str(a, 2), num(a, 0), str(a, 1), true), ctx),
    ),
  );
  add(
    'contains',
    def(['string', 'string'], (a) => str(a, 1).includes(str(a, 0))),
  );
  add(
    'hasPrefix',
    def(['string', 'string'], (a) => str(a, 1).startsWith(str(a, 0))),
  );
  add(
    'hasSuffix',
    def(['string', 'string'], (a) => str(a, 1).endsWith(str(a, 0))),
  );
  add(
    'quote',
    def(
      [],
      (a, ctx) =>
        checkString(
          a
            .filter((s) => s !== null)
            .map((s) => quote(strval(s)))
            .join(' '),
          ctx,
        ),
      'any',
    ),
  );
  add(
    'squote',
    def(
      [],
      (a, ctx) =>
        checkString(
          a
            .filter((s) => s !== null)
            .map((s) => `'${formatV(s)}'`)
            .join(' '),
          ctx,
        ),
      'any',
    ),
  );
  add(
    'cat',
    def(
      [],
      (a, ctx) =>
        checkString(
          a
            .filter((s) => s !== null)
            .map((s) => formatV(s))
            .join(' '),
          ctx,
        ),
      'any',
    ),
  );
  const indent = (spaces: number, v: string, ctx: CallContext): string => {
    if (spaces < 0) throw new GoFuncError('strings: negative Repeat count');
    const lines = v.split('\n').length;
    if (spaces * lines + v.length > MAX_STRING) {
      throw new GoLimitError(`indent would build more than ${MAX_STRING} characters`);
    }
    const pad = ' '.repeat(spaces);
    return checkString(pad + v.replaceAll('\n', `\n${pad}`), ctx);
  };
  add(
    'indent',
    def(['int', 'string'], (a, ctx) => indent(num(a, 0), str(a, 1), ctx)),
  );
  add(
    'nindent',
    def(['int', 'string'], (a, ctx) => `\n${indent(num(a, 0), str(a, 1), ctx)}`),
  );
  add(
    'replace',
    def(['string', 'string', 'string'], (a, ctx) => {
      const [oldS, newS, src] = [str(a, 0), str(a, 1), str(a, 2)];
      if (oldS === '') {
        const cs = [...src];
        if ((cs.length + 1) * newS.length + src.length > MAX_STRING)
          throw new GoLimitError('replace result too long');
        return checkString(cs.map((c) => newS + c).join('') + newS, ctx);
      }
      const count = src.split(oldS).length - 1;
      if (src.length + count * (newS.length - oldS.length) > MAX_STRING)
        throw new GoLimitError('replace result too long');
      return checkString(src.replaceAll(oldS, newS), ctx);
    }),
  );
  add(
    'plural',
    def(['string', 'string', 'int'], (a) => (num(a, 2) === 1 ? str(a, 0) : str(a, 1))),
  );
  add(
    'sha1sum',
    def(['string'], (a, ctx) => {
      ctx.charge(str(a, 0).length >> 4);
      return sha1Hex(utf8Encode(str(a, 0)));
    }),
  );
  add(
    'sha256sum',
    def(['string'], (a, ctx) => {
      ctx.charge(str(a, 0).length >> 4);
      return sha256Hex(utf8Encode(str(a, 0)));
    }),
  );
  add(
    'adler32sum',
    def(['string'], (a) => String(adler32(utf8Encode(str(a, 0))))),
  );
  add(
    'toString',
    def(['any'], (a) => strval(a[0])),
  );

  // sprig: conversions and numbers
  add(
    'atoi',
    def(['string'], (a) => int(parseInt64(str(a, 0), 10) ?? 0n)),
  );
  add(
    'int64',
    def(['any'], (a) => i64(toInt64(a[0]))),
  );
  add(
    'int',
    def(['any'], (a) => int(toInt64(a[0]))),
  );
  add(
    'float64',
    def(['any'], (a) => toFloat64(a[0])),
  );
  add(
    'toDecimal',
    def(['any'], (a) => i64(parseInt64(formatV(a[0] === undefined ? null : a[0]), 8) ?? 0n)),
  );
  add(
    'split',
    def(['string', 'string'], (a) => splitMap(goSplit(str(a, 1), str(a, 0), -1))),
  );
  add(
    'splitList',
    def(['string', 'string'], (a) => stringList(goSplit(str(a, 1), str(a, 0), -1) ?? [])),
  );
  add(
    'splitn',
    def(['string', 'int', 'string'], (a) => splitMap(goSplit(str(a, 2), str(a, 0), num(a, 1)))),
  );
  add(
    'toStrings',
    def(['any'], (a) => stringList(strslice(a[0]))),
  );
  add(
    'until',
    def(['int'], (a, ctx) => {
      const count = num(a, 0);
      return untilStep(0, count, count < 0 ? -1 : 1, ctx);
    }),
  );
  add(
    'untilStep',
    def(['int', 'int', 'int'], (a, ctx) => untilStep(num(a, 0), num(a, 1), num(a, 2), ctx)),
  );
  add(
    'add1',
    def(['any'], (a) => i64(toInt64(a[0]) + 1n)),
  );
  add(
    'add',
    def([], (a) => i64(a.reduce<bigint>((s, v) => BigInt.asIntN(64, s + toInt64(v)), 0n)), 'any'),
  );
  add(
    'sub',
    def(['any', 'any'], (a) => i64(toInt64(a[0]) - toInt64(a[1]))),
  );
  const divide = (f: (x: bigint, y: bigint) => bigint) =>
    def(['any', 'any'], (a) => {
      const y = toInt64(a[1]);
      if (y === 0n) throw new GoFuncError('runtime error: integer divide by zero');
      return i64(f(toInt64(a[0]), y));
    });
  add(
    'div',
    divide((x, y) => x / y),
  );
  add(
    'mod',
    divide((x, y) => x % y),
  );
  add(
    'mul',
    def(
      ['any'],
      (a) => i64(a.slice(1).reduce<bigint>((s, v) => BigInt.asIntN(64, s * toInt64(v)), toInt64(a[0]))),
      'any',
    ),
  );
  const maxFn = def(
    ['any'],
    (a) => i64(a.slice(1).reduce<bigint>((m, v) => (toInt64(v) > m ? toInt64(v) : m), toInt64(a[0]))),
    'any',
  );
  add('biggest', maxFn);
  add('max', maxFn);
  add(
    'min',
    def(
      ['any'],
      (a) => i64(a.slice(1).reduce<bigint>((m, v) => (toInt64(v) < m ? toInt64(v) : m), toInt64(a[0]))),
      'any',
    ),
  );
  add(
    'ceil',
    def(['any'], (a) => Math.ceil(toFloat64(a[0]))),
  );
  add(
    'floor',
    def(['any'], (a) => Math.floor(toFloat64(a[0]))),
  );
  add(
    'round',
    def(
      ['any', 'int'],
      (a) => {
        const roundOn = a.length > 2 ? (a[2] as number) : 0.5;
        const val = toFloat64(a[0]);
        const pow = 10 ** num(a, 1);
        const digit = pow * val;
        const frac = digit - Math.trunc(digit);
        const r = frac >= roundOn ? Math.ceil(digit) : Math.floor(digit);
        return r / pow;
      },
      'float64',
    ),
  );
  add(
    'join',
    def(['string', 'any'], (a, ctx) => checkString(strslice(a[1]).join(str(a, 0)), ctx)),
  );
  add(
    'sortAlpha',
    def(['any'], (a, ctx) => {
      const v = a[0];
      if (!Array.isArray(v)) return stringList([strval(v)]);
      ctx.charge(v.length);
      return stringList([...strslice(v)].sort(compareStrings));
    }),
  );

  // sprig: defaults, encoding, reflection
  add(
    'default',
    def(['any'], (a) => (a.length < 2 || isEmpty(a[1]) ? a[0] : a[1]), 'any'),
  );
  add(
    'empty',
    def(['any'], (a) => isEmpty(a[0])),
  );
  add(
    'coalesce',
    def([], (a) => a.find((v) => !isEmpty(v)) ?? null, 'any'),
  );
  add(
    'compact',
    listFn('compact', (l) => l.filter((v) => !isEmpty(v))),
  );
  add(
    'deepCopy',
    def(['any'], (a, ctx) => {
      if (a[0] === null || isNoValue(a[0]))
        throw new GoFuncError('reflect: call of reflect.Value.Type on zero Value');
      return deepCopy(a[0], ctx);
    }),
  );
  const toJson = (v: GoValue, ctx: CallContext, indentStr?: string): string => {
    try {
      return checkString(marshal(v, indentStr), ctx);
    } catch (e) {
      if (e instanceof GoFuncError) return '';
      throw e;
    }
  };
  add(
    'toJson',
    def(['any'], (a, ctx) => toJson(a[0], ctx)),
  );
  add(
    'toPrettyJson',
    def(['any'], (a, ctx) => toJson(a[0], ctx, '  ')),
  );
  add(
    'ternary',
    def(['any', 'any', 'bool'], (a) => (a[2] ? a[0] : a[1])),
  );
  add(
    'typeOf',
    def(['any'], (a) => typeString(a[0])),
  );
  add(
    'typeIs',
    def(['string', 'any'], (a) => str(a, 0) === typeString(a[1])),
  );
  add(
    'typeIsLike',
    def(['string', 'any'], (a) => str(a, 0) === typeString(a[1]) || `*${str(a, 0)}` === typeString(a[1])),
  );
  add(
    'kindOf',
    def(['any'], (a) => kindString(a[0])),
  );
  add(
    'kindIs',
    def(['string', 'any'], (a) => str(a, 0) === kindString(a[1])),
  );
  add(
    'deepEqual',
    def(['any', 'any'], (a) => deepEqual(a[0], a[1])),
  );
  add(
    'base',
    def(['string'], (a) => pathBase(str(a, 0))),
  );
  add(
    'dir',
    def(['string'], (a) => pathDir(str(a, 0))),
  );
  add(
    'clean',
    def(['string'], (a) => pathClean(str(a, 0))),
  );
  add(
    'ext',
    def(['string'], (a) => pathExt(str(a, 0))),
  );
  add(
    'isAbs',
    def(['string'], (a) => str(a, 0).startsWith('/')),
  );
  add(
    'b64enc',
    def(['string'], (a, ctx) => checkString(base64Encode(utf8Encode(str(a, 0))), ctx)),
  );
  add(
    'b64dec',
    def(['string'], (a) => {
      const r = base64Decode(utf8Encode(str(a, 0)));
      return 'error' in r ? r.error : utf8Decode(r.bytes);
    }),
  );
  add(
    'b32enc',
    def(['string'], (a, ctx) => checkString(base32Encode(utf8Encode(str(a, 0))), ctx)),
  );
  add(
    'b32dec',
    def(['string'], (a) => {
      const r = base32Decode(utf8Encode(str(a, 0)));
      return 'error' in r ? r.error : utf8Decode(r.bytes);
    }),
  );

  // sprig: lists and dicts
  const list = def([], (a) => [...a], 'any');
  add('list', list);
  add('tuple', list);
  add(
    'dict',
    def(
      [],
      (a) => {
        const d: GoMap = new Map();
        for (let i = 0; i < a.length; i += 2) d.set(strval(a[i]), i + 1 < a.length ? a[i + 1] : '');
        return d;
      },
      'any',
    ),
  );
  add(
    'set',
    def(['map', 'string', 'any'], (a) => {
      const d = map(a, 0);
      if (isNilObject(d)) throw new GoFuncError('assignment to entry in nil map');
      changedInPlace();
      d.set(str(a, 1), a[2]);
      return d;
    }),
  );
  add(
    'unset',
    def(['map', 'string'], (a) => {
      changedInPlace();
      map(a, 0).delete(str(a, 1));
      return map(a, 0);
    }),
  );
  add(
    'hasKey',
    def(['map', 'string'], (a) => map(a, 0).has(str(a, 1))),
  );
  add(
    'pluck',
    def(
      ['string'],
      (a) => a.slice(1).flatMap((d) => ((d as GoMap).has(str(a, 0)) ? [(d as GoMap).get(str(a, 0))] : [])),
      'map',
    ),
  );
  add(
    'keys',
    def([], (a) => stringList(a.flatMap((d) => [...(d as GoMap).keys()].sort(compareStrings))), 'map'),
  );
  add(
    'pick',
    def(
      ['map'],
      (a) => {
        const d = map(a, 0);
        const out: GoMap = new Map();
        for (const k of a.slice(1) as string[]) if (d.has(k)) out.set(k, d.get(k));
        return out;
      },
      'string',
    ),
  );
  add(
    'omit',
    def(
      ['map'],
      (a) => {
        const omit = new Set(a.slice(1) as string[]);
        const out: GoMap = new Map();
        for (const [k, v] of map(a, 0)) if (!omit.has(k)) out.set(k, v);
        return out;
      },
      'string',
    ),
  );
  const merge = (overwrite: boolean) =>
    def(
      ['map'],
      (a, ctx) => {
        let dst = map(a, 0);
        changedInPlace();
        for (const src of a.slice(1) as GoMap[]) {
          if (isNilObject(dst) && !isNilObject(src)) dst = new Map();
          mergeInto(dst, src, overwrite, ctx);
        }
        return dst;
      },
      'map',
    );
  add('merge', merge(false));
  add('mergeOverwrite', merge(true));
  add(
    'values',
    def(['map'], (a) => {
      const d = map(a, 0);
      return [...d.keys()].sort(compareStrings).map((k) => d.get(k));
    }),
  );
  const push = def(['any', 'any'], (a, ctx) => {
    const l = asList(a[0], 'push');
    checkListSize(l.length + 1);
    ctx.charge(l.length);
    return [...l, a[1]];
  });
  add('append', push);
  add('push', push);
  add(
    'prepend',
    def(['any', 'any'], (a, ctx) => {
      const l = asList(a[0], 'prepend');
      checkListSize(l.length + 1);
      ctx.charge(l.length);
      return [a[1], ...l];
    }),
  );
  add(
    'first',
    listFn('find first', (l) => (l.length === 0 ? null : l[0]!)),
  );
  add(
    'last',
    listFn('find last', (l) => (l.length === 0 ? null : l[l.length - 1]!)),
  );
  add(
    'rest',
    listFn('find rest', (l) => (l.length === 0 ? nilSlice() : l.slice(1))),
  );
  add(
    'initial',
    listFn('find initial', (l) => (l.length === 0 ? nilSlice() : l.slice(0, -1))),
  );
  add(
    'reverse',
    listFn('find reverse', (l) => [...l].reverse()),
  );
  add(
    'uniq',
    listFn('find uniq', (l, ctx) => {
      const out: GoValue[] = [];
      for (const v of l) {
        ctx.charge(out.length);
        if (!out.some((o) => deepEqual(v, o))) out.push(v);
      }
      return out;
    }),
  );
  add(
    'without',
    def(
      ['any'],
      (a, ctx) => {
        const l = asList(a[0], 'find without');
        ctx.charge(l.length * a.length);
        return l.filter((v) => !a.slice(1).some((o) => deepEqual(v, o)));
      },
      'any',
    ),
  );
  add(
    'has',
    def(['any', 'any'], (a, ctx) => {
      const hay = a[1];
      if (hay === null) return false;
      const l = asList(hay, 'find has');
      ctx.charge(l.length);
      return l.some((v) => deepEqual(a[0], v));
    }),
  );
  add(
    'slice',
    def(
      ['any'],
      (a) => {
        const v = a[0];
        if (!Array.isArray(v)) {
          if (v === null || isNoValue(v))
            throw new GoFuncError('runtime error: invalid memory address or nil pointer dereference');
          throw new GoFuncError(`list should be type of slice or array but ${kindString(v)}`);
        }
        const l = v.length;
        if (l === 0) return null;
        const start = a.length > 1 ? Number(BigInt.asIntN(64, toInt64(a[1]))) : 0;
        const end = a.length > 2 ? Number(BigInt.asIntN(64, toInt64(a[2]))) : l;
        if (start < 0 || end < start || end > l) {
          throw new GoFuncError(`reflect: slice index out of range`);
        }
        return typedSlice(v.slice(start, end), sliceElemType(v));
      },
      'any',
    ),
  );
  add(
    'concat',
    def(
      [],
      (a, ctx) => {
        const out: GoValue[] = [];
        for (const l of a) {
          const items = asList(l, 'concat type');
          out.push(...items);
          checkListSize(out.length);
          ctx.charge(items.length);
        }
        return out.length === 0 ? nilSlice() : out;
      },
      'any',
    ),
  );
  add(
    'uuidv4',
    def([], (_a, ctx) => uuidV4(ctx)),
  );
  add(
    'fail',
    def(['string'], (a) => {
      throw new GoFuncError(str(a, 0));
    }),
  );

  // sprig: regular expressions (RE2 semantics, linear time, charged to the work budget)
  add(
    'regexMatch',
    def(['string', 'string'], (a, ctx) => {
      checkRegexInput(str(a, 0), str(a, 1));
      let r: re.Regexp;
      try {
        r = re.compileRegexp(str(a, 0));
      } catch (e) {
        if (e instanceof re.RegexpSyntaxError) return false;
        throw e;
      }
      return re.matchString(r, str(a, 1), ctx.charge);
    }),
  );
  add(
    'regexFindAll',
    def(['string', 'string', 'int'], (a, ctx) => {
      checkRegexInput(str(a, 0), str(a, 1));
      const out = re.findAllString(regex(str(a, 0)), str(a, 1), num(a, 2), ctx.charge);
      return out === null ? nilSlice('string') : stringList(out);
    }),
  );
  add(
    'regexFind',
    def(['string', 'string'], (a, ctx) => {
      checkRegexInput(str(a, 0), str(a, 1));
      return re.findString(regex(str(a, 0)), str(a, 1), ctx.charge);
    }),
  );
  const replaceFn = (literal: boolean) =>
    def(['string', 'string', 'string'], (a, ctx) => {
      checkRegexInput(str(a, 0), str(a, 1));
      return checkString(
        re.replaceAllString(regex(str(a, 0)), str(a, 1), str(a, 2), literal, ctx.charge),
        ctx,
      );
    });
  add('regexReplaceAll', replaceFn(false));
  add('regexReplaceAllLiteral', replaceFn(true));
  add(
    'regexSplit',
    def(['string', 'string', 'int'], (a, ctx) => {
      checkRegexInput(str(a, 0), str(a, 1));
      const out = re.split(regex(str(a, 0)), str(a, 1), num(a, 2), ctx.charge);
      return out === null ? nilSlice('string') : stringList(out);
    }),
  );

  // Present in sprig, refused here.
  const env = "templates cannot read the operator's environment";
  add('env', unavailable('env', env));
  add('expandenv', unavailable('expandenv', env));
  add('getHostByName', unavailable('getHostByName', 'templates cannot reach the network'));
  for (const name of [
    'genPrivateKey',
    'derivePassword',
    'buildCustomCert',
    'genCA',
    'genSelfSignedCert',
    'genSignedCert',
    'encryptAES',
    'decryptAES',
  ]) {
    add(name, unavailable(name, 'key and certificate functions are not supported in templates'));
  }
  const clock = 'rendering must be deterministic, so templates cannot read the clock (pass dates in data)';
  for (const name of [
    'now',
    'date',
    'date_in_zone',
    'date_modify',
    'dateInZone',
    'dateModify',
    'htmlDate',
    'htmlDateInZone',
    'ago',
    'toDate',
    'unixEpoch',
  ]) {
    add(name, unavailable(name, clock));
  }
  for (const name of ['semver', 'semverCompare', 'urlParse', 'urlJoin']) {
    add(name, unavailable(name, 'not supported by this operator'));
  }
  return m;
}

export const FUNCS: Map<string, FuncDef> = buildFuncs();
