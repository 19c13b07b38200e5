// Go's encoding/json Marshal and MarshalIndent over our value model: map keys sorted, HTML characters
// escaped as \u003c \u003e \u0026, U+2028/U+2029 escaped, floats formatted like Go (1e+21, 1e-7).

import { compareStrings } from './bytes.ts';
import { GoFuncError } from './errors.ts';
import { GoInt, type GoValue, isNilObject, isNoValue } from './values.ts';

const HEX = '0123456789abcdef';

export function jsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    switch (c) {
      case 0x22:
        out += '\\"';
        continue;
      case 0x5c:
        out += '\\\\';
        continue;
      case 0x08:
        out += '\\b';
        continue;
      case 0x0c:
        out += '\\f';
        continue;
      case 0x0a:
        out += '\\n';
        continue;
      case 0x0d:
        out += '\\r';
        continue;
      case 0x09:
        out += '\\t';
        continue;
      case 0x3c:
      case 0x3e:
      case 0x26:
        out += `\\u00${HEX[c >> 4]!}${HEX[c & 15]!}`;
        continue;
      case 0x2028:
      case 0x2029:
        out += `\\u${c.toString(16)}`;
        continue;
    }
    if (c < 0x20) out += `\\u00${HEX[c >> 4]!}${HEX[c & 15]!}`;
    else out += s[i];
  }
  return `${out}"`;
}

function jsonFloat(f: number): string {
  if (!Number.isFinite(f)) throw new GoFuncError(`json: unsupported value: ${f}`);
  if (Object.is(f, -0)) return '-0';
  return String(f);
}

/** json.Marshal; throws GoFuncError on NaN/Inf (Go returns an error). */
export function marshal(v: GoValue, indent?: string, level = 0): string {
  if (v === null || isNoValue(v)) return 'null';
  if (typeof v === 'string') return jsonString(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return jsonFloat(v);
  if (v instanceof GoInt) return v.v.toString();
  const nl = indent === undefined ? '' : `\n${indent.repeat(level + 1)}`;
  const close = indent === undefined ? '' : `\n${indent.repeat(level)}`;
  if (Array.isArray(v)) {
    if (isNilObject(v)) return 'null';
    if (v.length === 0) return '[]';
    return `[${v.map((e) => nl + marshal(e, indent, level + 1)).join(',')}${close}]`;
  }
  if (isNilObject(v)) return 'null';
  if (v.size === 0) return '{}';
  const sep = indent === undefined ? ':' : ': ';
  const keys = [...v.keys()].sort(compareStrings);
  return `{${keys.map((k) => nl + jsonString(k) + sep + marshal(v.get(k), indent, level + 1)).join(',')}${close}}`;
}
