// `kubectl integration trace plug|socket NAME`: walks the objects of a coupling as the user (their
// kubeconfig, their rights) and returns what it found as data (printed as a tree, JSON or YAML by
// trace-view.ts). Everything it shows comes from the API server: the Plug's status (conditions,
// lifecycle, the objects applied for its coupling), the Socket, the live objects, the apparatus Pods
// and the Warning Events. A read the user may not make is recorded as `forbidden` and the trace goes
// on; only the traced object itself must be readable.
import { apiVersion } from '../api/common.ts';
import { apparatusName, lastUsedAnnotation } from '../apparatus/endpoint.ts';
import { admitNamespace, describeSelector } from '../integration/admission.ts';
import { Reason } from '../integration/conditions.ts';
import { ApiError } from '../kube/errors.ts';
import type { Kube } from '../kube/objects.ts';
import type { KubeObject, ObjectRef } from '../kube/types.ts';
import { failingContainer, type LiveState, liveState, podState } from './live-state.ts';

/** How a read went: the object, none of that name, refused by RBAC, or another error. */
export type Access = 'found' | 'missing' | 'forbidden' | 'error';

export interface Ref {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export interface ConditionView {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface EventView {
  reason: string;
  message: string;
  count: number;
  /** When it last happened (RFC 3339), if the Event says. */
  lastSeen?: string;
}

/** The latest Warning Events of an object (`limit` of them), or why they could not be read. */
export interface EventsView {
  access: 'found' | 'forbidden' | 'error';
  message?: string;
  items: EventView[];
}

export interface ObjectView extends Partial<LiveState> {
  ref: Ref;
  access: Access;
  /** Why a read failed (the API server's message for `forbidden`). */
  message?: string;
  uid?: string;
  created?: string;
  deleting?: string;
  conditions?: ConditionView[];
  warnings?: EventsView;
}

export interface SideRecordView {
  event: string;
  at?: string;
  skipped?: boolean;
}

export interface AppliedView extends ObjectView {
  /** Whose resources applied it: `plug` or `socket`. */
  side: string;
  retain?: boolean;
}

export interface ApparatusView {
  side: 'plug' | 'socket';
  /** The absolute endpoint called, when the apparatus is not a managed Pod. */
  endpoint?: string;
  /** The Pod and Service the operator runs on demand (`apparatus.containers`). */
  pod?: ObjectView;
  service?: ObjectView;
  /** When the operator last called the managed Pod (its annotation). */
  lastCall?: string;
  note?: string;
}

export interface PlugTrace {
  kind: 'PlugTrace';
  /** When the trace was taken. */
  at: string;
  plug: ObjectView & {
    socketRef?: { namespace: string; name: string };
    coupledSocket?: { namespace?: string; name?: string; uid?: string };
    /** The failing step of the coupling, when the plug's status records one (`status.failure`). */
    failure?: Record<string, unknown>;
    /** Keys of the results recorded in status (values left out). */
    results?: { plug?: string[]; socket?: string[] };
  };
  socket?: ObjectView & { rules?: string[] };
  lifecycle: {
    created?: string;
    deleted?: string;
    coupling?: { socket: string; socketUid: string; plugSide?: SideRecordView; socketSide?: SideRecordView };
  };
  applied: AppliedView[];
  apparatus: ApparatusView[];
}

export interface PlugSummary {
  namespace: string;
  name: string;
  access: Access;
  message?: string;
  coupled?: string;
  reason?: string;
  conditionMessage?: string;
  since?: string;
  plugSide?: SideRecordView;
  socketSide?: SideRecordView;
}

export interface PlugGroup {
  /** The plugs' Ready reason (else Coupled's): `CouplingSucceeded`, `NamespaceNotAllowed`, ... */
  reason: string;
  coupled: boolean;
  plugs: PlugSummary[];
}

export interface SocketTrace {
  kind: 'SocketTrace';
  at: string;
  socket: ObjectView & {
    coupledPlugCount?: number;
    waitingPlugs?: Record<string, number>;
    rules?: string[];
    lifecycle?: { created?: string; deleted?: string };
  };
  plugs: {
    /** How the plugs were found: a list of every Plug (`list`), or only the socket's status (`status`). */
    source: 'list' | 'status';
    access: 'found' | 'forbidden' | 'error';
    message?: string;
    groups: PlugGroup[];
  };
  apparatus: ApparatusView[];
}

export interface TraceOptions {
  /** Warning Events shown per object (0: none read). */
  events: number;
  now?: Date;
}

type Read =
  | { access: 'found'; object: KubeObject }
  | { access: 'missing' | 'forbidden' | 'error'; message?: string };

function failure(err: unknown): { access: 'forbidden' | 'error'; message: string } {
  if (err instanceof ApiError && err.status === 403) return { access: 'forbidden', message: err.message };
  return { access: 'error', message: err instanceof Error ? err.message : String(err) };
}

async function read(kube: Kube, ref: ObjectRef): Promise<Read> {
  try {
    const object = await kube.get(ref);
    return object ? { access: 'found', object } : { access: 'missing' };
  } catch (err) {
    return failure(err);
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const obj = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

function refOf(r: ObjectRef): Ref {
  return {
    apiVersion: r.apiVersion,
    kind: r.kind,
    ...(r.namespace ? { namespace: r.namespace } : {}),
    name: r.name,
  };
}

function conditionsOf(o: KubeObject): ConditionView[] | undefined {
  const list = obj(o.status).conditions;
  if (!Array.isArray(list)) return undefined;
  return list.map((c) => {
    const x = obj(c);
    return {
      type: str(x.type) ?? '?',
      status: str(x.status) ?? 'Unknown',
      ...(str(x.reason) ? { reason: str(x.reason) } : {}),
      ...(str(x.message) ? { message: str(x.message) } : {}),
      ...(str(x.lastTransitionTime) ? { lastTransitionTime: str(x.lastTransitionTime) } : {}),
    };
  });
}

function sideRecord(v: unknown): SideRecordView | undefined {
  const r = obj(v);
  const event = str(r.event);
  if (!event) return undefined;
  return { event, ...(str(r.at) ? { at: str(r.at) } : {}), ...(r.skipped === true ? { skipped: true } : {}) };
}

function eventTime(e: KubeObject): string {
  const series = obj(e.series);
  return (
    str(e.lastTimestamp) ??
    str(series.lastObservedTime) ??
    str(e.eventTime) ??
    str(e.firstTimestamp) ??
    e.metadata.creationTimestamp ??
    ''
  );
}

/** The latest Warning Events of an object, newest first. */
export async function warningEvents(
  kube: Kube,
  o: KubeObject,
  limit: number,
): Promise<EventsView | undefined> {
  const uid = o.metadata.uid;
  if (limit <= 0 || !uid) return undefined;
  try {
    const list = await kube.list(
      { apiVersion: 'v1', kind: 'Event', namespace: o.metadata.namespace },
      { fieldSelector: `involvedObject.uid=${uid},type=Warning` },
    );
    const items = [...list.items]
      .sort((a, b) => eventTime(b).localeCompare(eventTime(a)))
      .slice(0, limit)
      .map((e) => {
        const series = obj(e.series);
        const count =
          typeof e.count === 'number' ? e.count : typeof series.count === 'number' ? series.count : 1;
        const at = eventTime(e);
        return {
          reason: str(e.reason) ?? '',
          message: str(e.message) ?? '',
          count,
          ...(at ? { lastSeen: at } : {}),
        };
      });
    return { access: 'found', items };
  } catch (err) {
    return { ...failure(err), items: [] };
  }
}

/** An object read and described: access, live state, conditions (for ours), Warning Events. */
async function describe(
  kube: Kube,
  ref: ObjectRef,
  opts: TraceOptions,
  state?: (o: KubeObject) => Promise<LiveState | undefined>,
): Promise<{ view: ObjectView; object: KubeObject | undefined }> {
  const r = await read(kube, ref);
  if (r.access !== 'found') {
    return {
      view: { ref: refOf(ref), access: r.access, ...(r.message ? { message: r.message } : {}) },
      object: undefined,
    };
  }
  const o = r.object;
  const [live, warnings] = await Promise.all([state?.(o), warningEvents(kube, o, opts.events)]);
  const conditions = ref.apiVersion === apiVersion ? conditionsOf(o) : undefined;
  return {
    object: o,
    view: {
      ref: refOf(ref),
      access: 'found',
      ...(o.metadata.uid ? { uid: o.metadata.uid } : {}),
      ...(o.metadata.creationTimestamp ? { created: o.metadata.creationTimestamp } : {}),
      ...(o.metadata.deletionTimestamp ? { deleting: o.metadata.deletionTimestamp } : {}),
      ...(live ?? {}),
      ...(conditions ? { conditions } : {}),
      ...(warnings ? { warnings } : {}),
    },
  };
}

/** The last lines of a failing container's log, or why they could not be read. */
async function lastLog(kube: Kube, namespace: string, pods: readonly KubeObject[]): Promise<string[]> {
  const failing = failingContainer(pods);
  if (!failing) return [];
  const what = `log of ${failing.pod}/${failing.container}${failing.previous ? ' (previous run)' : ''}`;
  try {
    const text = await kube.client.request<string>({
      method: 'GET',
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(failing.pod)}/log`,
      query: { container: failing.container, tailLines: 5, previous: failing.previous, limitBytes: 4096 },
      text: true,
    });
    const lines = text
      .split('\n')
      .map((l) => l.trimEnd())
      .filter((l) => l !== '')
      .slice(-3);
    return lines.length
      ? [`${what}:`, ...lines.map((l) => `  ${l.length > 300 ? `${l.slice(0, 299)}…` : l}`)]
      : [];
  } catch (err) {
    const f = failure(err);
    return [`${what}: ${f.access === 'forbidden' ? 'forbidden' : f.message}`];
  }
}

/** The live state of an applied object; a Job's Pods (and the failing container's log) are read too. */
function appliedState(kube: Kube): (o: KubeObject) => Promise<LiveState> {
  return async (o) => {
    if (o.kind !== 'Job' || !(o.apiVersion ?? '').startsWith('batch/')) return liveState(o);
    const selector = obj(obj(o.spec).selector).matchLabels;
    const labels = Object.entries(obj(selector))
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(',');
    if (!labels) return liveState(o);
    try {
      const pods = (
        await kube.list(
          { apiVersion: 'v1', kind: 'Pod', namespace: o.metadata.namespace },
          { labelSelector: labels },
        )
      ).items;
      const state = liveState(o, pods);
      const log = state.healthy === false ? await lastLog(kube, o.metadata.namespace ?? '', pods) : [];
      return log.length ? { ...state, details: [...(state.details ?? []), ...log] } : state;
    } catch (err) {
      const state = liveState(o);
      const f = failure(err);
      return {
        ...state,
        details: [
          ...(state.details ?? []),
          `its Pods: ${f.access === 'forbidden' ? 'forbidden' : f.message}`,
        ],
      };
    }
  };
}

/** A side's apparatus: the managed Pod and Service (and the last call), or the endpoint it calls. */
async function apparatusOf(
  kube: Kube,
  kind: 'Plug' | 'Socket',
  owner: KubeObject,
  opts: TraceOptions,
): Promise<ApparatusView | undefined> {
  const spec = obj(obj(owner.spec).apparatus);
  if (!owner.spec || !obj(owner.spec).apparatus) return undefined;
  const side = kind === 'Plug' ? 'plug' : 'socket';
  const containers = Array.isArray(spec.containers) ? spec.containers : [];
  const endpoint = str(spec.endpoint) ?? '';
  if (containers.length === 0) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) || (endpoint !== '' && !endpoint.startsWith('/')))
      return { side, endpoint };
    return { side, note: 'no containers and no absolute endpoint: nothing to call (InvalidEndpoint)' };
  }
  const name = apparatusName(kind, owner.metadata.name ?? '');
  const namespace = owner.metadata.namespace;
  const [pod, service] = await Promise.all([
    describe(kube, { apiVersion: 'v1', kind: 'Pod', namespace, name }, opts, async (p) => podState(p)),
    describe(kube, { apiVersion: 'v1', kind: 'Service', namespace, name }, { ...opts, events: 0 }),
  ]);
  const lastCall = pod.object?.metadata.annotations?.[lastUsedAnnotation];
  return {
    side,
    ...(endpoint ? { endpoint } : {}),
    pod: pod.view,
    service: service.view,
    ...(lastCall ? { lastCall } : {}),
    ...(pod.view.access === 'missing'
      ? { note: 'not running: started on the next call, deleted after idleTimeout' }
      : {}),
  };
}

function condition(o: KubeObject | undefined, type: string): ConditionView | undefined {
  return o ? conditionsOf(o)?.find((c) => c.type === type) : undefined;
}

/** The socket's rules behind a plug's refusal (namespace rules, limit), with the verdict when known. */
function refusalRules(
  plug: KubeObject,
  socket: KubeObject,
  namespaceLabels: Record<string, string> | undefined,
): string[] {
  const coupled = condition(plug, 'Coupled');
  if (coupled?.status === 'True') return [];
  const reason = condition(plug, 'Ready')?.reason ?? coupled?.reason;
  const spec = obj(socket.spec);
  const lines: string[] = [];
  if (reason === Reason.NamespaceNotAllowed) {
    const v = obj(spec.validation) as Parameters<typeof admitNamespace>[0] & object;
    if (v.namespaceWhitelist?.length) lines.push(`namespaceWhitelist: ${v.namespaceWhitelist.join(', ')}`);
    if (v.namespaceBlacklist?.length) lines.push(`namespaceBlacklist: ${v.namespaceBlacklist.join(', ')}`);
    if (v.namespaceSelector) lines.push(`namespaceSelector: ${describeSelector(v.namespaceSelector)}`);
    const verdict = admitNamespace(v, plug.metadata.namespace ?? '', namespaceLabels);
    if (!verdict.allowed)
      lines.push(
        `refused: ${verdict.message}${namespaceLabels === undefined && v.namespaceSelector ? " (the Namespace's labels could not be read)" : ''}`,
      );
  }
  if (reason === Reason.SocketLimitReached) {
    const coupledCount = obj(socket.status).coupledPlugCount;
    lines.push(`limit: ${String(spec.limit ?? 0)} (${String(coupledCount ?? 0)} coupled)`);
  }
  return lines;
}

async function namespaceLabelsOf(kube: Kube, name: string): Promise<Record<string, string> | undefined> {
  const r = await read(kube, { apiVersion: 'v1', kind: 'Namespace', name });
  return r.access === 'found' ? (r.object.metadata.labels ?? {}) : undefined;
}

export async function tracePlug(
  kube: Kube,
  namespace: string,
  name: string,
  opts: TraceOptions,
): Promise<PlugTrace> {
  const at = (opts.now ?? new Date()).toISOString();
  const plugRef = { apiVersion, kind: 'Plug', namespace, name };
  const { view: plugView, object: plug } = await describe(kube, plugRef, opts);
  const empty = { kind: 'PlugTrace' as const, at, plug: plugView, lifecycle: {}, applied: [], apparatus: [] };
  if (!plug) return empty;
  const spec = obj(plug.spec);
  const status = obj(plug.status);
  const socketSpec = obj(spec.socket);
  const socketName = str(socketSpec.name);
  const socketRef = socketName
    ? { namespace: str(socketSpec.namespace) ?? namespace, name: socketName }
    : undefined;
  const coupledSocket = obj(status.coupledSocket);
  const lifecycle = obj(status.lifecycle);
  const coupling = obj(lifecycle.coupling);
  const appliedRefs = Array.isArray(coupling.applied) ? coupling.applied.map(obj) : [];
  const results = obj(status.coupledResult);

  const [socketRead, applied, plugApparatus] = await Promise.all([
    socketRef
      ? describe(kube, { apiVersion, kind: 'Socket', ...socketRef }, opts)
      : Promise.resolve(undefined),
    Promise.all(
      appliedRefs.map(async (r): Promise<AppliedView> => {
        const ref = {
          apiVersion: str(r.apiVersion) ?? '',
          kind: str(r.kind) ?? '',
          name: str(r.name) ?? '',
          ...(str(r.namespace) ? { namespace: str(r.namespace) } : {}),
        };
        const { view } = await describe(kube, ref, opts, appliedState(kube));
        return { side: str(r.side) ?? '?', ...(r.retain === true ? { retain: true } : {}), ...view };
      }),
    ),
    apparatusOf(kube, 'Plug', plug, opts),
  ]);
  const socket = socketRead?.object;
  const refused = socket && condition(plug, 'Coupled')?.status !== 'True';
  const [socketApparatus, labels] = await Promise.all([
    socket ? apparatusOf(kube, 'Socket', socket, opts) : Promise.resolve(undefined),
    refused && obj(obj(socket.spec).validation).namespaceSelector
      ? namespaceLabelsOf(kube, namespace)
      : Promise.resolve(undefined),
  ]);
  const rules = socket ? refusalRules(plug, socket, labels) : [];
  const resultKeys = (v: unknown) => Object.keys(obj(v)).sort();
  const plugResults = resultKeys(results.plug);
  const socketResults = resultKeys(results.socket);
  return {
    kind: 'PlugTrace',
    at,
    plug: {
      ...plugView,
      ...(socketRef ? { socketRef } : {}),
      ...(Object.keys(coupledSocket).length ? { coupledSocket } : {}),
      ...(Object.keys(obj(status.failure)).length ? { failure: obj(status.failure) } : {}),
      ...(plugResults.length || socketResults.length
        ? {
            results: {
              ...(plugResults.length ? { plug: plugResults } : {}),
              ...(socketResults.length ? { socket: socketResults } : {}),
            },
          }
        : {}),
    },
    ...(socketRead ? { socket: { ...socketRead.view, ...(rules.length ? { rules } : {}) } } : {}),
    lifecycle: {
      ...(str(lifecycle.created) ? { created: str(lifecycle.created) } : {}),
      ...(str(lifecycle.deleted) ? { deleted: str(lifecycle.deleted) } : {}),
      ...(str(coupling.socketUid)
        ? {
            coupling: {
              socket: `${str(coupling.socketNamespace) ?? ''}/${str(coupling.socketName) ?? ''}`,
              socketUid: str(coupling.socketUid) ?? '',
              ...(sideRecord(coupling.plug) ? { plugSide: sideRecord(coupling.plug) } : {}),
              ...(sideRecord(coupling.socket) ? { socketSide: sideRecord(coupling.socket) } : {}),
            },
          }
        : {}),
    },
    applied,
    apparatus: [plugApparatus, socketApparatus].filter((a) => a !== undefined),
  };
}

/** Whether a plug points at (or is still coupled to) the socket. */
function pointsAt(plug: KubeObject, socket: KubeObject): boolean {
  const ref = obj(obj(plug.spec).socket);
  const ns = str(ref.namespace) ?? plug.metadata.namespace;
  if (str(ref.name) === socket.metadata.name && ns === socket.metadata.namespace) return true;
  return socket.metadata.uid !== undefined && obj(obj(plug.status).coupledSocket).uid === socket.metadata.uid;
}

function summary(plug: KubeObject): PlugSummary {
  const coupled = condition(plug, 'Coupled');
  const ready = condition(plug, 'Ready');
  const main = ready ?? coupled;
  const coupling = obj(obj(obj(plug.status).lifecycle).coupling);
  return {
    namespace: plug.metadata.namespace ?? '',
    name: plug.metadata.name ?? '',
    access: 'found',
    ...(coupled ? { coupled: coupled.status } : {}),
    ...(main?.reason ? { reason: main.reason } : {}),
    ...(main?.message ? { conditionMessage: main.message } : {}),
    ...(main?.lastTransitionTime ? { since: main.lastTransitionTime } : {}),
    ...(sideRecord(coupling.plug) ? { plugSide: sideRecord(coupling.plug) } : {}),
    ...(sideRecord(coupling.socket) ? { socketSide: sideRecord(coupling.socket) } : {}),
  };
}

/** Plugs grouped by reason: coupled groups first, then by size. */
export function groupPlugs(plugs: readonly PlugSummary[]): PlugGroup[] {
  const groups = new Map<string, PlugGroup>();
  for (const p of plugs) {
    const coupled = p.coupled === 'True';
    const reason =
      p.reason ?? (p.access === 'found' ? 'NoStatus' : p.access === 'forbidden' ? 'Forbidden' : 'Unknown');
    const key = `${coupled}/${reason}`;
    let g = groups.get(key);
    if (!g) {
      g = { reason, coupled, plugs: [] };
      groups.set(key, g);
    }
    g.plugs.push(p);
  }
  for (const g of groups.values())
    g.plugs.sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  return [...groups.values()].sort(
    (a, b) =>
      Number(b.coupled) - Number(a.coupled) ||
      b.plugs.length - a.plugs.length ||
      a.reason.localeCompare(b.reason),
  );
}

export async function traceSocket(
  kube: Kube,
  namespace: string,
  name: string,
  opts: TraceOptions,
): Promise<SocketTrace> {
  const at = (opts.now ?? new Date()).toISOString();
  const { view, object: socket } = await describe(
    kube,
    { apiVersion, kind: 'Socket', namespace, name },
    opts,
  );
  if (!socket) {
    return {
      kind: 'SocketTrace',
      at,
      socket: view,
      plugs: { source: 'status', access: 'found', groups: [] },
      apparatus: [],
    };
  }
  const spec = obj(socket.spec);
  const status = obj(socket.status);
  const lifecycle = obj(status.lifecycle);
  const v = obj(spec.validation) as Parameters<typeof admitNamespace>[0] & object;
  const rules = [
    ...(typeof spec.limit === 'number' && spec.limit > 0 ? [`limit: ${spec.limit}`] : []),
    ...(v.namespaceWhitelist?.length ? [`namespaceWhitelist: ${v.namespaceWhitelist.join(', ')}`] : []),
    ...(v.namespaceBlacklist?.length ? [`namespaceBlacklist: ${v.namespaceBlacklist.join(', ')}`] : []),
    ...(v.namespaceSelector ? [`namespaceSelector: ${describeSelector(v.namespaceSelector)}`] : []),
  ];
  const [plugs, apparatus] = await Promise.all([
    plugsOf(kube, socket),
    apparatusOf(kube, 'Socket', socket, opts),
  ]);
  const waiting = obj(status.waitingPlugs) as Record<string, number>;
  return {
    kind: 'SocketTrace',
    at,
    socket: {
      ...view,
      ...(typeof status.coupledPlugCount === 'number' ? { coupledPlugCount: status.coupledPlugCount } : {}),
      ...(Object.keys(waiting).length ? { waitingPlugs: waiting } : {}),
      ...(rules.length ? { rules } : {}),
      ...(str(lifecycle.created) || str(lifecycle.deleted)
        ? {
            lifecycle: {
              ...(str(lifecycle.created) ? { created: str(lifecycle.created) } : {}),
              ...(str(lifecycle.deleted) ? { deleted: str(lifecycle.deleted) } : {}),
            },
          }
        : {}),
    },
    plugs,
    apparatus: apparatus ? [apparatus] : [],
  };
}

/**
 * The plugs of a socket: from a list of every Plug when the user may list them cluster-wide; else
 * from the namespaces the socket's status names (coupled plugs) and its own, each read as far as
 * allowed, with the coupled plugs that could not be read shown from the socket's status.
 */
async function plugsOf(kube: Kube, socket: KubeObject): Promise<SocketTrace['plugs']> {
  try {
    const all = await kube.list({ apiVersion, kind: 'Plug' });
    return {
      source: 'list',
      access: 'found',
      groups: groupPlugs(all.items.filter((p) => pointsAt(p, socket)).map(summary)),
    };
  } catch (err) {
    const refused = failure(err);
    const listed = obj(socket.status).coupledPlugs;
    const coupled = (Array.isArray(listed) ? listed : []).map(obj);
    const namespaces = new Set([
      socket.metadata.namespace ?? '',
      ...coupled.map((c) => str(c.namespace) ?? ''),
    ]);
    const found = new Map<string, PlugSummary>();
    for (const ns of [...namespaces].filter((n) => n !== '').sort()) {
      try {
        const list = await kube.list({ apiVersion, kind: 'Plug', namespace: ns });
        for (const p of list.items.filter((x) => pointsAt(x, socket)))
          found.set(`${p.metadata.namespace}/${p.metadata.name}`, summary(p));
      } catch {
        // Not allowed in that namespace either: its coupled plugs come from the socket's status below.
      }
    }
    for (const c of coupled) {
      const key = `${str(c.namespace) ?? ''}/${str(c.name) ?? ''}`;
      if (!found.has(key))
        found.set(key, {
          namespace: str(c.namespace) ?? '',
          name: str(c.name) ?? '',
          access: 'forbidden',
          coupled: 'True',
          reason: 'Coupled',
          conditionMessage: "listed in the socket's status; the plug itself could not be read",
        });
    }
    return {
      source: 'status',
      access: refused.access,
      message: refused.message,
      groups: groupPlugs([...found.values()]),
    };
  }
}
