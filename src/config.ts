// Operator configuration from flags and environment variables, parsed with zod. Every flag has an
// environment variable (UPPER_SNAKE_CASE); a flag wins over the environment. A bad value is a
// startup error that names the flag, the variable and what was wrong.
import { parseArgs } from 'node:util';
import { z } from 'zod';

const bool = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const list = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
);
/** `host:port`, `:port` or `port` (port 0: any free port), as controller-runtime's bind addresses. */
const bindAddress = z.string().refine((s) => {
  const port = s.slice(s.lastIndexOf(':') + 1);
  return /^\d{1,5}$/.test(port) && Number(port) <= 65535;
}, 'must be host:port, :port or port, with a port from 0 to 65535');

/** Flags given without a value (`--node`); every other flag takes one (`--name value`). */
const booleanFlags = new Set(['node']);

/** name -> [env var, schema, default, help] */
const options = {
  kubeconfig: [
    'KUBECONFIG',
    z.string(),
    undefined,
    'kubeconfig file; unset: in-cluster config, else the local control plane',
  ],
  'local-control-plane': [
    'LOCAL_CONTROL_PLANE',
    bool,
    undefined,
    'start the embedded local control plane (default: when neither KUBECONFIG nor in-cluster config is available)',
  ],
  node: [
    'LOCAL_CONTROL_PLANE_NODE',
    bool,
    'false',
    'start the embedded local control plane with one real node (root on Linux): Pods run; implies --local-control-plane',
  ],
  'cluster-dns-server': [
    'CLUSTER_DNS_SERVER',
    z.string(),
    undefined,
    'resolve names under cluster.local through this DNS server (an operator outside the cluster; set by --node)',
  ],
  'metrics-bind-address': [
    'METRICS_BIND_ADDRESS',
    bindAddress,
    ':8080',
    'address of /metrics ("0" disables)',
  ],
  'health-probe-bind-address': [
    'HEALTH_PROBE_BIND_ADDRESS',
    bindAddress,
    ':8081',
    'address of /healthz and /readyz',
  ],
  'leader-elect': ['LEADER_ELECT', bool, 'false', 'elect a leader through a Lease (for several replicas)'],
  'leader-election-namespace': [
    'LEADER_ELECTION_NAMESPACE',
    z.string(),
    undefined,
    'namespace of the Lease (default: POD_NAMESPACE, else default)',
  ],
  'leader-election-id': [
    'LEADER_ELECTION_ID',
    z.string().min(1),
    'integration-operator.rock8s.com',
    'name of the Lease',
  ],
  'watch-namespace': ['WATCH_NAMESPACE', list, '', 'namespaces to watch, comma-separated (empty: all)'],
  'max-concurrent-reconciles': [
    'MAX_CONCURRENT_RECONCILES',
    int(1, 256),
    '16',
    'concurrent reconciles of the Plug controller (the Socket controller uses at most 2)',
  ],
  'apparatus-allowed-hosts': [
    'APPARATUS_ALLOWED_HOSTS',
    z.string(),
    '*.svc,*.svc.cluster.local',
    'host patterns and CIDRs an absolute apparatus endpoint may name',
  ],
  'apparatus-managed-url-template': [
    'APPARATUS_MANAGED_URL_TEMPLATE',
    z.string(),
    undefined,
    'URL of managed apparatus Services, with {name} and {namespace} (default http://{name}.{namespace}.svc.cluster.local)',
  ],
  'apparatus-reap-interval-seconds': [
    'APPARATUS_REAP_INTERVAL_SECONDS',
    int(1),
    '15',
    'how often idle apparatus Pods are looked for',
  ],
  'apparatus-timeout-ms': [
    'APPARATUS_TIMEOUT_MS',
    int(100),
    '10000',
    'per-attempt timeout of apparatus calls',
  ],
  'apparatus-attempts': ['APPARATUS_ATTEMPTS', int(1, 20), '3', 'attempts per apparatus call'],
  'allow-cluster-scoped-resources': [
    'ALLOW_CLUSTER_SCOPED_RESOURCES',
    bool,
    'false',
    'let templates create cluster-scoped kinds (applied as the owner ServiceAccount)',
  ],
  'template-timeout-ms': [
    'TEMPLATE_TIMEOUT_MS',
    int(10, 60_000),
    '1000',
    'time limit of one template render',
  ],
  'template-memory-mb': ['TEMPLATE_MEMORY_MB', int(8, 1024), '64', 'memory limit of the template sandbox'],
  'template-workers': ['TEMPLATE_WORKERS', int(1, 64), '2', 'template sandbox worker threads'],
  'kube-api-qps': [
    'KUBE_API_QPS',
    z.coerce.number().min(0),
    '1000',
    'client-side request rate limit (0: none)',
  ],
  'kube-api-burst': ['KUBE_API_BURST', int(1), '2000', 'client-side request burst'],
  'reference-watch': [
    'REFERENCE_WATCH',
    bool,
    'true',
    'watch the metadata of referenced ConfigMaps, Secrets and vars kinds to see their changes (needs list/watch on them; where refused, or when false, each referenced object is polled)',
  ],
  'reference-resync-seconds': [
    'REFERENCE_RESYNC_SECONDS',
    int(1),
    '20',
    'referenced objects that cannot be watched are polled this often (one GET per object and ServiceAccount); a value read as a ServiceAccount is reused at most this long',
  ],
  'cleanup-timeout-seconds': [
    'CLEANUP_TIMEOUT_SECONDS',
    int(0),
    '600',
    'give up a failing decoupled/deleted step after this long and remove the finalizer',
  ],
  'log-level': [
    'LOG_LEVEL',
    z.enum(['debug', 'info', 'warn', 'error']),
    'info',
    'debug, info, warn or error',
  ],
  'log-format': ['LOG_FORMAT', z.enum(['json', 'text']), 'json', 'json or text'],
} as const;

