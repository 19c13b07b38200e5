// The Plug reconciler: the one writer of a Plug's status and the owner of its coupling. It
// performs the plug's own created/deleted events and, plug side first, both sides' coupled,
// updated and decoupled events (the socket side as the socket's ServiceAccount), recording each in
// the status once it succeeded (SPEC.md "Lifecycle", DESIGN.md principles 1-2).
import { type Condition, finalizer } from '../api/common.ts';
import type { AppliedRef, CouplingRecord, FailureRecord, Plug, PlugStatus, SideRecord } from '../api/plug.ts';
import { admitNamespace } from '../integration/admission.ts';
import {
  alreadyReported,
  ConditionType,
  ourConditions,
  Reason,
  type ReasonName,
  rfc3339,
  setCondition,
  truncate,
} from '../integration/conditions.ts';
import { inputsHash } from '../integration/hash.ts';
import {
  hasCoupledSide,
  isCoupled,
  owedCouplingEvents,
  owedDecouplings,
  type Side,
} from '../integration/lifecycle.ts';
import { type StringMap, withoutSecretValues } from '../integration/merge.ts';
import { containsSecret, redactSecrets, secretStrings } from '../integration/secrets.ts';
import type { KubeObject, ObjectKey } from '../kube/types.ts';
import { splitKey } from '../kube/types.ts';
import { type ReconcileResult, type Reconciler, TerminalError } from '../runtime/controller.ts';
import { resourceSpecProblems, resourcesWithoutWhen, sameRef } from './actions.ts';
import {
  coupledSocketUid,
  type OperatorContext,
  parsePlug,
  parseSocket,
  plugIndex,
  socketIndex,
  targetSocketKey,
} from './context.ts';
import { StepError, toStepError } from './errors.ts';
import { type Owner, ownerOf } from './owner.ts';
import { type CouplingInputs, redactedError } from './resolve.ts';
import { patchStatus, setFinalizer } from './status.ts';

const warnedNoWhen = new Map<string, number>();

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

export function unionApplied(existing: AppliedRef[] | undefined, added: AppliedRef[]): AppliedRef[] {
  const out = [...(existing ?? [])];
  for (const r of added) {
    const i = out.findIndex((x) => sameRef(x, r));
    if (i >= 0) out[i] = r;
    else out.push(r);
  }
  return out;
}

type Target =
  | { ok: true; raw: KubeObject; socket: Owner }
  | { ok: false; reason: ReasonName; message: string; socketKey: ObjectKey | undefined };

/** True when a side's decoupled or deleted steps would do something (so a deletion must wait for them). */
export function hasCleanupWork(o: Pick<Owner, 'spec'>): boolean {
  return Boolean(o.spec.apparatus || o.spec.resources?.length || o.spec.resultResources?.length);
}

/**
 * Whether a side's lifecycle steps are known beforehand to take long enough to be worth showing as
 * in process (one more status write): an apparatus call. Server-side applies and deletes take
 * milliseconds; a status written before them is never seen. A recreate waits only when the old
 * object is not gone at once, and the step announces itself then (`beforeWait`, see announce).
 */
function hasSlowWork(o: Pick<Owner, 'spec'>): boolean {
  return Boolean(o.spec.apparatus);
}

function hasExternalResults(o: Owner): boolean {
  return Boolean(o.spec.resultVars?.length || o.spec.resultConfigMapName || o.spec.resultSecretName);
}

/** The status record of a failure whose side is known (a socket counts the plugs failing on its side). */
function failureRecord(
  e: { reason: string; message: string },
  side: Side | undefined,
  socketUid: string | undefined,
): FailureRecord | undefined {
  if (!side) return undefined;
  return {
    side,
    ...(side === 'socket' && socketUid ? { socketUid } : {}),
    reason: e.reason,
    message: truncate(e.message, 512),
  };
}

/** One pass over one Plug. Holds the working copy of its status and the transitions to report. */
class PlugPass {
  private readonly ctx: OperatorContext;
  private readonly signal: AbortSignal;
  private raw: KubeObject;
  private readonly plug: Plug;
  private readonly owner: Owner;
  private readonly status: PlugStatus;
  private readonly transitions: Array<{ reason: string; text: string }> = [];
  private readonly now: Date;
  /** Values read from Secrets in this pass: never in a message, an Event or status. */
  private secrets: string[] = [];
  /** The phases (decoupling, coupling) this pass announced as in process (see announce). */
  private readonly announced = new Set<'decoupling' | 'coupling'>();

