// The manager runs everything in a fixed order:
//   1. the probe/metrics HTTP server (/healthz, /readyz, /metrics),
//   2. informers (caches are filled on every instance, leader or not, so a standby takes over warm),
//   3. wait for every cache to sync (/readyz turns ready),
//   4. leader election, when enabled,
//   5. the leader-only runnables (controllers).
// A lost lease stops the process without a graceful drain (another instance already leads).
// A graceful shutdown (signal aborted) stops controllers first, releases the lease, then the rest.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeObject } from '../kube/types.ts';
import type { Logger } from '../observe/log.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { Informer } from './informer.ts';
import type { LeaderElector } from './leader-election.ts';

/** Anything with a blocking start: resolves when it has stopped after the signal aborted. */
export interface Runnable {
  start(signal: AbortSignal): Promise<void>;
}

export interface ManagerOptions {
  log: Logger;
  metrics: Metrics;
  /** host:port for /healthz and /readyz (':0' for a free port; undefined or '0' for none). */
  probeAddress?: string;
  /** host:port for /metrics; the same address as the probes shares one server. */
  metricsAddress?: string;
  elector?: LeaderElector;
  /** Called when leadership is lost; default: exit the process with code 1. */
  onLostLeadership?: () => void;
  /** How long a graceful shutdown waits for reconciles in flight. */
  shutdownGraceMs?: number;
}

export class Manager {
  private readonly opts: ManagerOptions;
  private readonly informers: Informer<KubeObject>[] = [];
  private readonly leaderRunnables: Runnable[] = [];
  private readonly servers: http.Server[] = [];
  private ready = false;
  private leading = false;
  private startedAt = 0;

  constructor(opts: ManagerOptions) {
    this.opts = opts;
  }

  addInformer<T extends KubeObject>(inf: Informer<T>): void {
    this.informers.push(inf as unknown as Informer<KubeObject>);
  }

  /** Runs only while this instance leads (or always, when leader election is off). */
  addLeaderRunnable(r: Runnable): void {
    this.leaderRunnables.push(r);
  }

  get isReady(): boolean {
    return this.ready;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** The bound port of the first server (after start), e.g. for tests using port 0. */
  get probePort(): number | undefined {
    const a = this.servers[0]?.address();
    return a && typeof a === 'object' ? (a as AddressInfo).port : undefined;
  }

  /** One server per distinct address; each serves every endpoint (probes and metrics). */
  private async listen(): Promise<void> {
    const addrs = new Set(
      [this.opts.probeAddress, this.opts.metricsAddress].filter((a): a is string => !!a && a !== '0'),
    );
    for (const addr of addrs) {
      const i = addr.lastIndexOf(':');
      const host = i > 0 ? addr.slice(0, i) : undefined;
      const port = Number(i >= 0 ? addr.slice(i + 1) : addr);
      const server = http.createServer((req, res) => {
        void this.serve(req, res);
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
      this.servers.push(server);
      // The bound address (port 0 picks a free one): what a user or a test connects to.
      const bound = server.address() as AddressInfo;
      this.opts.log.info('serving probes and metrics', {
        address: `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`,
      });
    }
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (path === '/healthz' || path === '/livez') {
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      } else if (path === '/readyz') {
        res
          .writeHead(this.ready ? 200 : 503, { 'Content-Type': 'text/plain' })
          .end(this.ready ? 'ok' : 'caches not synced');
      } else if (path === '/metrics') {
        const body = await this.opts.metrics.registry.metrics();
        res.writeHead(200, { 'Content-Type': this.opts.metrics.registry.contentType }).end(body);
      } else {
        res.writeHead(404).end();
      }
    } catch (err) {
      this.opts.log.error('probe server failed', { err });
      if (!res.headersSent) res.writeHead(500).end();
    }
  }

  /** Runs until the signal aborts (resolves after a graceful stop). */
  async start(signal: AbortSignal): Promise<void> {
    const { log } = this.opts;
    this.startedAt = performance.now();
    await this.listen();
    const informerStop = new AbortController();
    const informersDone = Promise.all(this.informers.map((i) => i.start(informerStop.signal)));
    try {
      await Promise.all(this.informers.map((i) => i.waitForSync(signal)));
    } catch {
      informerStop.abort();
      await informersDone;
      await this.close();
      return;
    }
    this.ready = true;
    log.info('caches synced', {
      ms: Math.round(performance.now() - this.startedAt),
      objects: Object.fromEntries(this.informers.map((i) => [i.kind, i.store.size])),
    });

    const elector = this.opts.elector;
    const leaderStop = new AbortController();
    const onAbort = () => leaderStop.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    let lost = false;
    let holding: Promise<'stopped' | 'lost'> | undefined;
    if (elector) {
      if (!(await elector.acquire(signal))) {
        informerStop.abort();
        await informersDone;
        await this.close();
        return;
      }
      holding = elector.hold(leaderStop.signal).then((outcome) => {
        if (outcome === 'lost') {
          lost = true;
          leaderStop.abort();
        }
        return outcome;
      });
    }
    this.leading = true;
    this.opts.metrics.leader.set(1);
    log.info('starting controllers', { leaderElection: elector !== undefined });
    const runnables = Promise.all(this.leaderRunnables.map((r) => r.start(leaderStop.signal)));
    await new Promise<void>((resolve) => {
      if (leaderStop.signal.aborted) resolve();
      else leaderStop.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    this.leading = false;
    this.opts.metrics.leader.set(0);
    if (lost) {
      log.error('lost leadership: exiting so that only the new leader acts');
      (this.opts.onLostLeadership ?? (() => process.exit(1)))();
    }
    // Graceful: give reconciles in flight a bounded time, then release the lease.
    const grace = this.opts.shutdownGraceMs ?? 10_000;
    await Promise.race([runnables, new Promise((r) => setTimeout(r, grace).unref())]);
    if (holding) await holding;
    informerStop.abort();
    await informersDone;
    await this.close();
    signal.removeEventListener('abort', onAbort);
    log.info('stopped');
  }

  private async close(): Promise<void> {
    this.ready = false;
    for (const s of this.servers.splice(0)) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  }
}
