// The operator's Prometheus metrics, on one Registry per operator instance (so several instances
// can live in one process, as in tests). Components receive this object; none uses a global.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

const prefix = 'integration_operator_';

export class Metrics {
  readonly registry = new Registry();

  readonly kubeRequests = new Counter({
    name: `${prefix}kube_requests_total`,
    help: 'Requests made to the Kubernetes API server, by verb, resource and HTTP status code.',
    labelNames: ['verb', 'resource', 'code'] as const,
    registers: [this.registry],
  });
  readonly kubeConnections = new Counter({
    name: `${prefix}kube_connections_opened_total`,
    help: 'Connections opened to the Kubernetes API server (pooled and reused: this stays small).',
    registers: [this.registry],
  });
  readonly kubeRateLimitWait = new Counter({
    name: `${prefix}kube_rate_limit_wait_seconds_total`,
    help: 'Time requests waited for the client-side rate limit (KUBE_API_QPS/KUBE_API_BURST) before being sent.',
    registers: [this.registry],
  });
  readonly kubeRequestDuration = new Histogram({
    name: `${prefix}kube_request_duration_seconds`,
    help: 'Latency of requests to the Kubernetes API server (watches excluded).',
    labelNames: ['verb'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly reconciles = new Counter({
    name: `${prefix}reconcile_total`,
    help: 'Reconciles by controller and result (success, requeue, error, terminal).',
    labelNames: ['controller', 'result'] as const,
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: `${prefix}reconcile_duration_seconds`,
    help: 'Duration of reconciles by controller.',
    labelNames: ['controller'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: `${prefix}workqueue_depth`,
    help: 'Keys waiting in the work queue, by controller.',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  readonly lifecycleEvents = new Counter({
    name: `${prefix}lifecycle_events_total`,
    help: 'Lifecycle events performed, by kind, side, event and outcome.',
    labelNames: ['kind', 'side', 'event', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly templateRenderDuration = new Histogram({
    name: `${prefix}template_render_duration_seconds`,
    help: 'Time to render a template in the sandbox.',
    labelNames: ['outcome'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly referenceReads = new Counter({
    name: `${prefix}reference_reads_total`,
    help: 'Reads of referenced ConfigMaps, Secrets and vars objects, by where the value came from: cache (still current), shared (joined a read in flight), api (a GET as the reading ServiceAccount).',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly referencePolls = new Counter({
    name: `${prefix}reference_polls_total`,
    help: 'GETs of referenced objects made to detect changes where no metadata watch is possible (one per object and reading ServiceAccount per period).',
    registers: [this.registry],
  });
  readonly referenceScopes = new Gauge({
    name: `${prefix}reference_scopes`,
    help: 'Kinds (per watched namespace, or cluster-wide) of referenced objects, by how changes are detected: watch (metadata watch) or poll.',
    labelNames: ['mode'] as const,
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: `${prefix}leader`,
    help: '1 when this instance holds the leader lease.',
    registers: [this.registry],
  });

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry, prefix });
  }
}