  constructor(ctx: OperatorContext, raw: KubeObject, plug: Plug, signal: AbortSignal) {
    this.ctx = ctx;
    this.raw = raw;
    this.plug = plug;
    this.signal = signal;
    this.owner = ownerOf('Plug', raw, plug.spec);
    this.now = ctx.now();
    this.status = clone(plug.status) ?? {};
    this.status.conditions = ourConditions(this.status.conditions);
    this.status.lifecycle ??= {};
  }

  private get lifecycle() {
    return this.status.lifecycle!;
  }

  private get ts(): string {
    return rfc3339(this.now);
  }

  private conditions(
    coupled: { status: 'True' | 'False'; reason: ReasonName; message: string },
    ready: { status: 'True' | 'False'; reason: ReasonName; message: string },
  ): void {
    const gen = this.plug.metadata.generation;
    let c = setCondition(this.status.conditions, { type: ConditionType.Coupled, ...coupled }, gen, this.now);
    c = setCondition(c, { type: ConditionType.Ready, ...ready }, gen, this.now);
    this.status.conditions = c;
  }

  /**
   * Records (or, undefined, clears) the failure whose side is known. It stays while the failed
   * step is retried ("in process" conditions leave it), so the socket's summary does not flap.
   */
  private failure(f: FailureRecord | undefined): void {
    if (f) this.status.failure = f;
    else delete this.status.failure;
  }

  private notCoupled(reason: ReasonName, message: string): void {
    this.conditions({ status: 'False', reason, message }, { status: 'False', reason, message });
    this.failure(undefined);
  }

  /** Writes the status now (after side effects, before more of them). */
  private async checkpoint(): Promise<void> {
    this.raw = await patchStatus(this.ctx.kube, this.ctx.plugs, this.raw, this.status, this.signal);
  }

  /** Writes what changed and reports the transitions of this pass as one Event. */
  private async finish(): Promise<void> {
    await this.checkpoint();
    if (this.transitions.length) {
      const last = this.transitions[this.transitions.length - 1]!;
      const text = this.transitions.map((t) => t.text).join('; ');
      this.ctx.recorder.record(this.raw, 'Normal', last.reason, text.charAt(0).toUpperCase() + text.slice(1));
      this.transitions.length = 0;
    }
  }

  /**
   * Shows the pass as in process before a step that takes a while (an apparatus call, an old object
   * still being deleted): `set` writes the conditions, then the status is written. Once per phase
   * of a pass, and only when such a step really comes.
   */
  private async announce(phase: 'decoupling' | 'coupling', set: () => void): Promise<void> {
    if (this.announced.has(phase)) return;
    this.announced.add(phase);
    set();
    await this.checkpoint();
  }

  private async ensureFinalizer(): Promise<void> {
    this.raw = await setFinalizer(this.ctx.kube, this.ctx.plugs, this.raw, finalizer, true, this.signal);
  }

  private namespaceTerminating(ns: string): boolean {
    return Boolean(this.ctx.namespaces.store.get(ns)?.metadata.deletionTimestamp);
  }

  /** Counts a performed lifecycle event (the metric the restart benchmark reads for repeats). */
  private performed(side: Side, event: string): void {
    this.ctx.metrics.lifecycleEvents.inc({ kind: 'Plug', side, event, outcome: 'performed' });
  }

  private warn(reason: string, message: string): void {
    this.ctx.recorder.record(this.raw, 'Warning', reason, redactSecrets(message, this.secrets));
  }

  private learnSecrets(values: readonly string[]): void {
    if (values.length) this.secrets = secretStrings([...this.secrets, ...values]);
  }

  /** Status values (results) other than those from Secrets or holding a Secret value. */
  private shown(m: Parameters<typeof withoutSecretValues>[0]): StringMap {
    const out = withoutSecretValues(m);
    for (const [k, v] of Object.entries(out)) if (containsSecret(v, this.secrets)) delete out[k];
    return out;
  }

