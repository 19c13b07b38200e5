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

export function mergeSources(sources: ConfigSources): Merged {
  const values: StringMap = {};
  const from: Record<string, ConfigSourceName> = {};
  for (const name of configSourceOrder) {
    const src = sources[name];
    if (!src) continue;
    for (const [k, v] of Object.entries(src)) {
      values[k] = v;
      from[k] = name;
    }
  }
  return { values, from };
}

/** Values whose winning source was not a Secret (what may be written to status). */
export function withoutSecretValues(m: Merged): StringMap {
  const out: StringMap = {};
  for (const [k, v] of Object.entries(m.values)) if (m.from[k] !== 'secret') out[k] = v;
  return out;
}