type OptionName = keyof typeof options;
type Out<N extends OptionName> = z.output<(typeof options)[N][1]>;

export interface OperatorConfig {
  kubeconfig: string | undefined;
  localControlPlane: boolean | undefined;
  localControlPlaneNode: boolean;
  clusterDnsServer: string | undefined;
  metricsBindAddress: string;
  healthProbeBindAddress: string;
  leaderElect: boolean;
  leaderElectionNamespace: string;
  leaderElectionId: string;
  watchNamespaces: string[] | undefined;
  maxConcurrentReconciles: number;
  apparatusAllowedHosts: string;
  apparatusManagedUrlTemplate: string | undefined;
  apparatusReapIntervalSeconds: number;
  apparatusTimeoutMs: number;
  apparatusAttempts: number;
  allowClusterScopedResources: boolean;
  templateTimeoutMs: number;
  templateMemoryMb: number;
  templateWorkers: number;
  kubeApiQps: number;
  kubeApiBurst: number;
  referenceWatch: boolean;
  referenceResyncSeconds: number;
  cleanupTimeoutSeconds: number;
  logLevel: Out<'log-level'>;
  logFormat: Out<'log-format'>;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly code = 'InvalidConfig';
}

export function usage(): string {
  const lines = [
    'usage: integration-operator [flags]',
    '',
    'flags (each also read from the environment variable shown):',
  ];
  for (const [name, [env, , def, help]] of Object.entries(options)) {
    lines.push(
      `  --${name.padEnd(32)} ${env.padEnd(32)} ${help}${def !== undefined && def !== '' ? ` (default ${def})` : ''}`,
    );
  }
  return lines.join('\n');
}

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): OperatorConfig {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: Object.fromEntries(
        Object.keys(options).map((n) => [
          n,
          { type: booleanFlags.has(n) ? ('boolean' as const) : ('string' as const) },
        ]),
      ),
    }));
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}\n\n${usage()}`);
  }
  const get = <N extends OptionName>(name: N): Out<N> => {
    const [envName, schema, def] = options[name];
    const raw = values[name] ?? env[envName] ?? def;
    if (raw === undefined) return undefined as Out<N>;
    const r = schema.safeParse(raw);
    if (!r.success) {
      throw new ConfigError(
        `invalid value ${JSON.stringify(raw)} for --${name} (${envName}): ${r.error.issues.map((i) => i.message).join('; ')}`,
      );
    }
    return r.data as Out<N>;
  };
  const watch = get('watch-namespace');
  return {
    kubeconfig: get('kubeconfig') || undefined,
    localControlPlane: get('local-control-plane'),
    localControlPlaneNode: get('node'),
    clusterDnsServer: get('cluster-dns-server') || undefined,
    metricsBindAddress: get('metrics-bind-address'),
    healthProbeBindAddress: get('health-probe-bind-address'),
    leaderElect: get('leader-elect'),
    leaderElectionNamespace: get('leader-election-namespace') || env.POD_NAMESPACE || 'default',
    leaderElectionId: get('leader-election-id'),
    watchNamespaces: watch.length ? watch : undefined,
    maxConcurrentReconciles: get('max-concurrent-reconciles'),
    apparatusAllowedHosts: get('apparatus-allowed-hosts'),
    apparatusManagedUrlTemplate: get('apparatus-managed-url-template') || undefined,
    apparatusReapIntervalSeconds: get('apparatus-reap-interval-seconds'),
    apparatusTimeoutMs: get('apparatus-timeout-ms'),
    apparatusAttempts: get('apparatus-attempts'),
    allowClusterScopedResources: get('allow-cluster-scoped-resources'),
    templateTimeoutMs: get('template-timeout-ms'),
    templateMemoryMb: get('template-memory-mb'),
    templateWorkers: get('template-workers'),
    kubeApiQps: get('kube-api-qps'),
    kubeApiBurst: get('kube-api-burst'),
    referenceWatch: get('reference-watch'),
    referenceResyncSeconds: get('reference-resync-seconds'),
    cleanupTimeoutSeconds: get('cleanup-timeout-seconds'),
    logLevel: get('log-level'),
    logFormat: get('log-format'),
  };
}