  /**
   * Records a failed step: status says what and why (and which side failed, when known), a Warning
   * Event, then the error for backoff. `where` names the side whose step failed and its socket.
   */
  private async fail(
    err: unknown,
    context: string,
    keepCoupled: boolean,
    where: { side?: Side; socketUid?: string } = {},
  ): Promise<never> {
    const e = redactedError(err, this.secrets);
    // The operator is stopping (SIGTERM, leadership lost): the step was cut short, it did not fail.
    // Nothing is recorded (no Warning, no failure in status); whoever runs next performs it.
    if (this.signal.aborted) throw e;
    const message = `${context}: ${e.message}`;
    this.failure(failureRecord(e, where.side ?? e.side, where.socketUid));
    if (keepCoupled) {
      this.conditions(
        { status: 'True', reason: Reason.CouplingSucceeded, message: this.coupledMessage() },
        { status: 'False', reason: e.reason, message },
      );
    } else {
      // A failure that cannot clear by itself is not "in process": Coupled says what it is.
      const settled = e.reason === Reason.ConfigInvalid || e.reason === Reason.ResourceInvalid;
      this.conditions(
        { status: 'False', reason: settled ? e.reason : Reason.CouplingInProcess, message },
        { status: 'False', reason: e.reason, message },
      );
    }
    // An object the API server refuses is refused again at each (slow) retry: one Warning per change.
    if (!alreadyReported(this.plug.status?.conditions, ConditionType.Ready, { reason: e.reason, message }))
      this.warn(e.reason, message);
    try {
      await this.finish();
    } catch (writeErr) {
      this.ctx.log.debug('could not record a failure in status', { err: writeErr });
    }
    throw e;
  }

  private coupledMessage(): string {
    const c = this.lifecycle.coupling;
    return c ? `coupled to socket ${c.socketNamespace}/${c.socketName}` : 'coupled';
  }

