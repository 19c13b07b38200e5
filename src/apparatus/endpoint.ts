// Where an owner's apparatus lives (SPEC "Apparatus") and whether the operator may call it
// (SPEC "Security model": the SSRF allow-list).
//
// Two layers guard tenant-written URLs:
// 1. At resolution (`resolveApparatusUrl`): the host of an absolute endpoint must match a host
//    pattern of the allow-list, or, for an IP literal, one of its CIDRs.
// 2. At connect time (`createGuardedLookup`, used by the client as got's `dnsLookup`, and
//    `checkAddress` for IP literals): every address the host resolves to is checked, and loopback,
//    link-local (which holds the cloud metadata services, 169.254.169.254), unspecified, multicast
//    and reserved addresses are refused unless a CIDR entry of the allow-list names them. This
//    defeats DNS rebinding and tenant-owned ExternalName Services: a name that matches `*.svc` but
//    resolves to 169.254.169.254 is refused when the connection is made, with the checked address
//    being the one connected to (no second lookup). Private ranges (10/8, 172.16/12, 192.168/16,
//    fc00::/7) stay reachable: ClusterIPs live there.
// Operator-level overrides (DEBUG_*_ENDPOINT, APPARATUS_ENDPOINT_OVERRIDES) are operator config,
// not tenant input: they bypass both layers.
import { createHash } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Resolver } from 'node:dns/promises';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { AllowListSyntaxError, ApparatusError, EndpointOverrideSyntaxError, redactUrl } from './errors.ts';
import type { OwnerKind } from './protocol.ts';

/** The setting named in messages when the allow-list refuses an endpoint. */
export const ALLOWED_HOSTS_SETTING = '--apparatus-allowed-hosts (env APPARATUS_ALLOWED_HOSTS)';
export const DEFAULT_ALLOWED_HOSTS = '*.svc,*.svc.cluster.local';
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

export interface AllowList {
  /** The entries as configured (normalized), for logs and messages. */
  readonly entries: readonly string[];
  /** `*.suffix` entries, stored as `.suffix`; `*` alone is stored as `` (every hostname). */
  readonly suffixes: readonly string[];
  readonly exactHosts: ReadonlySet<string>;
  /** CIDR entries (IPv4 and IPv6; a bare address is a /32 or /128). */
  readonly cidrs: BlockList;
}

const HOST_LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

function isHostname(value: string): boolean {
  return value.length <= 253 && value.split('.').every((label) => HOST_LABEL.test(label));
}

/**
 * Parses the allow-list setting: comma-separated host patterns (`*.svc` = any host ending in
 * `.svc`, with one or more labels before it; `*` = every hostname; anything else an exact host) and
 * CIDRs (`10.0.0.0/8`, `fd00::/8`, or a bare address). Hostname patterns never match IP literals:
 * those need a CIDR. Empty or undefined means the default `*.svc,*.svc.cluster.local`; `none`
 * alone refuses every absolute endpoint (managed Pods and overrides still work). Throws
 * `AllowListSyntaxError` (fail at startup) on an entry that is none of these.
 */
