// Assembles the operator: informers with their indexes and event handlers, the Plug and Socket
// controllers, and the manager that runs them. main.ts turns flags into these options; tests and
// benchmarks build operators with it directly.
import { apiVersion, group, version } from './api/common.ts';
import type { Actions } from './controllers/actions.ts';
import {
  type ControllerOptions,
  coupledSocketUid,
  type OperatorContext,
  plugIndex,
  socketIndex,
  targetSocketKey,
} from './controllers/context.ts';
import { CouplingNewsTracker } from './controllers/coupling-news.ts';
import {
  createDeferredResourceReconciler,
  deferredResourceIndex,
  parseDeferredResource,
} from './controllers/deferred-resource.ts';
import { createPlugReconciler } from './controllers/plug.ts';
import { References } from './controllers/references.ts';
import type { Resolver } from './controllers/resolve.ts';
import { createSocketReconciler } from './controllers/socket.ts';
import { waitForIndexKeys } from './integration/deferred-resource.ts';
import type { KubeClient } from './kube/client.ts';
import { EventRecorder } from './kube/events.ts';
import { RestMapper } from './kube/mapper.ts';
import { Kube } from './kube/objects.ts';
import type { KubeObject } from './kube/types.ts';
import { keyOf, objectKey } from './kube/types.ts';
import type { Logger } from './observe/log.ts';
import type { Metrics } from './observe/metrics.ts';
import { Controller } from './runtime/controller.ts';
import { Informer, stripManagedFields } from './runtime/informer.ts';
import { kubeLeaseStore, LeaderElector } from './runtime/leader-election.ts';
import { Manager, type Runnable } from './runtime/manager.ts';

export interface OperatorOptions extends ControllerOptions {
  client: KubeClient;
  log: Logger;
  metrics: Metrics;
  workers: number;
  probeAddress?: string;
  metricsAddress?: string;
  leaderElection?: { namespace: string; name: string; identity: string };
  /**
   * Watch the metadata of referenced ConfigMaps, Secrets and vars kinds (default true). False: the
   * operator has no list/watch on them and polls each referenced object instead (references.ts).
   */
  referenceWatch?: boolean;
  /** How long an unused metadata watch lingers before it stops (default 5 minutes; tests shorten it). */
  referenceWatchLingerMs?: number;
  /** Builds resolution and side effects once the Kube facade exists (plus leader-only background work). */
  seams: (
    kube: Kube,
    recorder: EventRecorder,
    caches: {
      plugs: Informer<KubeObject>;
      sockets: Informer<KubeObject>;
      namespaces: Informer<KubeObject>;
      references: References;
    },
  ) => { resolver: Resolver; actions: Actions; runnables?: Runnable[] };
  onLostLeadership?: () => void;
}

export interface Operator {
  manager: Manager;
  ctx: OperatorContext;
  references: References;
  plugController: Controller;
  socketController: Controller;
  deferredResourceController: Controller;
  deferredResources: Informer<KubeObject>;
  start(signal: AbortSignal): Promise<void>;
}

const plugMapping = { group, version, resource: 'plugs', kind: 'Plug', namespaced: true };
const socketMapping = { group, version, resource: 'sockets', kind: 'Socket', namespaced: true };
const deferredResourceMapping = {
  group,
  version,
  resource: 'deferredresources',
  kind: 'DeferredResource',
  namespaced: true,
};
const namespaceMapping = {
  group: '',
  version: 'v1',
  resource: 'namespaces',
  kind: 'Namespace',
  namespaced: false,
};

const generationChanged = (a: KubeObject, b: KubeObject) => a.metadata.generation !== b.metadata.generation;
const deletionChanged = (a: KubeObject, b: KubeObject) =>
  Boolean(a.metadata.deletionTimestamp) !== Boolean(b.metadata.deletionTimestamp);

/** What the socket summary depends on in a plug. */
function couplingSummary(p: KubeObject): string {
  const st = p.status as
    | {
        coupledSocket?: { uid?: string };
        conditions?: Array<{ type: string; reason?: string }>;
        failure?: { side?: string; socketUid?: string; reason?: string; message?: string };
      }
    | undefined;
  const coupled = st?.conditions?.find((c) => c.type === 'Coupled');
  // The socket side's last event: the socket reports coupled/updated/decoupled plugs in its Events.
  const side = (st as { lifecycle?: { coupling?: { socket?: { event?: string; at?: string } } } } | undefined)
    ?.lifecycle?.coupling?.socket;
  // A failure on the socket's side: the socket's Ready condition names it.
  const f = st?.failure?.side === 'socket' ? st.failure : undefined;
  const failing = f ? `${f.socketUid}|${f.reason}|${f.message}` : '';
  return `${st?.coupledSocket?.uid ?? ''}|${coupled?.reason ?? ''}|${targetSocketKey(p) ?? ''}|${coupledSocketUid(p) ?? ''}|${side?.event ?? ''}@${side?.at ?? ''}|${failing}`;
}

/** How long socket status writes are coalesced while its plugs change. */
const socketSummaryDelayMs = 1000;