  async run(): Promise<ReconcileResult> {
    if (this.raw.metadata.deletionTimestamp) return this.finalize();
    const problems = resourceSpecProblems(this.owner);
    if (problems.length) {
      const message = `invalid spec: ${problems.join('; ')}`;
      this.notCoupled(Reason.ConfigInvalid, message);
      this.warn(Reason.ConfigInvalid, message);
      await this.finish();
      throw new TerminalError(message);
    }
    this.warnResourcesWithoutWhen(this.owner);
    // The finalizer holds a deletion until the decoupled and deleted steps ran. It is added before
    // the first side effect that would need them; a coupling of plain values (no resources, no
    // apparatus on either side) has nothing to clean up and needs none (one API write less per
    // coupling). If the socket later gains resources, the `updated` they cause adds it first.
    if (hasCleanupWork(this.owner)) await this.ensureFinalizer();
    this.adoptGoStatus();

    if (!this.lifecycle.created) {
      try {
        const out = await this.ctx.actions.ownerEvent(this.owner, 'created', this.signal);
        this.lifecycle.created = this.ts;
        this.performed('plug', 'created');
        this.transitions.push({ reason: 'PlugCreated', text: 'created' });
        if (out.effects) await this.checkpoint();
      } catch (err) {
        return this.fail(err, 'created event', false);
      }
    }

    const target = this.target();
    const record = this.lifecycle.coupling;
    if (record && (!target.ok || target.socket.uid !== record.socketUid)) {
      const why = target.ok ? 'the plug now points at another socket' : target.message;
      try {
        await this.decouple(record, why);
      } catch (err) {
        return this.fail(err, 'decoupling', true, { socketUid: record.socketUid });
      }
    }
    if (!target.ok) {
      this.notCoupled(target.reason, target.message);
      // Every transition is an Event; the recorder sends the same Warning once per window.
      this.warn(target.reason, target.message);
      await this.finish();
      return undefined;
    }
    const socket = target.socket;
    if (hasCleanupWork(socket)) await this.ensureFinalizer();
    const socketProblems = resourceSpecProblems(socket);
    // A side that coupled holds a slot of the limit; the plug counts as Coupled only once both did.
    const holdsSlot =
      hasCoupledSide(this.lifecycle.coupling) && this.lifecycle.coupling?.socketUid === socket.uid;
    const coupledHere =
      isCoupled(this.lifecycle.coupling) && this.lifecycle.coupling?.socketUid === socket.uid;
    if (socketProblems.length) {
      return this.fail(
        new StepError(
          Reason.ConfigInvalid,
          `socket ${socket.namespace}/${socket.name} is invalid: ${socketProblems.join('; ')}`,
        ),
        'coupling',
        coupledHere,
        { side: 'socket', socketUid: socket.uid },
      );
    }
    if (!holdsSlot && !this.reserveSlot(socket, target.raw)) {
      const limit = (target.raw.spec as { limit?: number }).limit ?? 0;
      const message = `socket ${socket.namespace}/${socket.name} has reached its limit of ${limit} coupled plugs; waiting for a free slot`;
      this.notCoupled(Reason.SocketLimitReached, message);
      this.warn(Reason.SocketLimitReached, message);
      await this.finish();
      return undefined;
    }

    // When everything was done for the current sources, only a change of them matters: the
    // apparatus is not asked again (see Resolver.resolveCoupling).
    const done = this.lifecycle.coupling;
    // Results read from objects (resultVars, result ConfigMaps/Secrets) are looked at on every pass:
    // "wait for a Job to succeed" is a resultVar that changes without any input changing (its
    // change requeues the plug: references.ts).
    const externalResults = hasExternalResults(this.owner) || hasExternalResults(socket);
    const knownSources =
      !externalResults &&
      done &&
      done.socketUid === socket.uid &&
      isCoupled(done) &&
      done.plug?.hash === done.socket?.hash &&
      done.resultsHash === done.plug?.hash &&
      this.status.coupledResult
        ? done.sourcesHash
        : undefined;
    let inputs: CouplingInputs;
    try {
      const r = await this.ctx.resolver.resolveCoupling(this.owner, socket, this.signal, knownSources);
      if ('unchanged' in r) {
        this.coupledConditions(socket);
        await this.finish();
        return undefined;
      }
      inputs = r;
      this.learnSecrets(r.secretValues);
    } catch (err) {
      if (!holdsSlot) this.release(socket.uid);
      return this.fail(
        err,
        coupledHere ? 'updating' : `coupling to socket ${socket.namespace}/${socket.name}`,
        coupledHere,
        { socketUid: socket.uid },
      );
    }
    for (const w of inputs.warnings) this.warn('TemplateWarning', w);

    const adopted = this.lifecycle.coupling;
    if (adopted && adopted.socketUid === socket.uid) {
      for (const side of ['plug', 'socket'] as const) {
        const r = adopted[side];
        if (r && r.hash === undefined && (r.event === 'coupled' || r.event === 'updated'))
          r.hash = inputs.hash;
      }
      adopted.resultsHash ??= inputs.hash;
    }

    const owed = owedCouplingEvents(this.lifecycle.coupling, socket.uid, inputs.hash);
    if (owed.length) {
      const coupling: CouplingRecord =
        this.lifecycle.coupling && this.lifecycle.coupling.socketUid === socket.uid
          ? this.lifecycle.coupling
          : { socketUid: socket.uid, socketName: socket.name, socketNamespace: socket.namespace };
      this.lifecycle.coupling = coupling;
      // Steps that take a while (an apparatus; a recreate waiting for the old object): say so first.
      const events = owed.map((o) => `${o.event} (${o.side} side)`).join(', ');
      const inProcess = () =>
        this.announce('coupling', () => {
          if (coupledHere) {
            this.conditions(
              { status: 'True', reason: Reason.CouplingSucceeded, message: this.coupledMessage() },
              { status: 'False', reason: Reason.UpdatingInProcess, message: `performing ${events}` },
            );
          } else {
            const msg = `coupling to socket ${socket.namespace}/${socket.name}: performing ${events}`;
            this.conditions(
              { status: 'False', reason: Reason.CouplingInProcess, message: msg },
              { status: 'False', reason: Reason.CouplingInProcess, message: msg },
            );
          }
        });
      if (owed.some((o) => hasSlowWork(o.side === 'plug' ? this.owner : socket))) await inProcess();
      for (let i = 0; i < owed.length; i++) {
        const o = owed[i]!;
        try {
          const out = await this.ctx.actions.couplingEvent({
            side: o.side,
            event: o.event,
            plug: this.owner,
            socket,
            socketUid: socket.uid,
            inputs,
            applied: coupling.applied ?? [],
            beforeWait: inProcess,
            signal: this.signal,
          });
          const rec: SideRecord = { event: o.event, hash: inputs.hash, at: this.ts };
          this.performed(o.side, o.event);
          coupling[o.side] = rec;
          if (out.applied.length) coupling.applied = unionApplied(coupling.applied, out.applied);
          // Record before the next side's side effects, so a crash repeats only the one in flight.
          if (out.effects && i < owed.length - 1) await this.checkpoint();
        } catch (err) {
          const label = `${o.side} side ${o.event === 'coupled' ? 'coupling' : 'update'}`;
          return this.fail(err, `${label} (socket ${socket.namespace}/${socket.name})`, coupledHere, {
            side: o.side,
            socketUid: socket.uid,
          });
        }
      }
      const updated = owed.some((o) => o.event === 'updated') && coupledHere;
      this.transitions.push(
        updated
          ? { reason: 'PlugUpdated', text: `updated (socket ${socket.namespace}/${socket.name})` }
          : { reason: 'PlugCoupled', text: `coupled to socket ${socket.namespace}/${socket.name}` },
      );
    }
    const coupling = this.lifecycle.coupling!;
    this.status.coupledSocket = {
      apiVersion: target.raw.apiVersion ?? '',
      kind: target.raw.kind ?? 'Socket',
      name: socket.name,
      namespace: socket.namespace,
      uid: socket.uid,
    };

    if (coupling.resultsHash !== inputs.hash || !this.status.coupledResult || externalResults) {
      try {
        const results = await this.ctx.resolver.resolveResults(this.owner, socket, inputs, this.signal);
        this.learnSecrets(results.secretValues);
        for (const w of results.warnings) this.warn('TemplateWarning', w);
        const valuesHash = inputsHash({ plug: results.plug.values, socket: results.socket.values });
        // resultResources are applied when the inputs or the results changed (not on every look).
        if (
          coupling.resultsHash !== inputs.hash ||
          coupling.resultValuesHash !== valuesHash ||
          !this.status.coupledResult
        ) {
          const out = await this.ctx.actions.resultResources(this.owner, socket, inputs, results, {
            applied: coupling.applied ?? [],
            beforeWait: () =>
              this.announce('coupling', () =>
                this.conditions(
                  { status: 'True', reason: Reason.CouplingSucceeded, message: this.coupledMessage() },
                  { status: 'False', reason: Reason.UpdatingInProcess, message: 'applying result resources' },
                ),
              ),
            signal: this.signal,
          });
          if (out.applied.length) coupling.applied = unionApplied(coupling.applied, out.applied);
          this.status.coupledResult = {
            plug: this.shown(results.plug),
            socket: this.shown(results.socket),
            observedGeneration: this.plug.metadata.generation ?? 0,
          };
          coupling.resultsHash = inputs.hash;
          coupling.resultValuesHash = valuesHash;
        }
      } catch (err) {
        return this.fail(err, 'results', true, { socketUid: socket.uid });
      }
    }
    coupling.sourcesHash = inputs.sourcesHash;
    this.coupledConditions(socket);
    await this.finish();
    // Only now does the cache (written through) count this coupling against the limit.
    this.release(socket.uid);
    // No periodic requeue: changes of referenced objects requeue the plug (references.ts).
    return undefined;
  }