export function parseAllowedHosts(value: string | undefined = DEFAULT_ALLOWED_HOSTS): AllowList {
  const given = value
    .split(',')
    .map((raw) => raw.trim())
    .filter((raw) => raw !== '');
  const raws = given.length === 0 ? DEFAULT_ALLOWED_HOSTS.split(',') : given;
  const entries: string[] = [];
  const suffixes: string[] = [];
  const exactHosts = new Set<string>();
  const cidrs = new BlockList();
  if (raws.length === 1 && raws[0]?.toLowerCase() === 'none')
    return { entries: ['none'], suffixes, exactHosts, cidrs };
  for (const raw of raws) {
    const lower = raw.toLowerCase();
    // A fully qualified name may end with a dot; "*." is not "*".
    const entry = lower.length > 2 && lower.endsWith('.') ? lower.slice(0, -1) : lower;
    entries.push(entry);
    if (entry.includes('/') || isIP(stripBrackets(entry)) !== 0) {
      addCidr(cidrs, entry);
    } else if (entry === '*') {
      suffixes.push('');
    } else if (entry.startsWith('*.')) {
      const suffix = entry.slice(1);
      if (!isHostname(suffix.slice(1))) {
        throw new AllowListSyntaxError(raw, ALLOWED_HOSTS_SETTING, 'not a host pattern');
      }
      suffixes.push(suffix);
    } else if (isHostname(entry)) {
      exactHosts.add(entry);
    } else {
      throw new AllowListSyntaxError(raw, ALLOWED_HOSTS_SETTING, 'not a host, host pattern or CIDR');
    }
  }
  return { entries, suffixes, exactHosts, cidrs };
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function addCidr(list: BlockList, entry: string): void {
  const [addressPart = '', prefixPart, ...rest] = entry.split('/');
  const address = stripBrackets(addressPart);
  const family = isIP(address);
  if (family === 0 || rest.length > 0) {
    throw new AllowListSyntaxError(entry, ALLOWED_HOSTS_SETTING, 'not a CIDR');
  }
  const max = family === 4 ? 32 : 128;
  const prefix = prefixPart === undefined ? max : Number(prefixPart);
  if (
    !Number.isInteger(prefix) ||
    prefix < 0 ||
    prefix > max ||
    (prefixPart ?? '').trim() !== (prefixPart ?? '')
  ) {
    throw new AllowListSyntaxError(entry, ALLOWED_HOSTS_SETTING, `prefix length must be 0..${max}`);
  }
  list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
}

function addressFamily(address: string): 'ipv4' | 'ipv6' | undefined {
  const family = isIP(address);
  return family === 4 ? 'ipv4' : family === 6 ? 'ipv6' : undefined;
}

/**
 * Whether a URL hostname (as `new URL().hostname` gives it: lowercase, IPv4 canonical, IPv6 in
 * brackets) matches the allow-list: IP literals by CIDR only, names by pattern or exact entry.
 */
export function isHostAllowed(hostname: string, list: AllowList): boolean {
  const host = stripBrackets(hostname.toLowerCase()).replace(/\.$/, '');
  const family = addressFamily(host);
  if (family) return list.cidrs.check(host, family);
  if (list.exactHosts.has(host)) return true;
  return list.suffixes.some(
    (suffix) => suffix === '' || (host.endsWith(suffix) && host.length > suffix.length),
  );
}

/** Addresses never connected to unless a CIDR entry of the allow-list names them. */
const SPECIAL_ADDRESSES: BlockList = (() => {
  const list = new BlockList();
  list.addSubnet('0.0.0.0', 8, 'ipv4'); // "this network", 0.0.0.0 reaches the local host
  list.addSubnet('127.0.0.0', 8, 'ipv4'); // loopback: the operator's own metrics/probe ports
  list.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local: cloud metadata 169.254.169.254
  list.addAddress('100.100.100.200', 'ipv4'); // Alibaba Cloud metadata
  list.addSubnet('224.0.0.0', 4, 'ipv4'); // multicast
  list.addSubnet('240.0.0.0', 4, 'ipv4'); // reserved, broadcast
  list.addAddress('::', 'ipv6'); // unspecified
  list.addAddress('::1', 'ipv6'); // loopback
  list.addSubnet('fe80::', 10, 'ipv6'); // link-local
  list.addSubnet('ff00::', 8, 'ipv6'); // multicast
  list.addAddress('fd00:ec2::254', 'ipv6'); // AWS metadata over IPv6
  return list;
})();

export type AddressVerdict = { allowed: true } | { allowed: false; why: string };

/**
 * The connect-time rule: an address is refused when it is loopback, link-local (metadata),
 * unspecified, multicast or reserved, unless a CIDR entry of the allow-list contains it.
 * IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`) are checked as the IPv4 address they map.
 */
export function checkAddress(address: string, list: AllowList): AddressVerdict {
  const family = addressFamily(address);
  if (!family) return { allowed: false, why: `${address} is not an IP address` };
  if (list.cidrs.check(address, family)) return { allowed: true };
  if (SPECIAL_ADDRESSES.check(address, family)) {
    return {
      allowed: false,
      why: `${address} is a loopback, link-local (metadata), unspecified, multicast or reserved address`,
    };
  }
  return { allowed: true };
}

/** The error a guarded lookup fails with; got keeps its `code`, the client maps it to `NotAllowed`. */
export class AddressNotAllowedError extends Error {
  override name = 'AddressNotAllowedError';
  readonly code = 'EAPPARATUSADDRESSNOTALLOWED';
  readonly hostname: string;
  readonly address: string;
  constructor(hostname: string, address: string, why: string) {
    super(
      `apparatus host ${hostname} resolved to ${why}; refused unless a CIDR entry of ${ALLOWED_HOSTS_SETTING} contains it`,
    );
    this.hostname = hostname;
    this.address = address;
  }
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;
export type LookupImpl = (
  hostname: string,
  options: { all: true; family?: number; hints?: number },
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

/** got's `dnsLookup` from a resolver of every address, refusing an address when `check` says why. */
function adaptLookup(
  resolve: LookupImpl,
  check?: (hostname: string, address: string) => Error | undefined,
): LookupFunction {
  const lookup = (hostname: string, options: object, callback: LookupCallback): void => {
    const opts = options as { all?: boolean; family?: number | string; hints?: number };
    const family = opts.family === 'IPv4' ? 4 : opts.family === 'IPv6' ? 6 : opts.family;
    const lookupOptions: { all: true; family?: number; hints?: number } = { all: true };
    if (typeof family === 'number') lookupOptions.family = family;
    if (opts.hints !== undefined) lookupOptions.hints = opts.hints;
    resolve(hostname, lookupOptions, (err, addresses) => {
      if (err) return callback(err, opts.all ? [] : '', 0);
      for (const { address } of addresses) {
        const refused = check?.(hostname, address);
        if (refused) return callback(refused, '', 0);
      }
      if (opts.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first)
        return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
      callback(null, first.address, first.family);
    });
  };
  return lookup as unknown as LookupFunction;
}

/**
 * A `dns.lookup` replacement for got's `dnsLookup`: resolves every address of the host and fails
 * with `AddressNotAllowedError` if ANY is refused by `checkAddress` (a round-robin record cannot
 * sneak a metadata address in); the connection then goes to an address that was checked.
 */
export function createGuardedLookup(list: AllowList, resolve: LookupImpl = dnsLookup): LookupFunction {
  return adaptLookup(resolve, (hostname, address) => {
    const verdict = checkAddress(address, list);
    return verdict.allowed ? undefined : new AddressNotAllowedError(hostname, address, verdict.why);
  });
}

/** got's `dnsLookup` for calls that need no guard (the operator built their URL), through `resolve`. */
export function createLookup(resolve: LookupImpl): LookupFunction {
  return adaptLookup(resolve);
}

/**
 * Resolves names under the cluster domain through the cluster's DNS server and every other name as
 * the system does: for an operator that runs outside the cluster (the local node in development),
 * where the system resolver knows nothing of `*.svc.cluster.local`.
 */
export function clusterDomainLookup(
  server: string,
  domain = 'cluster.local',
  fallback: LookupImpl = dnsLookup,
): LookupImpl {
  const resolver = new Resolver();
  resolver.setServers([server]);
  return (hostname, options, callback) => {
    const name = hostname.replace(/\.$/, '');
    if (name !== domain && !name.endsWith(`.${domain}`)) return fallback(hostname, options, callback);
    resolver.resolve4(name).then(
      (addresses) =>
        callback(
          null,
          addresses.map((address) => ({ address, family: 4 })),
        ),
      (err: NodeJS.ErrnoException) => callback(err, []),
    );
  };
}

/** Operator-level endpoint overrides (development and tests). */
export interface EndpointOverrides {
  /** `DEBUG_PLUG_ENDPOINT`: one base URL for every plug's apparatus (as the Go operator had). */
  readonly plug?: string | undefined;
  /** `DEBUG_SOCKET_ENDPOINT`: one base URL for every socket's apparatus. */
  readonly socket?: string | undefined;
  /** `APPARATUS_ENDPOINT_OVERRIDES`: `Kind/namespace/name` → base URL; wins over the above. */
  readonly owners: ReadonlyMap<string, string>;
}

export const NO_OVERRIDES: EndpointOverrides = { owners: new Map() };

export function overrideKey(kind: OwnerKind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

/**
 * Reads the overrides from the environment: `DEBUG_PLUG_ENDPOINT`, `DEBUG_SOCKET_ENDPOINT` (the Go
 * operator's variables: a base URL used as is for every plug / socket, `http://` added when it has
 * no scheme) and `APPARATUS_ENDPOINT_OVERRIDES`, comma-separated `Kind/namespace/name=URL`
 * (`Plug/ns/app=http://127.0.0.1:1234,Socket/ns/db=http://127.0.0.1:1235`). Throws
 * `EndpointOverrideSyntaxError` on a malformed entry (fail at startup).
 */
export function parseEndpointOverrides(env: Readonly<Record<string, string | undefined>>): EndpointOverrides {
  const owners = new Map<string, string>();
  const setting = 'APPARATUS_ENDPOINT_OVERRIDES';
  for (const raw of (env.APPARATUS_ENDPOINT_OVERRIDES ?? '').split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    if (eq < 0) throw new EndpointOverrideSyntaxError(entry, setting, 'expected Kind/namespace/name=URL');
    const [kind, namespace, name, ...rest] = entry.slice(0, eq).trim().split('/');
    if ((kind !== 'Plug' && kind !== 'Socket') || !namespace || !name || rest.length > 0) {
      throw new EndpointOverrideSyntaxError(
        entry,
        setting,
        'the key must be Plug/namespace/name or Socket/namespace/name',
      );
    }
    owners.set(
      overrideKey(kind, namespace, name),
      normalizeOverride(entry.slice(eq + 1).trim(), entry, setting),
    );
  }
  const plug = env.DEBUG_PLUG_ENDPOINT?.trim();
  const socket = env.DEBUG_SOCKET_ENDPOINT?.trim();
  return {
    plug: plug ? normalizeOverride(plug, plug, 'DEBUG_PLUG_ENDPOINT') : undefined,
    socket: socket ? normalizeOverride(socket, socket, 'DEBUG_SOCKET_ENDPOINT') : undefined,
    owners,
  };
}

function normalizeOverride(value: string, entry: string, setting: string): string {
  const url = parseHttpUrl(SCHEME.test(value) ? value : `http://${value}`);
  if (!url) throw new EndpointOverrideSyntaxError(entry, setting, 'not an http(s) URL');
  return baseUrlOf(url);
}

/** Lines for the loud startup log (the URLs, with credentials and query values removed). */
export function describeOverrides(overrides: EndpointOverrides): string[] {
  const lines: string[] = [];
  if (overrides.plug)
    lines.push(`DEBUG_PLUG_ENDPOINT: every Plug apparatus is called at ${redactUrl(overrides.plug)}`);
  if (overrides.socket) {
    lines.push(`DEBUG_SOCKET_ENDPOINT: every Socket apparatus is called at ${redactUrl(overrides.socket)}`);
  }
  for (const [key, url] of overrides.owners)
    lines.push(`APPARATUS_ENDPOINT_OVERRIDES: ${key} → ${redactUrl(url)}`);
  return lines;
}

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

function parseHttpUrl(text: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.hostname === '') return undefined;
  return url;
}

/** The base URL the client appends `/config`, `/created`... to: no trailing slash, no fragment. */
function baseUrlOf(url: URL): string {
  const copy = new URL(url.href);
  copy.hash = '';
  copy.pathname = copy.pathname.replace(/\/+$/, '');
  const text = copy.href;
  // URL keeps a lone "/" path; drop it so that `${base}/config` has a single slash.
  return copy.pathname === '' || copy.pathname === '/' ? text.replace(/\/(?=$|\?)/, '') : text;
}

const DNS_1035_LABEL_MAX = 63;

/**
 * The Pod and Service name of an owner's apparatus: `<owner>-plug-apparatus` or
 * `<owner>-socket-apparatus` (the Go operator used `<owner>-apparatus` for both, so a Plug and a
 * Socket of one name shared and deleted each other's Pod). A Service name must be a DNS-1035 label
 * (at most 63 characters, no dots, starting with a letter) while owner names may be longer, dotted
 * or start with a digit: such names are made valid deterministically (dots become `-`, an `a`
 * is prefixed before a digit, a long name is cut and gets 8 hex characters of the owner name's
 * SHA-256 so two long names never collide).
 */
export function apparatusName(kind: OwnerKind, ownerName: string): string {
  const suffix = kind === 'Plug' ? '-plug-apparatus' : '-socket-apparatus';
  let base = ownerName.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  if (!/^[a-z]/.test(base)) base = `a${base}`;
  if (base === ownerName && base.length + suffix.length <= DNS_1035_LABEL_MAX) return base + suffix;
  // Altered or too long: a hash of the original name keeps distinct owners distinct.
  const hash = createHash('sha256').update(ownerName).digest('hex').slice(0, 8);
  const keep = DNS_1035_LABEL_MAX - suffix.length - hash.length - 1;
  return `${base.slice(0, keep).replace(/-+$/, '')}-${hash}${suffix}`;
}

export interface ApparatusSpecInput {
  endpoint?: string | null | undefined;
  containers?: readonly unknown[] | null | undefined;
}

export interface ResolveApparatusUrlInput {
  ownerKind: OwnerKind;
  ownerName: string;
  namespace: string;
  apparatus: ApparatusSpecInput;
  overrides?: EndpointOverrides | undefined;
  allowedHosts: AllowList;
  /** The cluster's DNS domain, default `cluster.local`. */
  clusterDomain?: string | undefined;
}

/** Where an owner's apparatus is and how to call it. */
export interface ApparatusTarget {
  /** Base URL, no trailing slash: the client calls `${baseUrl}/config`, `${baseUrl}/created`... */
  baseUrl: string;
  /** True when the operator runs the apparatus Pod + Service (non-empty `containers`, no override). */
  managedPod: boolean;
  /** The Pod and Service name (`<owner>-plug-apparatus`), whether or not a Pod is managed. */
  podName: string;
  /** What the URL came from; `override` is operator config and skips the connect-time guard. */
  source: 'managed' | 'endpoint' | 'override';
  /** Whether the client must apply the connect-time address guard (false only for overrides). */
  guarded: boolean;
}

/**
 * Resolves an owner's apparatus URL:
 * 1. An operator override (`APPARATUS_ENDPOINT_OVERRIDES` for this owner, else
 *    `DEBUG_PLUG_ENDPOINT` / `DEBUG_SOCKET_ENDPOINT`) wins, used as is: no Pod, no allow-list.
 * 2. `endpoint` empty or starting with `/`: `http://<podName>.<namespace>.svc.<clusterDomain>` +
 *    endpoint, with a managed Pod; always allowed (the operator names that host). Without
 *    containers there is nothing there (the Go operator then called `http://localhost`, the
 *    operator itself): `InvalidEndpoint`.
 * 3. `http://` or `https://` endpoint: used as is, no Pod; its host must match the allow-list.
 * 4. A host without scheme (`my-svc.ns:8080/x`): `http://` is prepended, then as 3.
 * `containers: []` or absent means no managed Pod. Throws `ApparatusError` with code
 * `NotAllowed` (message names the setting) or `InvalidEndpoint`.
 */
export function resolveApparatusUrl(input: ResolveApparatusUrlInput): ApparatusTarget {
  const podName = apparatusName(input.ownerKind, input.ownerName);
  const overrides = input.overrides ?? NO_OVERRIDES;
  const override =
    overrides.owners.get(overrideKey(input.ownerKind, input.namespace, input.ownerName)) ??
    (input.ownerKind === 'Plug' ? overrides.plug : overrides.socket);
  if (override) return { baseUrl: override, managedPod: false, podName, source: 'override', guarded: false };

  const owner = `${input.ownerKind} ${input.namespace}/${input.ownerName}`;
  const endpoint = (input.apparatus.endpoint ?? '').trim();
  const hasContainers = (input.apparatus.containers?.length ?? 0) > 0;

  if (endpoint === '' || endpoint.startsWith('/')) {
    if (!hasContainers) {
      throw new ApparatusError(
        'InvalidEndpoint',
        `apparatus of ${owner}: endpoint ${JSON.stringify(endpoint)} is a path but apparatus.containers is empty, ` +
          'so no apparatus Pod runs there; set containers, or an absolute endpoint (http://host...)',
        { url: endpoint },
      );
    }
    const host = `${podName}.${input.namespace}.svc.${input.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN}`;
    const url = parseHttpUrl(`http://${host}${endpoint}`);
    if (!url || url.hostname !== host) {
      throw new ApparatusError(
        'InvalidEndpoint',
        `apparatus of ${owner}: endpoint path ${JSON.stringify(endpoint)} is not a URL path`,
        {
          url: endpoint,
        },
      );
    }
    return { baseUrl: baseUrlOf(url), managedPod: true, podName, source: 'managed', guarded: true };
  }

  const hasScheme = SCHEME.test(endpoint);
  const url = parseHttpUrl(hasScheme ? endpoint : `http://${endpoint}`);
  if (!url) {
    const why = hasScheme ? 'only http:// and https:// endpoints are supported' : 'not a valid URL';
    throw new ApparatusError(
      'InvalidEndpoint',
      `apparatus of ${owner}: endpoint ${redactUrl(endpoint)} refused: ${why}`,
      {
        url: redactUrl(endpoint),
      },
    );
  }
  if (!isHostAllowed(url.hostname, input.allowedHosts)) {
    throw new ApparatusError(
      'NotAllowed',
      `apparatus of ${owner}: endpoint host ${url.hostname} is not allowed by ${ALLOWED_HOSTS_SETTING} ` +
        `(currently ${input.allowedHosts.entries.join(',') || 'empty'}); ask the operator's administrator to add it, ` +
        'or use an in-cluster Service name (<service>.<namespace>.svc)',
      { url: redactUrl(url) },
    );
  }
  return { baseUrl: baseUrlOf(url), managedPod: false, podName, source: 'endpoint', guarded: true };
}
