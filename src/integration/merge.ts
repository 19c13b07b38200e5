// The order in which sources of one side's values are merged, later wins (SPEC.md "Resolution",
// the Go operator's order, kept): Secret, literal, template, ConfigMap, apparatus. Data has no
// template or apparatus source: Secret, literal, ConfigMap.

export type StringMap = Record<string, string>;

export interface ConfigSources {
  secret?: StringMap | undefined;
  literal?: StringMap | undefined;
  template?: StringMap | undefined;
  configMap?: StringMap | undefined;
  apparatus?: StringMap | undefined;
}

export const configSourceOrder = ['secret', 'literal', 'template', 'configMap', 'apparatus'] as const;
export type ConfigSourceName = (typeof configSourceOrder)[number];

export interface Merged {
  values: StringMap;
  /** Which source each key's final value came from (to keep Secret-sourced values out of status). */
  from: Record<string, ConfigSourceName>;
}

/**
 * Sets an own, enumerable key. Plain assignment of `__proto__` (a legal key of a ConfigMap, a
 * literal map or an apparatus answer) changes the prototype instead, or is dropped for a string.
 */
export function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__')
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

export function mergeSources(sources: ConfigSources): Merged {
  const values: StringMap = {};
  const from: Record<string, ConfigSourceName> = {};
  for (const name of configSourceOrder) {
    const src = sources[name];
    if (!src) continue;
    for (const [k, v] of Object.entries(src)) {
      setOwn(values, k, v);
      setOwn(from, k, name);
    }
  }
  return { values, from };
}

/** Values whose winning source was not a Secret (what may be written to status). */
export function withoutSecretValues(m: Merged): StringMap {
  const out: StringMap = {};
  for (const [k, v] of Object.entries(m.values)) if (m.from[k] !== 'secret') setOwn(out, k, v);
  return out;
}