  private coupledConditions(socket: Owner): void {
    const msg = `coupled to socket ${socket.namespace}/${socket.name}`;
    this.conditions(
      { status: 'True', reason: Reason.CouplingSucceeded, message: msg },
      { status: 'True', reason: Reason.CouplingSucceeded, message: msg },
    );
    this.failure(undefined);
  }

  /** Resources without `when` are never applied (as in the Go operator); say so once per generation. */
  private warnResourcesWithoutWhen(o: Owner): void {
    const missing = resourcesWithoutWhen(o);
    if (!missing.length) return;
    const key = `${o.uid}/${o.generation}`;
    if (warnedNoWhen.has(key)) return;
    if (warnedNoWhen.size > 10_000) warnedNoWhen.clear();
    warnedNoWhen.set(key, Date.now());
    this.warn(
      'ResourceWithoutWhen',
      `resources ${missing.map((i) => `[${i}]`).join(', ')} have no "when" and are never applied; add when: [coupled, updated] (or the events you mean)`,
    );
  }

  /**
   * Takes over status written by the Go operator: a Coupled condition means created was done; a
   * coupledSocket listed by the socket's coupledPlugs means coupled was done (on both sides). The
   * input hash is unknown: the first resolution fills it in, so nothing fires.
   */
  private adoptGoStatus(): void {
    // Our status always carries `lifecycle` (possibly empty); only a status without it was written
    // by the Go operator (or by nobody).
    const original = this.plug.status;
    if (original?.lifecycle !== undefined) return;
    const goConditions = original?.conditions ?? [];
    if (!goConditions.length && !original?.coupledSocket) return;
    this.lifecycle.created = this.ts;
    const cs = original?.coupledSocket;
    if (!cs?.uid) return;
    const sraw = this.ctx.sockets.store.byIndex(socketIndex.uid, cs.uid)[0];
    const listed = (
      sraw?.status as { coupledPlugs?: Array<{ uid?: string }> } | undefined
    )?.coupledPlugs?.some((p) => p.uid === this.owner.uid);
    if (!sraw || !listed) return;
    this.lifecycle.coupling = {
      socketUid: cs.uid,
      socketName: sraw.metadata.name ?? cs.name ?? '',
      socketNamespace: sraw.metadata.namespace ?? cs.namespace ?? '',
      plug: { event: 'coupled', at: this.ts },
      socket: { event: 'coupled', at: this.ts },
    };
    this.ctx.log.info('adopted a coupling recorded by the Go operator', {
      plug: `${this.owner.namespace}/${this.owner.name}`,
    });
  }