export function createOperator(opts: OperatorOptions): Operator {
  const { client, log, metrics } = opts;
  const mapper = new RestMapper(client, [
    plugMapping,
    socketMapping,
    deferredResourceMapping,
    namespaceMapping,
  ]);
  const kube = new Kube(client, mapper);
  // Each coupling queues an Event while its worker goes on with the next key: with fewer senders
  // than workers, a burst of couplings leaves Events (and their memory) piling up behind it.
  const recorder = new EventRecorder({
    client,
    log: log.child({ component: 'events' }),
    concurrency: Math.max(4, opts.workers),
  });
  const transform = (o: KubeObject) => stripManagedFields(o);
  const plugs = new Informer<KubeObject>({
    client,
    resource: plugMapping,
    namespaces: opts.watchNamespaces,
    log,
    transform,
  });
  const sockets = new Informer<KubeObject>({
    client,
    resource: socketMapping,
    namespaces: opts.watchNamespaces,
    log,
    transform,
  });
  const namespaces = new Informer<KubeObject>({ client, resource: namespaceMapping, log, transform });
  const deferredResources = new Informer<KubeObject>({
    client,
    resource: deferredResourceMapping,
    namespaces: opts.watchNamespaces,
    log,
    transform,
  });

  plugs.store.addIndex(plugIndex.targetSocket, (p) => {
    const k = targetSocketKey(p);
    return k ? [k] : [];
  });
  plugs.store.addIndex(plugIndex.coupledSocketUid, (p) => {
    const uid = coupledSocketUid(p);
    return uid ? [uid] : [];
  });
  plugs.store.addIndex(plugIndex.namespace, (p) => [p.metadata.namespace ?? '']);
  sockets.store.addIndex(socketIndex.uid, (s) => (s.metadata.uid ? [s.metadata.uid] : []));

  // Controllers are created below; the context calls them through these.
  let plugController: Controller;
  const references = new References({
    kube,
    log: log.child({ component: 'references' }),
    metrics,
    namespaces: opts.watchNamespaces,
    watch: opts.referenceWatch ?? true,
    ttlMs: opts.referenceResyncMs,
    ...(opts.referenceWatchLingerMs !== undefined ? { lingerMs: opts.referenceWatchLingerMs } : {}),
    enqueue: (k) => plugController.enqueue(k),
  });
  const {
    resolver,
    actions,
    runnables = [],
  } = opts.seams(kube, recorder, {
    plugs,
    sockets,
    namespaces,
    references,
  });

  let socketController: Controller;
  const ctx: OperatorContext = {
    kube,
    recorder,
    log,
    metrics,
    plugs,
    sockets,
    namespaces,
    options: opts,
    resolver,
    actions,
    now: () => new Date(),
    enqueuePlug: (k, after) => (after ? plugController.enqueueAfter(k, after) : plugController.enqueue(k)),
    enqueueSocket: (k, after) =>
      after ? socketController.enqueueAfter(k, after) : socketController.enqueue(k),
    reservations: new Map(),
    couplingNews: new CouplingNewsTracker(new Date()),
  };
  plugController = new Controller({
    name: 'plug',
    reconcile: createPlugReconciler(ctx),
    workers: opts.workers,
    log: log.child({ controller: 'plug' }),
    metrics,
  });
  socketController = new Controller({
    name: 'socket',
    reconcile: createSocketReconciler(ctx),
    workers: Math.max(1, Math.min(opts.workers, 2)),
    log: log.child({ controller: 'socket' }),
    metrics,
  });

  // DeferredResources: on their own, they only share the clients, the namespaces and the options.
  deferredResources.store.addIndex(deferredResourceIndex.waitFor, (d) => {
    const parsed = parseDeferredResource(d);
    return parsed.ok ? waitForIndexKeys(d.metadata.namespace ?? '', parsed.value.spec) : [];
  });
  const deferredResourceController: Controller = new Controller({
    name: 'deferredresource',
    reconcile: createDeferredResourceReconciler({
      kube,
      recorder,
      log: log.child({ controller: 'deferredresource' }),
      deferredResources,
      namespaces,
      allowClusterScopedResources: opts.allowClusterScopedResources,
      cleanupTimeoutMs: opts.cleanupTimeoutMs,
      now: () => new Date(),
      enqueue: (k, after) =>
        after ? deferredResourceController.enqueueAfter(k, after) : deferredResourceController.enqueue(k),
    }),
    workers: opts.workers,
    log: log.child({ controller: 'deferredresource' }),
    metrics,
    // Failures (a missing right, an API error) are retried from 0.5 s up to every minute, so a
    // RoleBinding added later is noticed within a minute.
    backoffBaseMs: 500,
    backoffMaxMs: 60_000,
  });
  deferredResources.addHandler({
    onAdd: (d) => deferredResourceController.enqueue(keyOf(d)),
    onUpdate: (old, d) => {
      if (generationChanged(old, d) || deletionChanged(old, d) || old.metadata.uid !== d.metadata.uid)
        deferredResourceController.enqueue(keyOf(d));
    },
    onDelete: (d) => deferredResourceController.enqueue(keyOf(d)),
  });

  const socketKeyByUid = (uid: string) => {
    const s = sockets.store.byIndex(socketIndex.uid, uid)[0];
    return s ? keyOf(s) : undefined;
  };
  /** Sockets whose summary a plug is part of. */
  const socketsOf = (p: KubeObject): string[] => {
    const out = new Set<string>();
    const t = targetSocketKey(p);
    if (t) out.add(t);
    const uid = coupledSocketUid(p);
    const k = uid ? socketKeyByUid(uid) : undefined;
    if (k) out.add(k);
    return [...out];
  };
  /** When a plug leaves a socket, plugs waiting for a slot there may couple now. */
  const wakeWaiting = (socketKey: string | undefined) => {
    if (!socketKey) return;
    for (const p of plugs.store.byIndex(plugIndex.targetSocket, socketKey)) {
      if (!(p.status as { coupledSocket?: unknown } | undefined)?.coupledSocket)
        plugController.enqueue(keyOf(p));
    }
  };

  plugs.addHandler({
    onAdd: (p) => {
      plugController.enqueue(keyOf(p));
      for (const k of socketsOf(p)) socketController.enqueueAfter(k, socketSummaryDelayMs);
    },
    onUpdate: (old, p) => {
      // A spec change may fix what failed: look now, and restart the backoff (a ResourceInvalid
      // waits minutes between retries otherwise).
      if (generationChanged(old, p) || deletionChanged(old, p)) plugController.retryNow(keyOf(p));
      if (couplingSummary(old) !== couplingSummary(p)) {
        for (const k of new Set([...socketsOf(old), ...socketsOf(p)]))
          socketController.enqueueAfter(k, socketSummaryDelayMs);
      }
      const was = coupledSocketUid(old);
      if (was && was !== coupledSocketUid(p)) wakeWaiting(socketKeyByUid(was));
    },
    onDelete: (p) => {
      plugController.enqueue(keyOf(p));
      references.forget(keyOf(p));
      for (const k of socketsOf(p)) socketController.enqueueAfter(k, socketSummaryDelayMs);
      const was = coupledSocketUid(p);
      if (was) wakeWaiting(socketKeyByUid(was));
    },
  });

  const plugsOfSocket = (s: KubeObject): string[] => {
    const keys = new Set(plugs.store.keysByIndex(plugIndex.targetSocket, keyOf(s)));
    if (s.metadata.uid)
      for (const k of plugs.store.keysByIndex(plugIndex.coupledSocketUid, s.metadata.uid)) keys.add(k);
    return [...keys];
  };
  sockets.addHandler({
    onAdd: (s) => {
      socketController.enqueue(keyOf(s));
      for (const k of plugsOfSocket(s)) plugController.enqueue(k);
    },
    onUpdate: (old, s) => {
      const specOrLife =
        generationChanged(old, s) || deletionChanged(old, s) || old.metadata.uid !== s.metadata.uid;
      if (specOrLife) {
        socketController.retryNow(keyOf(s));
        for (const k of plugsOfSocket(s)) plugController.retryNow(k);
      }
    },
    onDelete: (s) => {
      socketController.enqueue(keyOf(s));
      for (const k of plugsOfSocket(s)) plugController.enqueue(k);
    },
  });

  namespaces.addHandler({
    onUpdate: (old, n) => {
      if (JSON.stringify(old.metadata.labels ?? {}) === JSON.stringify(n.metadata.labels ?? {})) return;
      for (const k of plugs.store.keysByIndex(plugIndex.namespace, n.metadata.name ?? ''))
        plugController.enqueue(k);
    },
  });

  const elector = opts.leaderElection
    ? new LeaderElector({
        identity: opts.leaderElection.identity,
        store: kubeLeaseStore(client, opts.leaderElection.namespace, opts.leaderElection.name),
        log: log.child({ component: 'leader-election' }),
      })
    : undefined;
  const manager = new Manager({
    log,
    metrics,
    ...(opts.probeAddress !== undefined ? { probeAddress: opts.probeAddress } : {}),
    ...(opts.metricsAddress !== undefined ? { metricsAddress: opts.metricsAddress } : {}),
    ...(elector ? { elector } : {}),
    ...(opts.onLostLeadership ? { onLostLeadership: opts.onLostLeadership } : {}),
  });
  manager.addInformer(namespaces);
  manager.addInformer(sockets);
  manager.addInformer(plugs);
  manager.addInformer(deferredResources);
  for (const r of runnables) manager.addLeaderRunnable(r);
  manager.addLeaderRunnable(references);
  manager.addLeaderRunnable(socketController);
  manager.addLeaderRunnable(plugController);
  manager.addLeaderRunnable(deferredResourceController);
  manager.addLeaderRunnable({
    start: async (signal) => {
      await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
      await recorder.flush();
    },
  });

  return {
    manager,
    ctx,
    references,
    plugController,
    socketController,
    deferredResourceController,
    deferredResources,
    start: (signal) => manager.start(signal),
  };
}

export { apiVersion, objectKey };
