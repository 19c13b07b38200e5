// The Socket reconciler: the one writer of a Socket's status. It performs the socket's own
// created/deleted events, summarises its couplings from the cache (which plugs are coupled,
// how many wait and why) and reports their changes in Events (coupling-news.ts). Coupling events
// of the socket side are performed by the Plug reconciler, which owns each coupling. On deletion
// it waits until every plug has decoupled.
import { finalizer } from '../api/common.ts';
import type { Socket, SocketStatus } from '../api/socket.ts';
import {
  alreadyReported,
  ConditionType,
  getCondition,
  ourConditions,
  Reason,
  type ReasonName,
  rfc3339,
  setCondition,
  truncate,
} from '../integration/conditions.ts';
import { namespacePatternProblems } from '../integration/spec-rules.ts';
import type { KubeObject } from '../kube/types.ts';
import { type ReconcileResult, type Reconciler, TerminalError } from '../runtime/controller.ts';
import { resourceSpecProblems } from './actions.ts';
import { type OperatorContext, parseSocket, plugIndex } from './context.ts';
import { newsMessage } from './coupling-news.ts';
import { toStepError } from './errors.ts';
import { ownerOf } from './owner.ts';
import { patchStatus, setFinalizer } from './status.ts';

/** How many coupled plugs the status lists by name (an object is limited to about 1.5 MB). */
export const coupledPlugsListed = 100;

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

/** Problems in the socket's own spec that it reports (plugs report them too when they try). */
function socketSpecProblems(socket: Socket): string[] {
  return [
    ...resourceSpecProblems({ spec: socket.spec ?? {} }),
    ...namespacePatternProblems(socket.spec?.validation).map((p) => p.text),
  ];
}

/** The plugs coupled to a socket (by UID), from the plug cache, sorted by namespace/name. */
export function coupledPlugsOf(ctx: OperatorContext, socketRaw: KubeObject): KubeObject[] {
  const uid = socketRaw.metadata.uid ?? '';
  const coupled: KubeObject[] = [];
  for (const p of ctx.plugs.store.byIndex(plugIndex.coupledSocketUid, uid)) {
    const st = p.status as { coupledSocket?: { uid?: string } } | undefined;
    if (st?.coupledSocket?.uid === uid) coupled.push(p);
  }
  return coupled.sort((a, b) =>
    `${a.metadata.namespace}/${a.metadata.name}` < `${b.metadata.namespace}/${b.metadata.name}` ? -1 : 1,
  );
}

