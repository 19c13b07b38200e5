// Resolution of a coupling's inputs (SPEC.md "Resolution"): data, vars, config and results of both
// sides from literals, ConfigMaps, Secrets, templates and the apparatus, merged in the Go
// operator's order and validated against the socket's interface. Reads are made as the owner's
// ServiceAccount, only in the owner's namespace. The pure parts live in src/integration.
import type { Var } from '../api/common.ts';
import type { Socket } from '../api/socket.ts';
import { Reason } from '../integration/conditions.ts';
import { FieldPathError, readFieldPath } from '../integration/field-path.ts';
import { inputsHash } from '../integration/hash.ts';
import { validateSide } from '../integration/interface.ts';
import { type Merged, mergeSources, type StringMap } from '../integration/merge.ts';
import { redactSecrets, secretStrings } from '../integration/secrets.ts';
import type { Identity } from '../kube/client.ts';
import type { Kube } from '../kube/objects.ts';
import type { KubeObject, ObjectRef } from '../kube/types.ts';
import { objectKey } from '../kube/types.ts';
import type { ApparatusService } from './apparatus.ts';
import { StepError, toStepError } from './errors.ts';
import { describeOwner, type Owner, withoutStatus } from './owner.ts';
import type { ReadSlot, References } from './references.ts';
import type { TemplateEngine } from './templates.ts';

export interface SideInputs {
  data: StringMap;
  vars: StringMap | undefined;
  config: Merged;
}

export interface CouplingInputs {
  plug: SideInputs;
  socket: SideInputs;
  /** Digest of everything an `updated` event depends on. */
  hash: string;
  /** Digest of the inputs other than the apparatus /config answers. */
  sourcesHash: string;
  warnings: string[];
  /** Values read from Secrets (both sides), to keep out of messages and status (see secrets.ts). */
  secretValues: string[];
}

export interface Results {
  plug: Merged;
  socket: Merged;
  warnings: string[];
  /** Values read from Secrets for the results. */
  secretValues: string[];
}

/** What a resolution found when nothing but the apparatus could have changed (see resolveCoupling). */
export interface UnchangedInputs {
  unchanged: true;
  sourcesHash: string;
}

export interface Resolver {
  /**
   * Resolves both sides. With `knownSourcesHash` (the sources hash recorded with the last performed
   * event): when the inputs other than the apparatus are unchanged, returns `{ unchanged: true }`
   * WITHOUT calling the apparatus. A pass caused by a change elsewhere (another referenced object,
   * the status of a resultVars object) must not call the apparatus each time: that would keep
   * managed apparatus Pods alive and load the services. An apparatus whose answer changes on its
   * own is noticed at the next real change; `epoch` forces one.
   */
  resolveCoupling(
    plug: Owner,
    socket: Owner,
    signal?: AbortSignal,
    knownSourcesHash?: string,
  ): Promise<CouplingInputs | UnchangedInputs>;
  resolveResults(plug: Owner, socket: Owner, inputs: CouplingInputs, signal?: AbortSignal): Promise<Results>;
}

/**
 * An error whose message no longer holds a value read from a Secret: a tenant template that used
 * one can put it into its error (a thrown value, Go's `fail`).
 */
export function redactedError(err: unknown, secretValues: readonly string[]): StepError {
  const e = toStepError(err);
  const secrets = secretStrings(secretValues);
  const message = redactSecrets(e.message, secrets);
  return message === e.message ? e : e.withMessage(message);
}

/** Reads one referenced object as an identity (undefined: it does not exist). */
type Read = (
  ref: ObjectRef & { namespace: string },
  as: Identity,
  signal?: AbortSignal,
) => Promise<KubeObject | undefined>;

export class DefaultResolver implements Resolver {
  private readonly kube: Kube;
  private readonly templates: TemplateEngine | undefined;
  private readonly apparatus: ApparatusService | undefined;
  private readonly references: References | undefined;

  constructor(deps: {
    kube: Kube;
    templates?: TemplateEngine;
    apparatus?: ApparatusService;
    /** Shared, watched reads of referenced objects (without: a GET per read). */
    references?: References;
  }) {
    this.kube = deps.kube;
    this.templates = deps.templates;
    this.apparatus = deps.apparatus;
    this.references = deps.references;
  }

  /**
   * Runs one resolution for a plug's coupling with a reader of referenced objects, and records
   * what it read (also when it failed part way: a missing Secret that appears must requeue it).
   */
  private async withReads<T>(plug: Owner, slot: ReadSlot, fn: (read: Read) => Promise<T>): Promise<T> {
    const refs = this.references;
    if (!refs) return fn((ref, as, signal) => this.kube.get(ref, { as, ...(signal ? { signal } : {}) }));
    const reads = refs.session();
    try {
      return await fn((ref, as, signal) => refs.read(ref, as, reads, signal));
    } finally {
      refs.track(objectKey(plug.namespace, plug.name), slot, reads);
    }
  }

