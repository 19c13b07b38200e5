// UTF-8, base64/base32 and hex in plain TypeScript: the engine runs in a bare QuickJS context that has no
// TextEncoder, TextDecoder, atob, btoa or Buffer. Go strings are byte strings; ours are JS strings, converted
// to UTF-8 bytes where Go's behaviour depends on bytes (len, slicing, hashes, encodings).

export const RUNE_ERROR = 0xfffd;

export function utf8Encode(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      } else {
        c = RUNE_ERROR;
      }
    } else if (c >= 0xd800 && c <= 0xdfff) {
      c = RUNE_ERROR;
    }
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  return Uint8Array.from(out);
}

/** Go's utf8.DecodeRune: returns [rune, size]; an invalid byte decodes as (RuneError, 1). */
export function decodeRune(b: Uint8Array, i: number): [number, number] {
  const n = b.length - i;
  if (n <= 0) return [RUNE_ERROR, 0];
  const b0 = b[i]!;
  if (b0 < 0x80) return [b0, 1];
  if (b0 < 0xc2 || b0 > 0xf4) return [RUNE_ERROR, 1];
  const cont = (x: number | undefined): boolean => x !== undefined && (x & 0xc0) === 0x80;
  if (b0 < 0xe0) {
    if (n < 2 || !cont(b[i + 1])) return [RUNE_ERROR, 1];
    return [((b0 & 0x1f) << 6) | (b[i + 1]! & 0x3f), 2];
  }
  if (b0 < 0xf0) {
    const b1 = b[i + 1];
    if (n < 3 || b1 === undefined || !cont(b[i + 2])) return [RUNE_ERROR, 1];
    if (b0 === 0xe0 ? b1 < 0xa0 || b1 > 0xbf : b0 === 0xed ? b1 < 0x80 || b1 > 0x9f : !cont(b1)) {
      return [RUNE_ERROR, 1];
    }
    return [((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b[i + 2]! & 0x3f), 3];
  }
  const b1 = b[i + 1];
  if (n < 4 || b1 === undefined || !cont(b[i + 2]) || !cont(b[i + 3])) return [RUNE_ERROR, 1];
  if (b0 === 0xf0 ? b1 < 0x90 || b1 > 0xbf : b0 === 0xf4 ? b1 < 0x80 || b1 > 0x8f : !cont(b1)) {
    return [RUNE_ERROR, 1];
  }
  return [((b0 & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b[i + 2]! & 0x3f) << 6) | (b[i + 3]! & 0x3f), 4];
}

/** Decodes bytes; each invalid byte becomes U+FFFD (what Go yields when it ranges over such a string). */
export function utf8Decode(b: Uint8Array, start = 0, end = b.length): string {
  let out = '';
  let chunk: number[] = [];
  for (let i = start; i < end; ) {
    const [r, size] = decodeRune(b.subarray(0, end), i);
    chunk.push(r);
    if (chunk.length >= 4096) {
      out += String.fromCodePoint(...chunk);
      chunk = [];
    }
    i += size;
  }
  return out + String.fromCodePoint(...chunk);
}

export function byteLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/** Code points of a string (Go's []rune(s)). */
export function runes(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) out.push(ch.codePointAt(0)!);
  return out;
}

export function runeCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** Go's string ordering: bytewise on UTF-8, which equals code point order. */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      const xs = x >= 0xd800 && x <= 0xdfff;
      const ys = y >= 0xd800 && y <= 0xdfff;
      if (xs !== ys) return xs ? 1 : -1; // a surrogate encodes a code point above every BMP char
      return x < y ? -1 : 1;
    }
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

/** Byte-offset slicing of a string, as Go's s[start:end]; a cut inside a character yields U+FFFD. */
export function byteSlice(s: string, start: number, end?: number): string {
  const b = utf8Encode(s);
  return utf8Decode(b, start, end ?? b.length);
}

const HEX = '0123456789abcdef';
export function hexEncode(b: Uint8Array): string {
  let out = '';
  for (const x of b) out += HEX[x >> 4]! + HEX[x & 15]!;
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
export function base64Encode(b: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const v = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    out += B64[v >> 18]! + B64[(v >> 12) & 63]! + B64[(v >> 6) & 63]! + B64[v & 63]!;
  }
  const rest = b.length - i;
  if (rest === 1) {
    const v = b[i]! << 16;
    out += `${B64[v >> 18]!}${B64[(v >> 12) & 63]!}==`;
  } else if (rest === 2) {
    const v = (b[i]! << 16) | (b[i + 1]! << 8);
    out += `${B64[v >> 18]!}${B64[(v >> 12) & 63]!}${B64[(v >> 6) & 63]!}=`;
  }
  return out;
}