/** The summary of a socket's couplings, from the plug cache. */
export function summarise(
  ctx: OperatorContext,
  socketRaw: KubeObject,
  coupled: readonly KubeObject[],
): Pick<SocketStatus, 'coupledPlugs' | 'coupledPlugCount' | 'waitingPlugs'> {
  const key = `${socketRaw.metadata.namespace}/${socketRaw.metadata.name}`;
  const waiting: Record<string, number> = {};
  const coupledKeys = new Set(coupled.map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
  for (const p of ctx.plugs.store.byIndex(plugIndex.targetSocket, key)) {
    if (coupledKeys.has(`${p.metadata.namespace}/${p.metadata.name}`)) continue;
    const conditions = (p.status as { conditions?: Array<{ type?: unknown; reason?: unknown }> } | undefined)
      ?.conditions;
    const r = Array.isArray(conditions)
      ? conditions.find((c) => c?.type === ConditionType.Coupled)?.reason
      : undefined;
    const reason = typeof r === 'string' && r ? r : 'Pending';
    waiting[reason] = (waiting[reason] ?? 0) + 1;
  }
  return {
    coupledPlugs: coupled.slice(0, coupledPlugsListed).map((p) => ({
      apiVersion: p.apiVersion ?? '',
      kind: p.kind ?? 'Plug',
      name: p.metadata.name ?? '',
      namespace: p.metadata.namespace ?? '',
      uid: p.metadata.uid ?? '',
    })),
    coupledPlugCount: coupled.length,
    waitingPlugs: waiting,
  };
}

/**
 * How many failing plugs the socket's Ready message names (the count covers them all); each plug's
 * message is cut to fit three in a condition message (1,024 characters).
 */
export const failingPlugsNamed = 3;

interface FailingPlug {
  key: string;
  reason: string;
  message: string;
}

/**
 * The plugs whose coupling with this socket fails on the socket's side (its resources, its
 * apparatus, its spec), from what each plug's status records (`status.failure`, written by the plug
 * reconciler, kept while the step is retried), sorted by namespace/name.
 */
export function failingOnSocketSide(ctx: OperatorContext, socketRaw: KubeObject): FailingPlug[] {
  const uid = socketRaw.metadata.uid ?? '';
  const candidates = new Map<string, KubeObject>();
  for (const p of ctx.plugs.store.byIndex(
    plugIndex.targetSocket,
    `${socketRaw.metadata.namespace}/${socketRaw.metadata.name}`,
  ))
    candidates.set(`${p.metadata.namespace}/${p.metadata.name}`, p);
  for (const p of ctx.plugs.store.byIndex(plugIndex.coupledSocketUid, uid))
    candidates.set(`${p.metadata.namespace}/${p.metadata.name}`, p);
  const failing: FailingPlug[] = [];
  for (const [key, p] of candidates) {
    const f = (
      p.status as { failure?: Partial<Record<'side' | 'socketUid' | 'reason' | 'message', unknown>> }
    )?.failure;
    if (f?.side !== 'socket' || f.socketUid !== uid) continue;
    failing.push({
      key,
      reason: typeof f.reason === 'string' ? f.reason : 'Error',
      message: typeof f.message === 'string' ? f.message : '',
    });
  }
  return failing.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** `2 plugs fail on the socket side: app/a (ResourceInvalid): …; app/b (…): …` */
export function failingMessage(failing: readonly FailingPlug[]): string {
  const n = failing.length;
  const named = failing
    .slice(0, failingPlugsNamed)
    .map((f) => `${f.key} (${f.reason}): ${truncate(f.message, 280)}`)
    .join('; ');
  const more = n > failingPlugsNamed ? `; and ${n - failingPlugsNamed} more` : '';
  return `${n} plug${n === 1 ? '' : 's'} fail${n === 1 ? 's' : ''} on the socket side: ${named}${more}`;
}

/**
 * Puts the summary of the socket's couplings into its status, and reports in Events what changed
 * since the last pass (see coupling-news.ts).
 */
function summariseCouplings(ctx: OperatorContext, raw: KubeObject, status: SocketStatus): void {
  const coupled = coupledPlugsOf(ctx, raw);
  Object.assign(status, summarise(ctx, raw, coupled));
  reportCouplingNews(ctx, raw, coupled);
}

function reportCouplingNews(ctx: OperatorContext, raw: KubeObject, coupled: readonly KubeObject[]): void {
  const news = ctx.couplingNews.look(raw.metadata.uid ?? '', coupled);
  if (news.coupled.length)
    ctx.recorder.record(raw, 'Normal', 'SocketCoupled', newsMessage('coupled', news.coupled));
  if (news.updated.length)
    ctx.recorder.record(raw, 'Normal', 'SocketUpdated', newsMessage('updated', news.updated));
  if (news.decoupled.length)
    ctx.recorder.record(raw, 'Normal', 'SocketDecoupled', newsMessage('decoupled', news.decoupled));
}

export function createSocketReconciler(ctx: OperatorContext): Reconciler {
  return async ({ key, signal }): Promise<ReconcileResult> => {
    let raw = ctx.sockets.store.get(key);
    if (!raw) return undefined;
    const now = ctx.now();
    const parsed = parseSocket(raw);
    if (!parsed.ok) {
      const message = `invalid Socket: ${parsed.error}`;
      ctx.recorder.record(raw, 'Warning', Reason.Error, message);
      if (raw.metadata.deletionTimestamp)
        await setFinalizer(ctx.kube, ctx.sockets, raw, finalizer, false, signal);
      else {
        const st = (raw.status && typeof raw.status === 'object' ? raw.status : {}) as Record<
          string,
          unknown
        >;
        const conditions = setCondition(
          ourConditions(Array.isArray(st.conditions) ? (st.conditions as never) : []),
          { type: ConditionType.Ready, status: 'False', reason: Reason.Error, message },
          raw.metadata.generation,
          now,
        );
        await patchStatus(ctx.kube, ctx.sockets, raw, { ...st, conditions }, signal);
      }
      throw new TerminalError(message);
    }
    const socket = parsed.value;
    const owner = ownerOf('Socket', raw, socket.spec);
    const status: SocketStatus = clone(socket.status) ?? {};
    status.conditions = ourConditions(status.conditions);
    status.lifecycle ??= {};
    const gen = raw.metadata.generation;
    const ready = (s: 'True' | 'False', reason: ReasonName, message: string) => {
      status.conditions = setCondition(
        status.conditions,
        { type: ConditionType.Ready, status: s, reason, message },
        gen,
        now,
      );
    };

    if (raw.metadata.deletionTimestamp) {
      if (!(raw.metadata.finalizers ?? []).includes(finalizer)) return undefined;
      const remaining = ctx.plugs.store.keysByIndex(plugIndex.coupledSocketUid, owner.uid);
      if (remaining.length) {
        // Plugs see the deletion and decouple (both sides); each one's status change wakes us.
        for (const k of remaining) ctx.enqueuePlug(k);
        summariseCouplings(ctx, raw, status);
        ready('False', Reason.Deleting, `waiting for ${remaining.length} plug(s) to decouple`);
        await patchStatus(ctx.kube, ctx.sockets, raw, status, signal);
        return { requeueAfterMs: 10_000 };
      }
      if (!status.lifecycle.deleted) {
        try {
          await ctx.actions.ownerEvent(owner, 'deleted', signal);
          ctx.metrics.lifecycleEvents.inc({
            kind: 'Socket',
            side: 'socket',
            event: 'deleted',
            outcome: 'performed',
          });
        } catch (err) {
          const e = toStepError(err, 'deleted event');
          if (ctx.namespaces.store.get(owner.namespace)?.metadata.deletionTimestamp) {
            // Its namespace is going: the deleted step cannot run there any more (see plug.ts).
            ctx.log.info('skipped the deleted event of a socket in a namespace being deleted', {
              socket: key,
              err: e,
            });
            await setFinalizer(ctx.kube, ctx.sockets, raw, finalizer, false, signal);
            return undefined;
          }
          // Cut short by the operator stopping: not a failure to report (see plug.ts, fail).
          if (signal.aborted) throw e;
          const since = (raw.metadata.deletionTimestamp as string) ?? rfc3339(now);
          if (now.getTime() - Date.parse(since) < ctx.options.cleanupTimeoutMs) {
            ready('False', e.reason, e.message);
            if (!alreadyReported(socket.status?.conditions, ConditionType.Ready, e))
              ctx.recorder.record(raw, 'Warning', e.reason, e.message);
            await patchStatus(ctx.kube, ctx.sockets, raw, status, signal).catch(() => undefined);
            throw e;
          }
          ctx.recorder.record(raw, 'Warning', 'CleanupAbandoned', `gave up the deleted event: ${e.message}`);
        }
        reportCouplingNews(ctx, raw, []);
        ctx.recorder.record(raw, 'Normal', 'SocketDeleted', 'Deleted');
      }
      await setFinalizer(ctx.kube, ctx.sockets, raw, finalizer, false, signal);
      ctx.couplingNews.forget(owner.uid);
      return undefined;
    }

    raw = await setFinalizer(ctx.kube, ctx.sockets, raw, finalizer, true, signal);
    if (!status.lifecycle.created) {
      // A socket coupled by the Go operator (conditions or coupledPlugs present) was created then.
      // Only a status without our `lifecycle` record was written by the Go operator: ours always
      // carries it (a failed created event writes conditions too, and must be retried).
      const adopted =
        socket.status?.lifecycle === undefined &&
        Boolean(socket.status?.conditions?.length || socket.status?.coupledPlugs?.length);
      if (!adopted) {
        try {
          await ctx.actions.ownerEvent(owner, 'created', signal);
          ctx.metrics.lifecycleEvents.inc({
            kind: 'Socket',
            side: 'socket',
            event: 'created',
            outcome: 'performed',
          });
        } catch (err) {
          const e = toStepError(err, 'created event');
          if (signal.aborted) throw e;
          ready('False', e.reason, e.message);
          if (!alreadyReported(socket.status?.conditions, ConditionType.Ready, e))
            ctx.recorder.record(raw, 'Warning', e.reason, e.message);
          await patchStatus(ctx.kube, ctx.sockets, raw, status, signal).catch(() => undefined);
          throw e;
        }
        ctx.recorder.record(raw, 'Normal', 'SocketCreated', 'Created');
      }
      status.lifecycle.created = rfc3339(now);
    }
    summariseCouplings(ctx, raw, status);
    status.observedGeneration = gen;
    const problems = socketSpecProblems(socket);
    const failing = problems.length ? [] : failingOnSocketSide(ctx, raw);
    const wasFailing =
      getCondition(socket.status?.conditions, ConditionType.Ready)?.reason === Reason.CouplingsFailing;
    if (problems.length) {
      const message = `invalid spec: ${problems.join('; ')}`;
      ready('False', Reason.ConfigInvalid, message);
      ctx.recorder.record(raw, 'Warning', Reason.ConfigInvalid, message);
    } else if (failing.length) {
      // Its side of some couplings fails (the plugs' status says which): not Ready until they recover.
      const message = failingMessage(failing);
      ready('False', Reason.CouplingsFailing, message);
      if (!wasFailing) ctx.recorder.record(raw, 'Warning', Reason.CouplingsFailing, message);
    } else {
      const n = status.coupledPlugCount ?? 0;
      ready('True', Reason.SocketCreated, `${n} plug${n === 1 ? '' : 's'} coupled`);
      if (wasFailing)
        ctx.recorder.record(raw, 'Normal', 'CouplingsRecovered', 'no plug fails on the socket side any more');
    }
    await patchStatus(ctx.kube, ctx.sockets, raw, status, signal);
    return undefined;
  };
}
