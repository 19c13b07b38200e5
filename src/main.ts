// The command line: configuration from flags and environment, a Kubernetes client (KUBECONFIG,
// in-cluster, or the embedded local control plane), the operator, and a graceful shutdown on
// SIGTERM/SIGINT.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { installCrds } from './api/install.ts';
import {
  clusterDomainLookup,
  createApparatusClient,
  describeOverrides,
  parseAllowedHosts,
  parseEndpointOverrides,
} from './apparatus/index.ts';
import { ConfigError, type OperatorConfig, parseConfig, usage } from './config.ts';
import { createTemplateEngine } from './controllers/template-engine.ts';
import { KubeClient } from './kube/client.ts';
import {
  inClusterAvailable,
  inClusterConnection,
  type KubeConnection,
  kubeconfigConnection,
} from './kube/connection.ts';
import { Kube } from './kube/objects.ts';
import { createLogger, type Logger } from './observe/log.ts';
import { Metrics } from './observe/metrics.ts';
import { createOperator } from './operator.ts';
import { defaultSeams } from './seams.ts';

interface Cluster {
  connection: KubeConnection;
  /** The cluster's DNS server, when this process runs outside the cluster but can reach it. */
  clusterDns?: string;
  /** The embedded local control plane: main installs the CRDs (a real install has the chart's). */
  embedded?: boolean;
  stop?: () => Promise<void>;
}

async function connect(cfg: OperatorConfig, log: Logger): Promise<Cluster> {
  // --node asks for the embedded plane (with a node) whatever else is configured.
  const local = cfg.localControlPlaneNode ? true : cfg.localControlPlane;
  if (local !== true && cfg.kubeconfig) {
    // A missing or unusable kubeconfig is the user's configuration: a message, not a stack trace.
    const connection = await kubeconfigConnection(cfg.kubeconfig).catch((err: Error) => {
      throw new ConfigError(err.message, { cause: err });
    });
    return { connection };
  }
  if (local !== true && inClusterAvailable()) {
    return { connection: inClusterConnection() };
  }
  if (local === false) {
    throw new ConfigError('no cluster: set KUBECONFIG, run in a cluster, or allow the local control plane');
  }
  // The embedded default: a real local control plane (development only: tools/ is not in the image).
  const cp = await loadLocalControlPlane();
  log.info(
    cfg.localControlPlaneNode
      ? 'starting the local control plane with a node (the first build takes 10-15 minutes; then run npm run images for the samples)'
      : 'no KUBECONFIG: starting the local control plane (the first build takes 8-12 minutes)',
  );
  const { state, reused } = await cp.up({ node: cfg.localControlPlaneNode });
  const connection = await kubeconfigConnection(state.kubeconfig);
  log.info('local control plane ready', {
    kubeconfig: state.kubeconfig,
    ...(state.node ? { node: 'one node: Pods run; images come from npm run images' } : {}),
    try: `.cluster/bin/kubectl --kubeconfig ${state.kubeconfig} apply --server-side -f config/samples/`,
  });
  return {
    connection,
    embedded: true,
    ...(state.clusterDns ? { clusterDns: state.clusterDns } : {}),
    ...(reused ? {} : { stop: async () => void (await cp.down()) }),
  };
}

/** What main.ts uses of tools/controlplane/controlplane.ts (typed here: tools/ is outside the build). */
interface LocalControlPlane {
  up(opts: { node?: boolean }): Promise<{
    state: { kubeconfig: string; node?: unknown; clusterDns?: string };
    reused: boolean;
  }>;
  down(): Promise<unknown>;
}

/**
 * Loads the embedded local control plane from a source checkout. The specifier is computed, not a
 * literal, so that `npm run build` neither compiles tools/ into dist/ nor rewrites its `.ts`
 * extension: from dist/ it resolves to the checkout's tools/ (present in a checkout, absent in the
 * container image, where this is a clear configuration error).
 */
async function loadLocalControlPlane(): Promise<LocalControlPlane> {
  const specifier = new URL(['..', 'tools', 'controlplane', 'controlplane.ts'].join('/'), import.meta.url);
  try {
    return (await import(specifier.href)) as LocalControlPlane;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_UNKNOWN_FILE_EXTENSION') {
      throw new ConfigError(
        'no cluster: KUBECONFIG is not set and this is not a Pod (no in-cluster config); the embedded local control plane needs a source checkout (tools/controlplane), which this installation does not have',
      );
    }
    throw err;
  }
}

/**
 * Connections to the API server: one per request in flight (HTTP/1.1), so enough for every worker
 * and as many Event senders (see createOperator), plus the long-lived watches, never fewer than 32.
 */