  private target(): Target {
    const key = targetSocketKey(this.raw);
    if (!key) {
      return {
        ok: false,
        reason: Reason.Error,
        message: 'spec.socket.name is empty: name the socket to couple to',
        socketKey: undefined,
      };
    }
    const { namespace, name } = splitKey(key);
    const watch = this.ctx.options.watchNamespaces;
    if (watch && namespace && !watch.includes(namespace)) {
      return {
        ok: false,
        reason: Reason.SocketNotWatched,
        message: `socket ${key} is in namespace ${namespace}, which this operator does not watch (WATCH_NAMESPACE=${watch.join(',')})`,
        socketKey: key,
      };
    }
    const sraw = this.ctx.sockets.store.get(key);
    if (!sraw)
      return {
        ok: false,
        reason: Reason.SocketNotCreated,
        message: `socket ${key} does not exist`,
        socketKey: key,
      };
    if (sraw.metadata.deletionTimestamp) {
      return {
        ok: false,
        reason: Reason.SocketNotCreated,
        message: `socket ${key} is being deleted`,
        socketKey: key,
      };
    }
    const parsed = parseSocket(sraw);
    if (!parsed.ok) {
      return {
        ok: false,
        reason: Reason.Error,
        message: `socket ${key} has an invalid spec: ${parsed.error}`,
        socketKey: key,
      };
    }
    const socket = ownerOf('Socket', sraw, parsed.value.spec);
    const nsObj = this.ctx.namespaces.store.get(this.owner.namespace);
    const admission = admitNamespace(
      parsed.value.spec?.validation,
      this.owner.namespace,
      nsObj?.metadata.labels,
    );
    if (!admission.allowed) {
      return {
        ok: false,
        reason: Reason.NamespaceNotAllowed,
        message: `socket ${name}: ${admission.message}`,
        socketKey: key,
      };
    }
    return { ok: true, raw: sraw, socket };
  }

  /** Counts this plug against the socket's limit; false when no slot is free. */
  private reserveSlot(socket: Owner, sraw: KubeObject): boolean {
    const limit = (sraw.spec as { limit?: number } | undefined)?.limit ?? 0;
    if (!limit || limit <= 0) return true;
    const me = this.owner.namespace ? `${this.owner.namespace}/${this.owner.name}` : this.owner.name;
    const coupled = new Set(this.ctx.plugs.store.keysByIndex(plugIndex.coupledSocketUid, socket.uid));
    const reserved = this.ctx.reservations.get(socket.uid) ?? new Set<string>();
    if (coupled.has(me) || reserved.has(me)) return true;
    let count = coupled.size;
    for (const k of reserved) if (!coupled.has(k)) count++;
    if (count >= limit) return false;
    reserved.add(me);
    this.ctx.reservations.set(socket.uid, reserved);
    return true;
  }

  private release(socketUid: string): void {
    const set = this.ctx.reservations.get(socketUid);
    if (!set) return;
    set.delete(`${this.owner.namespace}/${this.owner.name}`);
    if (set.size === 0) this.ctx.reservations.delete(socketUid);
  }