  /** Reads a ConfigMap's or Secret's string data as the owner, in the owner's namespace. */
  private async readMap(
    read: Read,
    o: Owner,
    kind: 'ConfigMap' | 'Secret',
    name: string | undefined,
    field: string,
    signal?: AbortSignal,
    secretSink?: string[],
  ): Promise<StringMap | undefined> {
    if (!name) return undefined;
    let obj: KubeObject | undefined;
    try {
      obj = await read({ apiVersion: 'v1', kind, name, namespace: o.namespace }, o.as, signal);
    } catch (err) {
      throw toStepError(err, `${field} of ${describeOwner(o)}`);
    }
    if (!obj) {
      throw new StepError(
        Reason.ConfigInvalid,
        `${kind} ${o.namespace}/${name} (${field} of ${describeOwner(o)}) not found`,
      );
    }
    const out: StringMap = {};
    const data = (obj.data ?? {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(data)) {
      if (typeof v !== 'string') continue;
      out[k] = kind === 'Secret' ? Buffer.from(v, 'base64').toString('utf8') : v;
    }
    if (kind === 'Secret') secretSink?.push(...Object.values(out));
    return out;
  }

  private async data(
    read: Read,
    o: Owner,
    signal: AbortSignal | undefined,
    secretSink: string[],
  ): Promise<StringMap> {
    const [secret, configMap] = await Promise.all([
      this.readMap(read, o, 'Secret', o.spec.dataSecretName, 'dataSecretName', signal, secretSink),
      this.readMap(read, o, 'ConfigMap', o.spec.dataConfigMapName, 'dataConfigMapName', signal),
    ]);
    return mergeSources({ secret, literal: o.spec.data, configMap }).values;
  }

  private async renderOne(template: string, data: unknown, o: Owner, what: string, signal?: AbortSignal) {
    if (!/\{%/.test(template)) return template;
    if (!this.templates) throw new StepError(Reason.TemplateError, `${what}: templating is not available`);
    try {
      return (
        await this.templates.renderString(template, data, {
          seed: `${o.uid}/${what}`,
          name: what,
          ...(signal ? { signal } : {}),
        })
      ).output;
    } catch (err) {
      throw toStepError(err, what);
    }
  }

  /** Resolves vars (or resultVars) of an owner: each read as the owner, in its namespace. */
  private async vars(
    read: Read,
    o: Owner,
    vars: Var[] | undefined,
    field: 'vars' | 'resultVars',
    templateData: unknown,
    signal?: AbortSignal,
  ): Promise<StringMap | undefined> {
    if (!vars) return undefined;
    const out: StringMap = {};
    for (const v of vars) {
      const what = `${field} ${v.name} of ${describeOwner(o)}`;
      const ref = v.objref ?? {};
      const apiVersion =
        ref.apiVersion || (ref.version ? (ref.group ? `${ref.group}/${ref.version}` : ref.version) : '');
      if (!apiVersion || !ref.kind) {
        throw new StepError(
          Reason.ConfigInvalid,
          `${what}: objref needs apiVersion (or group and version) and kind`,
        );
      }
      const name = ref.templateName
        ? await this.renderOne(ref.templateName, templateData, o, `${what} templateName`, signal)
        : ref.name;
      const namespace = ref.templateNamespace
        ? await this.renderOne(ref.templateNamespace, templateData, o, `${what} templateNamespace`, signal)
        : ref.namespace || o.namespace;
      if (!name) throw new StepError(Reason.ConfigInvalid, `${what}: objref has no name`);
      if (namespace !== o.namespace) {
        throw new StepError(
          Reason.Forbidden,
          `${what}: reads ${ref.kind} ${namespace}/${name}, outside the owner's namespace ${o.namespace}`,
        );
      }
      let obj: KubeObject | undefined;
      try {
        obj = await read({ apiVersion, kind: ref.kind, name, namespace }, o.as, signal);
      } catch (err) {
        if (err instanceof Error && err.name === 'NoKindMatchError')
          throw new StepError(Reason.ConfigInvalid, `${what}: ${err.message}`);
        throw toStepError(err, what);
      }
      if (!obj)
        throw new StepError(Reason.ConfigInvalid, `${what}: ${ref.kind} ${namespace}/${name} not found`);
      const path = v.fieldref?.fieldPath || 'metadata.name';
      try {
        out[v.name] = readFieldPath(obj, path);
      } catch (err) {
        if (err instanceof FieldPathError) {
          throw new StepError(
            Reason.ConfigInvalid,
            `${what}: ${err.message} on ${ref.kind} ${namespace}/${name}`,
          );
        }
        throw err;
      }
    }
    return out;
  }

  /**
   * Renders a configTemplate/resultTemplate. The seed of the Go dialect's random functions is the
   * owner, the other side of the coupling and the field: a generated password is stable for this
   * coupling (the same at coupled, updated and every re-read) and differs between couplings.
   */
  private async renderMap(
    o: Owner,
    peer: Owner,
    templates: Record<string, string> | undefined,
    data: unknown,
    field: string,
    signal?: AbortSignal,
  ): Promise<{ values: StringMap | undefined; warnings: string[] }> {
    if (!templates || Object.keys(templates).length === 0) return { values: undefined, warnings: [] };
    const what = `${field} of ${describeOwner(o)}`;
    if (!Object.values(templates).some((t) => t.includes('{%')))
      return { values: { ...templates }, warnings: [] };
    if (!this.templates) throw new StepError(Reason.TemplateError, `${what}: templating is not available`);
    try {
      return await this.templates.renderMap(templates, data, {
        seed: `${o.uid}/${peer.uid}/${field}`,
        name: what,
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      throw toStepError(err, what);
    }
  }

  /** One side's config sources other than the apparatus. */
  private async sideSources(
    read: Read,
    o: Owner,
    plug: Owner,
    socket: Owner,
    data: { plugData: StringMap; socketData: StringMap },
    vars: StringMap | undefined,
    warnings: string[],
    signal: AbortSignal | undefined,
    secretSink: string[],
  ) {
    // The other side is seen without its status (no tenant sees the socket's list of plugs).
    const plugObj = o === plug ? plug.raw : withoutStatus(plug.raw);
    const socketObj = o === socket ? socket.raw : withoutStatus(socket.raw);
    const tplData = {
      plug: plugObj,
      socket: socketObj,
      plugData: data.plugData,
      socketData: data.socketData,
      vars: vars ?? {},
    };
    const [secret, configMap, tpl] = await Promise.all([
      this.readMap(read, o, 'Secret', o.spec.configSecretName, 'configSecretName', signal, secretSink),
      this.readMap(read, o, 'ConfigMap', o.spec.configConfigMapName, 'configConfigMapName', signal),
      this.renderMap(o, o === plug ? socket : plug, o.spec.configTemplate, tplData, 'configTemplate', signal),
    ]);
    warnings.push(...tpl.warnings);
    return { secret, literal: o.spec.config, template: tpl.values, configMap };
  }

  async resolveCoupling(
    plug: Owner,
    socket: Owner,
    signal?: AbortSignal,
    knownSourcesHash?: string,
  ): Promise<CouplingInputs | UnchangedInputs> {
    const secretValues: string[] = [];
    try {
      return await this.withReads(plug, 'coupling', (read) =>
        this.resolveCouplingWith(read, plug, socket, secretValues, signal, knownSourcesHash),
      );
    } catch (err) {
      throw redactedError(err, secretValues);
    }
  }

  private async resolveCouplingWith(
    read: Read,
    plug: Owner,
    socket: Owner,
    secretValues: string[],
    signal?: AbortSignal,
    knownSourcesHash?: string,
  ): Promise<CouplingInputs | UnchangedInputs> {
    const warnings: string[] = [];
    const [plugData, socketData] = await Promise.all([
      this.data(read, plug, signal, secretValues),
      this.data(read, socket, signal, secretValues),
    ]);
    const varData = (o: Owner) => ({
      plug: o === plug ? plug.raw : withoutStatus(plug.raw),
      socket: o === socket ? socket.raw : withoutStatus(socket.raw),
    });
    const [plugVars, socketVars] = await Promise.all([
      this.vars(read, plug, plug.spec.vars, 'vars', varData(plug), signal),
      this.vars(read, socket, socket.spec.vars, 'vars', varData(socket), signal),
    ]);
    const data = { plugData, socketData };
    const [plugSources, socketSources] = await Promise.all([
      this.sideSources(read, plug, plug, socket, data, plugVars, warnings, signal, secretValues),
      this.sideSources(read, socket, plug, socket, data, socketVars, warnings, signal, secretValues),
    ]);
    const base = {
      plugGeneration: plug.generation,
      socketGeneration: socket.generation,
      plugEpoch: plug.spec.epoch ?? '',
      socketEpoch: socket.spec.epoch ?? '',
      plugData,
      socketData,
      plugVars: plugVars ?? null,
      socketVars: socketVars ?? null,
    };
    const sourcesHash = inputsHash({ ...base, plugSources, socketSources });
    if (knownSourcesHash !== undefined && knownSourcesHash === sourcesHash)
      return { unchanged: true, sourcesHash };
    const apparatusCall = (o: Owner, vars: StringMap | undefined) =>
      this.apparatus?.config(
        o,
        { side: o.side, plug: plug.raw, socket: socket.raw, plugData, socketData, vars },
        signal,
      );
    const [plugApparatus, socketApparatus] = await Promise.all([
      apparatusCall(plug, plugVars),
      apparatusCall(socket, socketVars),
    ]);
    const plugConfigRaw = mergeSources({ ...plugSources, apparatus: plugApparatus });
    const socketConfigRaw = mergeSources({ ...socketSources, apparatus: socketApparatus });
    const iface = (socket.spec as Partial<NonNullable<Socket['spec']>>).interface;
    const pv = validateSide(iface?.config?.plug, plugConfigRaw.values, 'plug config');
    const sv = validateSide(iface?.config?.socket, socketConfigRaw.values, 'socket config');
    if (!pv.ok || !sv.ok) {
      throw new StepError(Reason.ConfigInvalid, [...pv.errors, ...sv.errors].join('; '));
    }
    const plugConfig: Merged = { values: pv.values, from: plugConfigRaw.from };
    const socketConfig: Merged = { values: sv.values, from: socketConfigRaw.from };
    const hash = inputsHash({ ...base, plugConfig: plugConfig.values, socketConfig: socketConfig.values });
    return {
      plug: { data: plugData, vars: plugVars, config: plugConfig },
      socket: { data: socketData, vars: socketVars, config: socketConfig },
      hash,
      sourcesHash,
      warnings,
      secretValues,
    };
  }

  async resolveResults(
    plug: Owner,
    socket: Owner,
    inputs: CouplingInputs,
    signal?: AbortSignal,
  ): Promise<Results> {
    // Results see the coupling's data and config, which may hold Secret values too.
    const secretValues: string[] = [...inputs.secretValues];
    try {
      return await this.withReads(plug, 'results', (read) =>
        this.resolveResultsWith(read, plug, socket, inputs, secretValues, signal),
      );
    } catch (err) {
      throw redactedError(err, secretValues);
    }
  }

  private async resolveResultsWith(
    read: Read,
    plug: Owner,
    socket: Owner,
    inputs: CouplingInputs,
    secretValues: string[],
    signal?: AbortSignal,
  ): Promise<Results> {
    const warnings: string[] = [];
    const sideResult = async (o: Owner): Promise<Merged> => {
      const base = {
        plug: o === plug ? plug.raw : withoutStatus(plug.raw),
        socket: o === socket ? socket.raw : withoutStatus(socket.raw),
      };
      const resultVars = await this.vars(read, o, o.spec.resultVars, 'resultVars', base, signal);
      const tplData: Record<string, unknown> = {
        ...base,
        plugData: inputs.plug.data,
        socketData: inputs.socket.data,
        plugConfig: inputs.plug.config.values,
        socketConfig: inputs.socket.config.values,
        resultVars: resultVars ?? {},
      };
      // The Go operator gave socket result templates their resultVars under `vars` too.
      if (o.side === 'socket') tplData.vars = resultVars ?? {};
      const [secret, configMap, tpl] = await Promise.all([
        this.readMap(read, o, 'Secret', o.spec.resultSecretName, 'resultSecretName', signal, secretValues),
        this.readMap(read, o, 'ConfigMap', o.spec.resultConfigMapName, 'resultConfigMapName', signal),
        this.renderMap(
          o,
          o === plug ? socket : plug,
          o.spec.resultTemplate,
          tplData,
          'resultTemplate',
          signal,
        ),
      ]);
      warnings.push(...tpl.warnings);
      return mergeSources({ secret, literal: o.spec.result, template: tpl.values, configMap });
    };
    const [pr, sr] = await Promise.all([sideResult(plug), sideResult(socket)]);
    const iface = (socket.spec as Partial<NonNullable<Socket['spec']>>).interface;
    const pv = validateSide(iface?.result?.plug, pr.values, 'plug result');
    const sv = validateSide(iface?.result?.socket, sr.values, 'socket result');
    if (!pv.ok || !sv.ok) throw new StepError(Reason.ConfigInvalid, [...pv.errors, ...sv.errors].join('; '));
    return {
      plug: { values: pv.values, from: pr.from },
      socket: { values: sv.values, from: sr.from },
      warnings,
      secretValues,
    };
  }
}