export function connectionPoolSize(workers: number): number {
  return Math.max(32, 2 * workers + 16);
}

/** Applies the CRDs (embedded mode only; a real install gets them from the Helm chart). */
async function installEmbeddedCrds(connection: KubeConnection): Promise<void> {
  const client = new KubeClient({ connection });
  try {
    await installCrds(new Kube(client));
  } finally {
    client.close();
  }
}

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage());
    return 0;
  }
  const cfg = parseConfig(argv, env);
  const log = createLogger({ level: cfg.logLevel, format: cfg.logFormat });
  const overrides = parseEndpointOverrides(env);
  for (const line of describeOverrides(overrides)) log.warn(`apparatus endpoint override: ${line}`);
  const allowedHosts = parseAllowedHosts(cfg.apparatusAllowedHosts);

  const cluster = await connect(cfg, log);
  // From here on a signal stops the operator and then the embedded plane this run started (while
  // `up` starts it, tools/controlplane handles signals itself): nothing awaits before the handlers.
  const stop = new AbortController();
  const onSignal = (sig: string) => {
    log.info(`received ${sig}: shutting down`);
    stop.abort();
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  const metrics = new Metrics({ processMetrics: true });
  const client = new KubeClient({
    connection: cluster.connection,
    qps: cfg.kubeApiQps,
    burst: cfg.kubeApiBurst,
    maxSockets: connectionPoolSize(cfg.maxConcurrentReconciles),
    metrics,
    log,
    userAgent: 'integration-operator',
  });
  // Outside the cluster, `*.svc.cluster.local` (managed apparatus Services) resolves only through
  // the cluster's DNS: the local node's, or one named with --cluster-dns-server.
  const clusterDns = cfg.clusterDnsServer ?? cluster.clusterDns;
  if (clusterDns) log.info('resolving cluster.local names through the cluster DNS', { server: clusterDns });
  const apparatusClient = createApparatusClient({
    allowedHosts,
    ...(clusterDns ? { lookup: clusterDomainLookup(clusterDns) } : {}),
    attemptTimeoutMs: cfg.apparatusTimeoutMs,
    attempts: cfg.apparatusAttempts,
    registry: metrics.registry,
  });
  const templates = createTemplateEngine({
    workers: cfg.templateWorkers,
    limits: { timeoutMs: cfg.templateTimeoutMs, memoryBytes: cfg.templateMemoryMb * 1024 * 1024 },
    metrics,
  });
  const identity = `${hostname()}-${randomBytes(4).toString('hex')}`;
  const operator = createOperator({
    client,
    log,
    metrics,
    workers: cfg.maxConcurrentReconciles,
    probeAddress: cfg.healthProbeBindAddress,
    metricsAddress: cfg.metricsBindAddress,
    watchNamespaces: cfg.watchNamespaces,
    referenceResyncMs: cfg.referenceResyncSeconds * 1000,
    referenceWatch: cfg.referenceWatch,
    cleanupTimeoutMs: cfg.cleanupTimeoutSeconds * 1000,
    allowClusterScopedResources: cfg.allowClusterScopedResources,
    ...(cfg.leaderElect
      ? { leaderElection: { namespace: cfg.leaderElectionNamespace, name: cfg.leaderElectionId, identity } }
      : {}),
    seams: defaultSeams({
      apparatusClient,
      templates,
      allowedHosts,
      overrides,
      log,
      allowClusterScoped: cfg.allowClusterScopedResources,
      reapIntervalMs: cfg.apparatusReapIntervalSeconds * 1000,
      managedUrlTemplate: cfg.apparatusManagedUrlTemplate,
    }),
  });

  try {
    if (cluster.embedded) await installEmbeddedCrds(cluster.connection);
    if (!stop.signal.aborted) {
      log.info('starting', {
        identity,
        watchNamespaces: cfg.watchNamespaces ?? 'all',
        leaderElection: cfg.leaderElect,
        workers: cfg.maxConcurrentReconciles,
      });
      await operator.start(stop.signal);
    }
  } finally {
    await templates.close();
    apparatusClient.close();
    client.close();
    await cluster.stop?.();
  }
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2), process.env).then(
    (code) => process.exit(code),
    (err: unknown) => {
      if (err instanceof ConfigError) {
        console.error(`integration-operator: ${err.message}`);
        process.exit(2);
      }
      if ((err as NodeJS.ErrnoException).syscall === 'listen') {
        // e.g. EADDRINUSE: another process holds the probe or metrics port.
        console.error(`integration-operator: cannot serve probes and metrics: ${(err as Error).message}`);
        process.exit(1);
      }
      console.error(err);
      process.exit(1);
    },
  );
}