  /** Ends the recorded coupling: decoupled on each side that coupled (plug first), then cleanup. */
  private async decouple(record: CouplingRecord, why: string): Promise<void> {
    const sraw = this.ctx.sockets.store.byIndex(socketIndex.uid, record.socketUid)[0];
    const parsed = sraw ? parseSocket(sraw) : undefined;
    const socket = sraw && parsed?.ok ? ownerOf('Socket', sraw, parsed.value.spec) : undefined;
    let inputs: CouplingInputs | undefined;
    if (socket) {
      try {
        const r = await this.ctx.resolver.resolveCoupling(this.owner, socket, this.signal);
        if (!('unchanged' in r)) {
          inputs = r;
          this.learnSecrets(r.secretValues);
        }
      } catch (err) {
        // The decoupled event is still owed; its bodies then carry no config.
        this.ctx.log.debug('decoupling without resolved config', {
          err,
          plug: `${this.owner.namespace}/${this.owner.name}`,
        });
      }
    }
    const owed = owedDecouplings(record);
    const inProcess = () =>
      this.announce('decoupling', () => {
        const msg = `decoupling from socket ${record.socketNamespace}/${record.socketName} (${why}): performing decoupled (${owed.join(' and ')} side)`;
        this.conditions(
          { status: 'False', reason: Reason.DecouplingInProcess, message: msg },
          { status: 'False', reason: Reason.DecouplingInProcess, message: msg },
        );
      });
    if (owed.some((side) => (side === 'plug' ? hasSlowWork(this.owner) : socket && hasSlowWork(socket))))
      await inProcess();
    for (const side of owedDecouplings(record)) {
      if (side === 'socket' && !socket) {
        record.socket = { event: 'decoupled', at: this.ts, skipped: true };
        continue;
      }
      let out: { effects: number };
      try {
        out = await this.ctx.actions.couplingEvent({
          side,
          event: 'decoupled',
          plug: this.owner,
          socket,
          socketUid: record.socketUid,
          inputs,
          applied: record.applied ?? [],
          stillUsed: (ref) => this.stillUsed(ref, record.socketUid),
          beforeWait: inProcess,
          signal: this.signal,
        });
      } catch (err) {
        // The side's namespace is being deleted: its objects go with it and its ServiceAccount's
        // rights may already be gone; retrying until the cleanup deadline would only hold the
        // namespace deletion for minutes.
        const ns = side === 'plug' ? this.owner.namespace : (socket?.namespace ?? record.socketNamespace);
        if (!this.namespaceTerminating(ns)) throw toStepError(err).onSide(side);
        this.ctx.log.info('skipped a decoupled step in a namespace being deleted', {
          side,
          namespace: ns,
          err,
        });
        record[side as Side] = { event: 'decoupled', at: this.ts, skipped: true };
        record.applied = (record.applied ?? []).filter((r) => r.side !== side || r.retain);
        continue;
      }
      record[side as Side] = { event: 'decoupled', at: this.ts, ...(inputs ? { hash: inputs.hash } : {}) };
      this.performed(side, 'decoupled');
      record.applied = (record.applied ?? []).filter((r) => r.side !== side || r.retain);
      if (out.effects) await this.checkpoint();
    }
    this.lifecycle.coupling = undefined;
    delete this.status.coupledSocket;
    delete this.status.coupledResult;
    this.release(record.socketUid);
    this.transitions.push({
      reason: 'PlugDecoupled',
      text: `decoupled from socket ${record.socketNamespace}/${record.socketName} (${why})`,
    });
    // A slot may have opened: let plugs waiting on that socket try again.
    for (const k of this.ctx.plugs.store.keysByIndex(
      plugIndex.targetSocket,
      `${record.socketNamespace}/${record.socketName}`,
    )) {
      this.ctx.enqueuePlug(k);
    }
  }

  /** True when another plug coupled to the same socket recorded the same socket-side object. */
  private stillUsed(ref: AppliedRef, socketUid: string): boolean {
    if (ref.side !== 'socket') return false;
    for (const other of this.ctx.plugs.store.byIndex(plugIndex.coupledSocketUid, socketUid)) {
      if (other.metadata.uid === this.owner.uid) continue;
      const p = parsePlug(other);
      if (p.ok && p.value.status?.lifecycle?.coupling?.applied?.some((r) => sameRef(r, ref))) return true;
    }
    return false;
  }

