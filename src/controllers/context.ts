// What the reconcilers share: clients, caches, the event recorder, options, and the seams through
// which resolution and side effects (resources, apparatus) are performed.
import { type Plug, PlugSchema } from '../api/plug.ts';
import { type Socket, SocketSchema } from '../api/socket.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { Kube } from '../kube/objects.ts';
import type { KubeObject, ObjectKey } from '../kube/types.ts';
import { objectKey } from '../kube/types.ts';
import type { Logger } from '../observe/log.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { Informer } from '../runtime/informer.ts';
import type { Actions } from './actions.ts';
import type { CouplingNewsTracker } from './coupling-news.ts';
import type { Resolver } from './resolve.ts';

export interface ControllerOptions {
  watchNamespaces: string[] | undefined;
  /**
   * Referenced ConfigMaps/Secrets/vars objects: a value read as a ServiceAccount is reused at most
   * this long, and where they cannot be watched they are polled this often (ms; references.ts).
   */
  referenceResyncMs: number;
  /** Give up failing cleanup after this long (ms) and remove the finalizer. */
  cleanupTimeoutMs: number;
  allowClusterScopedResources: boolean;
}

export interface OperatorContext {
  kube: Kube;
  recorder: EventRecorder;
  log: Logger;
  metrics: Metrics;
  plugs: Informer<KubeObject>;
  sockets: Informer<KubeObject>;
  namespaces: Informer<KubeObject>;
  options: ControllerOptions;
  resolver: Resolver;
  actions: Actions;
  now: () => Date;
  enqueuePlug: (key: ObjectKey, afterMs?: number) => void;
  enqueueSocket: (key: ObjectKey, afterMs?: number) => void;
  /** Plugs being coupled, by socket UID: counted against the socket's limit before the cache shows them. */
  reservations: Map<string, Set<string>>;
  /** What the socket reconciler last saw of each socket's couplings (its Events report changes). */
  couplingNews: CouplingNewsTracker;
}

export const plugIndex = {
  /** namespace/name of the socket a plug points at. */
  targetSocket: 'targetSocket',
  /** UID of the socket a plug is coupled to (or was, while decoupling). */
  coupledSocketUid: 'coupledSocketUid',
  namespace: 'namespace',
} as const;

export const socketIndex = { uid: 'uid' } as const;

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

// Sockets are few and read by every plug's reconcile: their parse is kept per object version.
// Plugs are many (10,000s) and each is parsed by its own reconcile only: caching them would double
// the memory of the cache for little CPU (a parse takes about 6 µs).
const socketCache = new WeakMap<KubeObject, Parsed<Socket>>();

function describeIssues(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string {
  return issues
    .slice(0, 5)
    .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

export function parsePlug(raw: KubeObject): Parsed<Plug> {
  const r = PlugSchema.safeParse(raw);
  return r.success ? { ok: true, value: r.data } : { ok: false, error: describeIssues(r.error.issues) };
}

export function parseSocket(raw: KubeObject): Parsed<Socket> {
  let p = socketCache.get(raw);
  if (!p) {
    const r = SocketSchema.safeParse(raw);
    p = r.success ? { ok: true, value: r.data } : { ok: false, error: describeIssues(r.error.issues) };
    socketCache.set(raw, p);
  }
  return p;
}

/** The key of the socket a plug points at (namespace defaults to the plug's). */
export function targetSocketKey(raw: KubeObject): ObjectKey | undefined {
  const spec = raw.spec as { socket?: { name?: unknown; namespace?: unknown } } | undefined;
  const name = spec?.socket?.name;
  if (typeof name !== 'string' || name === '') return undefined;
  const ns =
    typeof spec?.socket?.namespace === 'string' && spec.socket.namespace
      ? spec.socket.namespace
      : raw.metadata.namespace;
  return objectKey(ns, name);
}

/** The socket UID the plug's record says it is coupled to (ours, or the Go operator's coupledSocket). */
export function coupledSocketUid(raw: KubeObject): string | undefined {
  const st = raw.status as
    | { lifecycle?: { coupling?: { socketUid?: unknown } }; coupledSocket?: { uid?: unknown } }
    | undefined;
  const uid = st?.lifecycle?.coupling?.socketUid ?? st?.coupledSocket?.uid;
  return typeof uid === 'string' && uid ? uid : undefined;
}

export function ownerRef(obj: KubeObject) {
  return {
    apiVersion: obj.apiVersion ?? '',
    kind: obj.kind ?? '',
    name: obj.metadata.name ?? '',
    namespace: obj.metadata.namespace ?? '',
    uid: obj.metadata.uid ?? '',
  };
}
