// The Go value model. Template data is JSON decoded the way the Go operator did (map[string]interface{},
// every number a float64); template literals and sprig results add Go's integer types and typed slices/maps.
//
//   undefined / Missing  Go's invalid reflect.Value ("no value"); Missing also remembers the key path
//   null                 a nil interface{} (JSON null)
//   string, boolean      string, bool
//   number               float64
//   GoInt                int, int64, uint8... (exact, as a bigint)
//   GoValue[]            a slice (element type in sliceTypes, default interface {})
//   GoMap                a map with string keys (value type in mapTypes, default interface {})

export type IntType = 'int' | 'int64' | 'int32' | 'uint8' | 'uint32' | 'uint64';

export class GoInt {
  readonly type: IntType;
  readonly v: bigint;
  constructor(type: IntType, v: bigint) {
    this.type = type;
    this.v = v;
  }
}

export class Missing {
  readonly path: string;
  constructor(path: string) {
    this.path = path;
  }
}

export type GoMap = Map<string, GoValue>;
export type GoValue = undefined | null | string | boolean | number | GoInt | Missing | GoValue[] | GoMap;

const sliceTypes = new WeakMap<object, string>();
const mapTypes = new WeakMap<object, string>();
const nilObjects = new WeakSet<object>();

export const ANY = 'interface {}';

export function isNoValue(v: GoValue): v is undefined | Missing {
  return v === undefined || v instanceof Missing;
}

export function int(v: bigint | number, type: IntType = 'int'): GoInt {
  const b = typeof v === 'bigint' ? v : BigInt(v);
  return new GoInt(type, wrapInt(b, type));
}

export function wrapInt(v: bigint, type: IntType): bigint {
  switch (type) {
    case 'int':
    case 'int64':
      return BigInt.asIntN(64, v);
    case 'int32':
      return BigInt.asIntN(32, v);
    case 'uint8':
      return BigInt.asUintN(8, v);
    case 'uint32':
      return BigInt.asUintN(32, v);
    case 'uint64':
      return BigInt.asUintN(64, v);
  }
}

export function isUnsigned(t: IntType): boolean {
  return t === 'uint8' || t === 'uint32' || t === 'uint64';
}

export function typedSlice(items: GoValue[], elem: string): GoValue[] {
  if (elem !== ANY) sliceTypes.set(items, elem);
  return items;
}

export function nilSlice(elem: string = ANY): GoValue[] {
  const s: GoValue[] = [];
  nilObjects.add(s);
  return typedSlice(s, elem);
}

export function typedMap(m: GoMap, elem: string): GoMap {
  if (elem !== ANY) mapTypes.set(m, elem);
  return m;
}

export function nilMap(elem: string = ANY): GoMap {
  const m: GoMap = new Map();
  nilObjects.add(m);
  return typedMap(m, elem);
}

export function isNilObject(v: object): boolean {
  return nilObjects.has(v);
}

export function sliceElemType(s: GoValue[]): string {
  return sliceTypes.get(s) ?? ANY;
}

export function mapElemType(m: GoMap): string {
  return mapTypes.get(m) ?? ANY;
}

/** Go's reflect type string of a dynamic value (fmt's %T). */
export function typeString(v: GoValue): string {
  if (v === null || isNoValue(v)) return '<nil>';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'number':
      return 'float64';
  }
  if (v instanceof GoInt) return v.type;
  if (Array.isArray(v)) return `[]${sliceElemType(v)}`;
  return `map[string]${mapElemType(v)}`;
}

/** reflect.Kind name, as sprig's kindOf reports it: the type's name for scalars. */
export function kindString(v: GoValue): string {
  if (v === null || isNoValue(v)) return 'invalid';
  if (Array.isArray(v)) return 'slice';
  if (v instanceof Map) return 'map';
  return typeString(v);
}

/** text/template's truth: false, 0, nil, empty string/slice/map and no value are false. */
export function isTrue(v: GoValue): boolean {
  if (v === null || isNoValue(v)) return false;
  switch (typeof v) {
    case 'string':
      return v.length > 0;
    case 'boolean':
      return v;
    case 'number':
      return v !== 0;
  }
  if (v instanceof GoInt) return v.v !== 0n;
  if (Array.isArray(v)) return v.length > 0;
  return v.size > 0;
}

/** sprig's empty(): like !isTrue, for interface{} arguments. */
export function isEmpty(v: GoValue): boolean {
  return !isTrue(v);
}

function isPlainObject(x: object): x is Record<string, unknown> {
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/**
 * In-place changes of maps (sprig's `set`, `unset`, `merge`, `mergeOverwrite`): the engine reuses data
 * converted by fromJSON for the next template of the same render only while this count has not moved.
 */
let inPlaceChanges = 0;
export function changedInPlace(): void {
  inPlaceChanges++;
}
export function inPlaceChangeCount(): number {
  return inPlaceChanges;
}

/**
 * Converts JSON-shaped input into Go values exactly as json.Unmarshal into map[string]interface{} would:
 * objects become maps, arrays []interface{}, numbers float64. Input is copied, never aliased.
 */
export function fromJSON(x: unknown, depth = 0): GoValue {
  if (depth > 200) throw new RangeError('data nested too deeply');
  if (x === null || x === undefined) return null;
  switch (typeof x) {
    case 'string':
    case 'boolean':
      return x;
    case 'number':
      return x;
    case 'bigint':
      return Number(x);
    case 'object':
      if (Array.isArray(x)) return x.map((e) => fromJSON(e, depth + 1));
      if (x instanceof Map) {
        const m: GoMap = new Map();
        for (const [k, v] of x) m.set(String(k), fromJSON(v, depth + 1));
        return m;
      }
      if (isPlainObject(x)) {
        const m: GoMap = new Map();
        for (const k of Object.keys(x)) m.set(k, fromJSON(x[k], depth + 1));
        return m;
      }
      return null;
    default:
      return null;
  }
}

/** Go's reflect.DeepEqual for our value model. */
export function deepEqual(a: GoValue, b: GoValue): boolean {
  if (isNoValue(a) || a === null) return isNoValue(b) || b === null;
  if (isNoValue(b) || b === null) return false;
  if (typeof a !== typeof b) return false;
  if (typeof a === 'number') return a === b;
  if (typeof a === 'string' || typeof a === 'boolean') return a === b;
  if (a instanceof GoInt) return b instanceof GoInt && a.type === b.type && a.v === b.v;
  if (typeString(a) !== typeString(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (isNilObject(a) !== isNilObject(b)) return false;
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (a instanceof Map && b instanceof Map) {
    if (isNilObject(a) !== isNilObject(b)) return false;
    if (a.size !== b.size) return false;
    for (const [k, v] of a) {
      if (!b.has(k) || !deepEqual(v, b.get(k))) return false;
    }
    return true;
  }
  return false;
}