  private async finalize(): Promise<ReconcileResult> {
    if (!(this.raw.metadata.finalizers ?? []).includes(finalizer)) return undefined;
    const record = this.lifecycle.coupling;
    try {
      if (record && hasCoupledSide(record)) await this.decouple(record, 'the plug is being deleted');
      else if (record) this.lifecycle.coupling = undefined;
      if (!this.lifecycle.deleted) {
        let effects = 0;
        try {
          effects = (await this.ctx.actions.ownerEvent(this.owner, 'deleted', this.signal)).effects;
          this.performed('plug', 'deleted');
        } catch (err) {
          if (!this.namespaceTerminating(this.owner.namespace)) throw err;
          this.ctx.log.info('skipped the deleted event in a namespace being deleted', {
            namespace: this.owner.namespace,
            err,
          });
        }
        this.lifecycle.deleted = this.ts;
        this.transitions.push({ reason: 'PlugDeleted', text: 'deleted' });
        if (effects) await this.checkpoint();
      }
    } catch (err) {
      const e = redactedError(err, this.secrets);
      // Cut short by the operator stopping: neither a failure to report nor a reason to give up.
      if (this.signal.aborted) throw e;
      const since = this.lifecycle.failingSince ?? this.ts;
      const elapsed = this.now.getTime() - Date.parse(since);
      if (elapsed < this.ctx.options.cleanupTimeoutMs) {
        this.lifecycle.failingSince = since;
        const message = `cleanup before deletion failed (will retry until ${Math.round(this.ctx.options.cleanupTimeoutMs / 1000)} s have passed): ${e.message}`;
        this.conditions(
          { status: isCoupled(this.lifecycle.coupling) ? 'True' : 'False', reason: Reason.Deleting, message },
          { status: 'False', reason: e.reason, message },
        );
        this.failure(failureRecord(e, e.side, this.lifecycle.coupling?.socketUid));
        this.warn(e.reason, message);
        await this.finish().catch(() => undefined);
        throw e;
      }
      this.warn(
        'CleanupAbandoned',
        `gave up cleaning up after ${Math.round(elapsed / 1000)} s and removed the finalizer; not cleaned up: ${e.message}`,
      );
    }
    if (this.transitions.length) {
      this.ctx.recorder.record(
        this.raw,
        'Normal',
        this.transitions.at(-1)!.reason,
        this.transitions.map((t) => t.text).join('; '),
      );
    }
    await setFinalizer(this.ctx.kube, this.ctx.plugs, this.raw, finalizer, false, this.signal);
    return undefined;
  }
}

export function createPlugReconciler(ctx: OperatorContext): Reconciler {
  return async ({ key, signal }) => {
    const raw = ctx.plugs.store.get(key);
    if (!raw) {
      for (const set of ctx.reservations.values()) set.delete(key);
      return undefined;
    }
    const parsed = parsePlug(raw);
    if (!parsed.ok) {
      // Nothing of it can be trusted: say why in its status (conditions only) and wait for a fix.
      const message = `invalid Plug: ${parsed.error}`;
      ctx.recorder.record(raw, 'Warning', Reason.Error, message);
      if (raw.metadata.deletionTimestamp) {
        await setFinalizer(ctx.kube, ctx.plugs, raw, finalizer, false, signal);
        return undefined;
      }
      const st = (raw.status && typeof raw.status === 'object' ? raw.status : {}) as Record<string, unknown>;
      const prev = Array.isArray(st.conditions) ? (st.conditions as Condition[]) : [];
      let conditions = setCondition(
        prev,
        { type: ConditionType.Coupled, status: 'False', reason: Reason.Error, message },
        raw.metadata.generation,
        ctx.now(),
      );
      conditions = setCondition(
        conditions,
        { type: ConditionType.Ready, status: 'False', reason: Reason.Error, message },
        raw.metadata.generation,
        ctx.now(),
      );
      await patchStatus(ctx.kube, ctx.plugs, raw, { ...st, conditions }, signal);
      throw new TerminalError(message);
    }
    return new PlugPass(ctx, raw, parsed.value, signal).run();
  };
}

export { coupledSocketUid };