function decodeMap(alphabet: string): Int16Array {
  const m = new Int16Array(256).fill(-1);
  for (let i = 0; i < alphabet.length; i++) m[alphabet.charCodeAt(i)] = i;
  return m;
}
const B64_DECODE = decodeMap(B64);

/** Go's base64.StdEncoding.DecodeString; on error returns Go's error text. */
export function base64Decode(src: Uint8Array): { bytes: Uint8Array } | { error: string } {
  const out: number[] = [];
  const err = (at: number) => ({ error: `illegal base64 data at input byte ${at}` });
  let si = 0;
  const isNl = (c: number | undefined) => c === 10 || c === 13;
  for (;;) {
    const dbuf = [0, 0, 0, 0];
    let dlen = 4;
    let trailingErr = -1;
    let done = false;
    for (let j = 0; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return { bytes: Uint8Array.from(out) };
        return err(si - j);
      }
      const c = src[si]!;
      si++;
      const v = B64_DECODE[c]!;
      if (v >= 0) {
        dbuf[j] = v;
        continue;
      }
      if (isNl(c)) {
        j--;
        continue;
      }
      if (c !== 61) return err(si - 1);
      if (j === 0 || j === 1) return err(si - 1);
      if (j === 2) {
        while (si < src.length && isNl(src[si])) si++;
        if (si === src.length) return err(src.length);
        if (src[si] !== 61) return err(si - 1);
        si++;
      }
      while (si < src.length && isNl(src[si])) si++;
      if (si < src.length) trailingErr = si;
      dlen = j;
      done = true;
      break;
    }
    const val = (dbuf[0]! << 18) | (dbuf[1]! << 12) | (dbuf[2]! << 6) | dbuf[3]!;
    const bytes = [(val >> 16) & 255, (val >> 8) & 255, val & 255];
    for (let k = 0; k < dlen - 1; k++) out.push(bytes[k]!);
    if (trailingErr >= 0) return err(trailingErr);
    if (done) return { bytes: Uint8Array.from(out) };
  }
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const B32_DECODE = decodeMap(B32);
export function base32Encode(b: Uint8Array): string {
  let out = '';
  for (let i = 0; i < b.length; i += 5) {
    const chunk = b.subarray(i, i + 5);
    let bits = 0n;
    for (let k = 0; k < 5; k++) bits = (bits << 8n) | BigInt(chunk[k] ?? 0);
    const chars = [1, 2, 4, 5, 7, 8][chunk.length] ?? 8;
    for (let k = 0; k < 8; k++) {
      out += k < chars ? B32[Number((bits >> BigInt(35 - 5 * k)) & 31n)]! : '=';
    }
  }
  return out;
}

/** Go's base32.StdEncoding.DecodeString (newlines stripped first); on error returns Go's error text. */
export function base32Decode(input: Uint8Array): { bytes: Uint8Array } | { error: string } {
  const src = input.filter((c) => c !== 10 && c !== 13);
  const olen = src.length;
  const out: number[] = [];
  const err = (at: number) => ({ error: `illegal base32 data at input byte ${at}` });
  let p = 0;
  let end = false;
  while (p < olen && !end) {
    const dbuf = [0, 0, 0, 0, 0, 0, 0, 0];
    let dlen = 8;
    for (let j = 0; j < 8; ) {
      if (p === olen) return err(olen - (olen - p) - j);
      const c = src[p]!;
      p++;
      const remaining = olen - p;
      if (c === 61 && j >= 2 && remaining < 8) {
        if (remaining + j < 8 - 1) return err(olen);
        for (let k = 0; k < 8 - 1 - j; k++) {
          if (remaining > k && src[p + k] !== 61) return err(olen - remaining + k - 1);
        }
        dlen = j;
        end = true;
        if (dlen === 1 || dlen === 3 || dlen === 6) return err(olen - remaining - 1);
        break;
      }
      const v = B32_DECODE[c]!;
      if (v < 0) return err(olen - remaining - 1);
      dbuf[j] = v;
      j++;
    }
    const d = dbuf as [number, number, number, number, number, number, number, number];
    const bytes = [
      ((d[0] << 3) | (d[1] >> 2)) & 255,
      ((d[1] << 6) | (d[2] << 1) | (d[3] >> 4)) & 255,
      ((d[3] << 4) | (d[4] >> 1)) & 255,
      ((d[4] << 7) | (d[5] << 2) | (d[6] >> 3)) & 255,
      ((d[6] << 5) | d[7]) & 255,
    ];
    const n = { 8: 5, 7: 4, 5: 3, 4: 2, 2: 1 }[dlen] ?? 0;
    for (let k = 0; k < n; k++) out.push(bytes[k]!);
  }
  return { bytes: Uint8Array.from(out) };
}
