// Maps apiVersion + kind to a REST resource, with discovery done once per group-version and cached
// (the Go operator built a new discovery client on every call). A miss refreshes that group-version,
// at most once every few seconds, so a CRD installed after start is found without a restart.
import type { KubeClient } from './client.ts';
import { ApiError } from './errors.ts';

export interface ResourceMapping {
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespaced: boolean;
}

interface ApiResourceList {
  resources: Array<{ name: string; kind: string; namespaced: boolean }>;
}

export class NoKindMatchError extends Error {
  override name = 'NoKindMatchError';
  readonly code = 'NoKindMatch';
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

export function groupVersionPath(group: string, version: string): string {
  return group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
}

const refreshIntervalMs = 5_000;

export class RestMapper {
  private readonly client: KubeClient;
  /** group/version -> kind -> mapping */
  private readonly byGv = new Map<string, Map<string, ResourceMapping>>();
  private readonly fetchedAt = new Map<string, number>();
  private readonly inflight = new Map<string, Promise<void>>();

  constructor(client: KubeClient, seed: ResourceMapping[] = []) {
    this.client = client;
    for (const m of seed) this.put(m);
  }

  private put(m: ResourceMapping): void {
    const gv = `${m.group}/${m.version}`;
    let kinds = this.byGv.get(gv);
    if (!kinds) {
      kinds = new Map();
      this.byGv.set(gv, kinds);
    }
    kinds.set(m.kind, m);
  }

  private async discover(group: string, version: string): Promise<void> {
    const gv = `${group}/${version}`;
    const running = this.inflight.get(gv);
    if (running) return running;
    const p = (async () => {
      try {
        const list = await this.client.request<ApiResourceList>({
          method: 'GET',
          path: groupVersionPath(group, version),
        });
        const kinds = new Map<string, ResourceMapping>();
        for (const r of list.resources) {
          if (r.name.includes('/')) continue; // subresources
          kinds.set(r.kind, { group, version, resource: r.name, kind: r.kind, namespaced: r.namespaced });
        }
        this.byGv.set(gv, kinds);
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 404)) throw err;
        this.byGv.set(gv, new Map()); // the group-version is not served (yet)
      } finally {
        this.fetchedAt.set(gv, Date.now());
        this.inflight.delete(gv);
      }
    })();
    this.inflight.set(gv, p);
    return p;
  }

  /**
   * The mapping for a kind, discovering (or re-discovering after a miss) as needed. A miss re-asks
   * the server when its answer for the group-version is older than `maxStalenessMs` (default 5 s;
   * a caller that waits for a kind to appear asks for fresher answers).
   */
  async resolve(
    apiVersion: string,
    kind: string,
    opts: { maxStalenessMs?: number } = {},
  ): Promise<ResourceMapping> {
    const { group, version } = splitApiVersion(apiVersion);
    const gv = `${group}/${version}`;
    let m = this.byGv.get(gv)?.get(kind);
    if (m) return m;
    const last = this.fetchedAt.get(gv) ?? 0;
    if (Date.now() - last >= (opts.maxStalenessMs ?? refreshIntervalMs) || !this.byGv.has(gv)) {
      await this.discover(group, version);
      m = this.byGv.get(gv)?.get(kind);
      if (m) return m;
    }
    throw new NoKindMatchError(`the API server does not serve kind ${kind} in ${apiVersion}`);
  }

  /** True when the API server serves the kind (a fresh discovery on a miss). */
  async serves(apiVersion: string, kind: string, opts: { maxStalenessMs?: number } = {}): Promise<boolean> {
    try {
      await this.resolve(apiVersion, kind, opts);
      return true;
    } catch (err) {
      if (err instanceof NoKindMatchError) return false;
      throw err;
    }
  }
}

/** The REST path of a resource collection or object. */
export function resourcePath(
  m: Pick<ResourceMapping, 'group' | 'version' | 'resource' | 'namespaced'>,
  namespace: string | undefined,
  name?: string,
  subresource?: string,
): string {
  let p = groupVersionPath(m.group, m.version);
  if (m.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${m.resource}`;
  if (name !== undefined) p += `/${encodeURIComponent(name)}`;
  if (subresource) p += `/${subresource}`;
  return p;
}
