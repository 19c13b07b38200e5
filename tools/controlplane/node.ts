// One real node for the local control plane (`cluster:up --node`): containerd + runc from Debian's
// packages, a CNI bridge, the kubelet, kube-proxy (iptables) and kube-scheduler built from the same
// Kubernetes module as the control plane, and CoreDNS running as a Pod behind the Service at the
// kubelet's clusterDNS address. ../shared/notes/real-node.md has the measured recipe; the traps of
// these machines are named where they are handled below.
//
// Addresses never leave the machine: the node's address is the gateway address of the Pods' private
// bridge, made before the API server starts (it listens and advertises there, so Pods reach it
// through the `kubernetes` Service; these kernels have no `dummy` interfaces), Services live on
// 10.0.0.0/24. Everything is undone by
// stopNode: Pods deleted (volumes unmounted, sandboxes torn down), processes stopped by pid,
// kube-proxy's iptables rules removed, interfaces deleted, sysctls restored.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { binPath } from './build.ts';
import { issueClientCert, issueServingCert, kubeconfigFor, type Pki } from './pki.ts';

/** Fixed addresses of the node (one node per machine: the interfaces are named). */
export const nodeNet = {
  name: 'local-node',
  /** The node's own address: the gateway of the Pods' bridge; the API server listens there too. */
  ip: '10.244.0.1',
  bridge: 'io-cni0',
  podCidr: '10.244.0.0/24',
  serviceCidr: '10.0.0.0/24',
  dnsIp: '10.0.0.10',
  clusterDomain: 'cluster.local',
} as const;

/** Images the node itself needs (built by tools/images without a Docker engine). */
export const infraImages = {
  pause: 'docker.io/local/pause:1',
  coredns: 'docker.io/local/coredns:1.12.4',
} as const;

export interface NodeState {
  dir: string;
  /** iptables/ip6tables chains named KUBE-* or CNI-* that existed before the node started (left alone). */
  chainsBefore: string[];
  containerdSocket: string;
  ports: { kubelet: number; kubeletHealthz: number; proxyHealthz: number; proxyMetrics: number };
  pids: { containerd: number; kubelet: number; proxy: number; scheduler: number };
  /** Values of the sysctls before the node changed them, restored by stopNode. */
  sysctls: Record<string, string>;
  startedAt: string;
}

/** Debian packages the node needs, by the command that shows each is there. */
export const nodePackages: Record<string, string> = {
  containerd: 'containerd',
  runc: 'runc',
  '/usr/lib/cni/bridge': 'containernetworking-plugins',
  iptables: 'iptables',
  ip: 'iproute2',
  dockerd: 'docker.io',
  debootstrap: 'debootstrap',
  '/bin/busybox': 'busybox-static',
};

function have(cmd: string): boolean {
  if (cmd.startsWith('/')) return existsSync(cmd);
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Why a node cannot run here, or undefined when it can. */
export function nodeUnsupported(): string | undefined {
  if (process.platform !== 'linux') return `the node needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0)
    return 'the node needs root (containerd, the kubelet, iptables and network interfaces): run as root in a Linux VM or host, or leave --node off (Pods then never run)';
  if (!existsSync('/sys/fs/cgroup')) return 'the node needs cgroups (/sys/fs/cgroup is missing)';
  return undefined;
}

/** Installs missing Debian packages (apt-get), saying what it installs. */
export function ensureNodePackages(log: (s: string) => void): void {
  const missing = [
    ...new Set(
      Object.entries(nodePackages)
        .filter(([c]) => !have(c))
        .map(([, p]) => p),
    ),
  ];
  if (!missing.length) return;
  if (!have('apt-get'))
    throw new Error(`the node needs these Debian packages, and apt-get is not here: ${missing.join(' ')}`);
  log(`installing Debian packages for the node: ${missing.join(' ')} (apt-get, about a minute)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env,
  });
}

function sh(cmd: string, args: string[], opts: { allowFail?: boolean; input?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: opts.input });
  if (r.status !== 0 && !opts.allowFail)
    throw new Error(
      `${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout).trim()}`,
    );
  return r.stdout ?? '';
}

function linkExists(name: string): boolean {
  return spawnSync('ip', ['link', 'show', name], { stdio: 'ignore' }).status === 0;
}

const sysctlsWanted: Record<string, string> = {
  // Pods' traffic to Services and to each other is routed by this host.
  'net.ipv4.ip_forward': '1',
  // Bridged Pod-to-Pod traffic must pass iptables, or a Service whose endpoint is on the same
  // bridge answers from the Pod's own address and the caller drops the reply.
  'net.bridge.bridge-nf-call-iptables': '1',
};

function readSysctl(key: string): string | undefined {
  try {
    return readFileSync(`/proc/sys/${key.replaceAll('.', '/')}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function writeSysctl(key: string, value: string): void {
  writeFileSync(`/proc/sys/${key.replaceAll('.', '/')}`, value);
}

/**
 * The Pods' bridge with the node's address, created before the API server starts (it listens
 * there); the CNI bridge plugin adopts it. Fails when another node of this machine holds it.
 */
export function setupNodeNetwork(): Record<string, string> {
  if (linkExists(nodeNet.bridge)) {
    throw new Error(
      `interface ${nodeNet.bridge} exists: another local node runs on this machine (one node per machine); stop it with npm run cluster:down in its checkout, or delete the interface`,
    );
  }
  sh('ip', ['link', 'add', nodeNet.bridge, 'type', 'bridge']);
  sh('ip', ['addr', 'add', `${nodeNet.ip}/${nodeNet.podCidr.split('/')[1]}`, 'dev', nodeNet.bridge]);
  sh('ip', ['link', 'set', nodeNet.bridge, 'up']);
  const previous: Record<string, string> = {};
  for (const [k, v] of Object.entries(sysctlsWanted)) {
    const old = readSysctl(k);
    if (old === undefined) throw new Error(`sysctl ${k} is not available on this kernel; the node needs it`);
    previous[k] = old;
    if (old !== v) writeSysctl(k, v);
  }
  return previous;
}

/** Removes the bridge (Pods' veths are gone with their sandboxes); restores the sysctls. */
export function teardownNodeNetwork(sysctls: Record<string, string>): void {
  if (linkExists(nodeNet.bridge)) sh('ip', ['link', 'delete', nodeNet.bridge], { allowFail: true });
  for (const [k, v] of Object.entries(sysctls)) {
    if (readSysctl(k) !== v) writeSysctl(k, v);
  }
}

/** kube-apiserver flags that differ with a node. */
export function nodeApiserverArgs(pki: Pki): string[] {
  const kubeletClient = issueClientCert(pki, 'kube-apiserver-kubelet-client');
  const dir = pki.dir;
  writeFileSync(path.join(dir, 'kubelet-client.crt'), kubeletClient.cert);
  writeFileSync(path.join(dir, 'kubelet-client.key'), kubeletClient.key);
  return [
    `--bind-address=${nodeNet.ip}`,
    `--advertise-address=${nodeNet.ip}`,
    `--kubelet-client-certificate=${path.join(dir, 'kubelet-client.crt')}`,
    `--kubelet-client-key=${path.join(dir, 'kubelet-client.key')}`,
    '--kubelet-preferred-address-types=InternalIP',
  ];
}

/** kube-controller-manager controllers a working node needs, besides the process-only plane's. */
export const nodeControllers = [
  'node-lifecycle-controller',
  'taint-eviction-controller',
  'pod-garbage-collector-controller',
  'endpointslice-controller',
  'endpoints-controller',
  'replicaset-controller',
  'deployment-controller',
  'statefulset-controller',
  'daemonset-controller',
  'cronjob-controller',
  'ttl-after-finished-controller',
];

export interface NodeStartDeps {
  stateDir: string;
  pki: Pki;
  server: string;
  caPem: string;
  freePort(): Promise<number>;
  startProcess(binary: string, args: string[], logFile: string): number;
  waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, pids: number[]): Promise<void>;
  /** GET as the admin, returns status and body. */
  get(urlPath: string): Promise<{ status: number; body: string }>;
  /** Applies manifests (JSON objects) as the admin, server-side. */
  apply(objects: unknown[]): Promise<void>;
  /** Image archives to load into containerd before the kubelet starts. */
  images: string[];
  log(s: string): void;
}

function containerdConfig(dir: string): string {
  return `version = 2
root = ${JSON.stringify(path.join(dir, 'containerd', 'root'))}
state = ${JSON.stringify(path.join(dir, 'containerd', 'state'))}
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = ${JSON.stringify(path.join(dir, 'containerd.sock'))}

[plugins."io.containerd.internal.v1.opt"]
  path = ${JSON.stringify(path.join(dir, 'containerd', 'opt'))}

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${infraImages.pause}"
  # Nothing here may lower oom_score_adj (no CAP_SYS_RESOURCE): without this, runc fails with
  # "can't get final child's PID from pipe: EOF".
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = ${JSON.stringify(path.join(dir, 'cni', 'net.d'))}
    max_conf_num = 1
`;
}

function cniConfig(dir: string): string {
  return `${JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: 'local-pods',
      plugins: [
        {
          type: 'bridge',
          bridge: nodeNet.bridge,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: nodeNet.podCidr }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: path.join(dir, 'cni', 'ipam'),
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  )}\n`;
}

function kubeletConfig(
  dir: string,
  pki: Pki,
  serving: { cert: string; key: string },
  ports: NodeState['ports'],
) {
  return `${JSON.stringify(
    {
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      address: nodeNet.ip,
      port: ports.kubelet,
      readOnlyPort: 0,
      healthzBindAddress: '127.0.0.1',
      healthzPort: ports.kubeletHealthz,
      tlsCertFile: serving.cert,
      tlsPrivateKeyFile: serving.key,
      authentication: {
        anonymous: { enabled: false },
        webhook: { enabled: true },
        x509: { clientCAFile: pki.caCert },
      },
      authorization: { mode: 'Webhook' },
      containerRuntimeEndpoint: `unix://${path.join(dir, 'containerd.sock')}`,
      // cgroup v1 (hybrid) and no systemd on these machines.
      cgroupDriver: 'cgroupfs',
      failCgroupV1: false,
      failSwapOn: false,
      clusterDNS: [nodeNet.dnsIp],
      clusterDomain: nodeNet.clusterDomain,
      // A disk shared with everything else on the machine: evict nothing, collect no images.
      evictionHard: {
        'memory.available': '50Mi',
        'nodefs.available': '1%',
        'nodefs.inodesFree': '1%',
        'imagefs.available': '1%',
      },
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      serializeImagePulls: false,
      podLogsDir: path.join(dir, 'pod-logs'),
      volumePluginDir: path.join(dir, 'volume-plugins'),
      // Nothing here may lower an oom_score_adj (see containerdConfig).
      oomScoreAdj: 0,
      registerNode: true,
      nodeStatusReportFrequency: '10s',
    },
    null,
    2,
  )}\n`;
}

function kubeProxyConfig(kubeconfig: string, ports: NodeState['ports']) {
  return `${JSON.stringify(
    {
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      clientConnection: { kubeconfig },
      mode: 'iptables',
      clusterCIDR: nodeNet.podCidr,
      hostnameOverride: nodeNet.name,
      bindAddress: nodeNet.ip,
      healthzBindAddress: `127.0.0.1:${ports.proxyHealthz}`,
      metricsBindAddress: `127.0.0.1:${ports.proxyMetrics}`,
      // NodePorts only on the node's own address, never on the machine's real interfaces.
      nodePortAddresses: [nodeNet.podCidr],
      // Leave the machine's conntrack table size and timeouts alone.
      conntrack: { maxPerCore: 0, min: 0 },
      oomScoreAdj: 0,
      iptables: { localhostNodePorts: false },
    },
    null,
    2,
  )}\n`;
}

/** CoreDNS answering cluster.local (and the reverse zones) only: no name is forwarded off the machine. */
function clusterDns(): unknown[] {
  const ns = 'kube-system';
  const labels = { 'k8s-app': 'kube-dns' };
  const corefile = `${nodeNet.clusterDomain}:53 in-addr.arpa:53 ip6.arpa:53 {
    errors
    health :8080
    ready :8181
    kubernetes ${nodeNet.clusterDomain} in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 30
}
.:53 {
    errors
}
`;
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'coredns', namespace: ns } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'system:coredns' },
      rules: [
        {
          apiGroups: [''],
          resources: ['endpoints', 'services', 'pods', 'namespaces'],
          verbs: ['list', 'watch'],
        },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'system:coredns' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:coredns' },
      subjects: [{ kind: 'ServiceAccount', name: 'coredns', namespace: ns }],
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'coredns', namespace: ns },
      data: { Corefile: corefile },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'coredns', namespace: ns, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: 'coredns',
            dnsPolicy: 'Default',
            priorityClassName: 'system-cluster-critical',
            containers: [
              {
                name: 'coredns',
                image: infraImages.coredns,
                imagePullPolicy: 'Never',
                args: ['-conf', '/etc/coredns/Corefile'],
                ports: [
                  { name: 'dns', containerPort: 53, protocol: 'UDP' },
                  { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
                ],
                readinessProbe: { httpGet: { path: '/ready', port: 8181 }, periodSeconds: 2 },
                livenessProbe: { httpGet: { path: '/health', port: 8080 }, periodSeconds: 10 },
                resources: { requests: { cpu: '50m', memory: '32Mi' }, limits: { memory: '128Mi' } },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
                },
                volumeMounts: [{ name: 'config', mountPath: '/etc/coredns', readOnly: true }],
              },
            ],
            volumes: [{ name: 'config', configMap: { name: 'coredns' } }],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: ns, labels },
      spec: {
        clusterIP: nodeNet.dnsIp,
        selector: labels,
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
        ],
      },
    },
  ];
}

/** The API server's client identity for kubelet calls (logs, exec, port-forward) may use the kubelet API. */
function kubeletApiAccess(): unknown[] {
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'local:kube-apiserver-kubelet-client' },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'system:kubelet-api-admin',
      },
      subjects: [
        { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'kube-apiserver-kubelet-client' },
      ],
    },
  ];
}

function writeKubeconfig(deps: NodeStartDeps, dir: string, user: string, groups: string[] = []): string {
  const file = path.join(dir, `${user.replace(/[^a-zA-Z0-9_.-]/g, '_')}.kubeconfig`);
  writeFileSync(file, kubeconfigFor(deps.server, deps.caPem, user, issueClientCert(deps.pki, user, groups)));
  return file;
}

function ctr(socket: string, args: string[], opts: { allowFail?: boolean } = {}): string {
  return sh('ctr', ['--address', socket, '--namespace', 'k8s.io', ...args], opts);
}

/** Loads image archives into the node's containerd (the names CRI looks up). */
export function loadImages(socket: string, archives: string[]): void {
  for (const archive of archives) ctr(socket, ['images', 'import', '--no-unpack', archive]);
}

/** The last error lines of the node's logs: a failed start is torn down with its state folder. */
function nodeLogErrors(dir: string): string {
  const out: string[] = [];
  for (const f of ['containerd.log', 'kubelet.log', 'kube-proxy.log', 'kube-scheduler.log']) {
    let lines: string[];
    try {
      lines = readFileSync(path.join(dir, f), 'utf8').split('\n');
    } catch {
      continue;
    }
    const errors = lines.filter((l) => /\b(E\d{4}|level=error|error|failed)\b/i.test(l)).slice(-5);
    if (errors.length) out.push(`--- ${f}`, ...errors.map((l) => l.slice(0, 400)));
  }
  return out.length ? `\n${out.join('\n')}` : '';
}

/** Starts containerd, loads the images, then the kubelet, kube-proxy and kube-scheduler; deploys cluster DNS. */
export async function startNode(
  deps: NodeStartDeps,
  sysctls: Record<string, string>,
  record: (n: NodeState) => void,
): Promise<NodeState> {
  try {
    return await startNodeSteps(deps, sysctls, record);
  } catch (err) {
    // Say why in the error itself (a Pod that cannot run: runc, cgroups, CNI, images).
    const why = nodeLogErrors(path.join(deps.stateDir, 'node'));
    throw new Error(`${err instanceof Error ? err.message : String(err)}${why}`);
  }
}

async function startNodeSteps(
  deps: NodeStartDeps,
  sysctls: Record<string, string>,
  record: (n: NodeState) => void,
): Promise<NodeState> {
  const dir = path.join(deps.stateDir, 'node');
  for (const d of ['cni/net.d', 'cni/ipam', 'kubelet', 'pod-logs', 'volume-plugins', 'pki'])
    mkdirSync(path.join(dir, d), { recursive: true });
  const node: NodeState = {
    dir,
    containerdSocket: path.join(dir, 'containerd.sock'),
    ports: {
      kubelet: await deps.freePort(),
      kubeletHealthz: await deps.freePort(),
      proxyHealthz: await deps.freePort(),
      proxyMetrics: await deps.freePort(),
    },
    pids: { containerd: 0, kubelet: 0, proxy: 0, scheduler: 0 },
    chainsBefore: ourChains(),
    sysctls,
    startedAt: new Date().toISOString(),
  };
  record(node);
  const t0 = Date.now();
  const since = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;

  writeFileSync(path.join(dir, 'containerd.toml'), containerdConfig(dir));
  writeFileSync(path.join(dir, 'cni', 'net.d', '10-local-pods.conflist'), cniConfig(dir));
  node.pids.containerd = deps.startProcess(
    '/usr/bin/containerd',
    ['--config', path.join(dir, 'containerd.toml'), '--log-level', 'warn'],
    path.join(dir, 'containerd.log'),
  );
  record(node);
  await deps.waitFor(
    'containerd',
    async () =>
      spawnSync('ctr', ['--address', node.containerdSocket, 'version'], { stdio: 'ignore' }).status === 0,
    30_000,
    [node.pids.containerd],
  );
  loadImages(node.containerdSocket, deps.images);
  deps.log(`  node: containerd up, ${deps.images.length} images loaded (${since()})`);

  const serving = issueServingCert(deps.pki, 'kubelet', [`IP:${nodeNet.ip}`, `DNS:${nodeNet.name}`]);
  writeFileSync(path.join(dir, 'kubelet.yaml'), kubeletConfig(dir, deps.pki, serving, node.ports));
  const kubeletKubeconfig = writeKubeconfig(deps, dir, `system:node:${nodeNet.name}`, ['system:nodes']);
  node.pids.kubelet = deps.startProcess(
    binPath('kubelet'),
    [
      `--config=${path.join(dir, 'kubelet.yaml')}`,
      `--kubeconfig=${kubeletKubeconfig}`,
      `--root-dir=${path.join(dir, 'kubelet')}`,
      `--cert-dir=${path.join(dir, 'pki')}`,
      `--hostname-override=${nodeNet.name}`,
      `--node-ip=${nodeNet.ip}`,
      '--v=1',
    ],
    path.join(dir, 'kubelet.log'),
  );
  record(node);

  const proxyKubeconfig = writeKubeconfig(deps, dir, 'system:kube-proxy');
  writeFileSync(path.join(dir, 'kube-proxy.yaml'), kubeProxyConfig(proxyKubeconfig, node.ports));
  node.pids.proxy = deps.startProcess(
    binPath('kube-proxy'),
    [`--config=${path.join(dir, 'kube-proxy.yaml')}`, '--v=1'],
    path.join(dir, 'kube-proxy.log'),
  );
  record(node);

  const schedulerKubeconfig = writeKubeconfig(deps, dir, 'system:kube-scheduler');
  node.pids.scheduler = deps.startProcess(
    binPath('kube-scheduler'),
    [
      `--kubeconfig=${schedulerKubeconfig}`,
      `--authentication-kubeconfig=${schedulerKubeconfig}`,
      `--authorization-kubeconfig=${schedulerKubeconfig}`,
      '--leader-elect=false',
      '--secure-port=0',
      '--v=1',
    ],
    path.join(dir, 'kube-scheduler.log'),
  );
  record(node);

  const pids = Object.values(node.pids);
  await deps.waitFor(
    `node ${nodeNet.name} Ready`,
    async () => {
      const r = await deps.get(`/api/v1/nodes/${nodeNet.name}`);
      if (r.status !== 200) return false;
      const n = JSON.parse(r.body) as {
        status?: { conditions?: Array<{ type: string; status: string }> };
        spec?: { taints?: Array<{ key: string }> };
      };
      const ready = n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      return ready && !n.spec?.taints?.some((t) => t.key === 'node.kubernetes.io/not-ready');
    },
    120_000,
    pids,
  );
  deps.log(`  node: ${nodeNet.name} Ready (${since()})`);

  await deps.apply([...kubeletApiAccess(), ...clusterDns()]);
  await deps.waitFor(
    'cluster DNS (CoreDNS Ready)',
    async () => {
      const r = await deps.get('/apis/apps/v1/namespaces/kube-system/deployments/coredns');
      if (r.status !== 200) return false;
      const d = JSON.parse(r.body) as { status?: { readyReplicas?: number } };
      return (d.status?.readyReplicas ?? 0) >= 1;
    },
    120_000,
    pids,
  );
  deps.log(`  node: cluster DNS ready at ${nodeNet.dnsIp} (${since()})`);
  return node;
}

/** True when every node process still runs. */
export function nodeAlive(node: NodeState, isAlive: (pid: number) => boolean): boolean {
  return Object.values(node.pids).every((p) => p > 0 && isAlive(p));
}

const iptablesTools = ['iptables', 'ip6tables'] as const;

/** Chains the kubelet, kube-proxy and the CNI plugins create: `tool/table/chain`. */
function ourChains(): string[] {
  const out: string[] = [];
  for (const tool of iptablesTools) {
    let table = '';
    for (const line of sh(`${tool}-save`, [], { allowFail: true }).split('\n')) {
      if (line.startsWith('*')) table = line.slice(1);
      const m = line.match(/^:((?:KUBE|CNI)-\S+)/);
      if (m) out.push(`${tool}/${table}/${m[1]}`);
    }
  }
  return out;
}

/**
 * Removes the chains the node made (those not there before it started) and every rule that jumps
 * to them. kube-proxy --cleanup removes its own; the kubelet's (KUBE-FIREWALL with its INPUT and
 * OUTPUT jumps, KUBE-KUBELET-CANARY, KUBE-IPTABLES-HINT) and the CNI portmap's stay otherwise.
 */
function removeOurChains(before: string[]): void {
  const made = new Set(ourChains().filter((c) => !before.includes(c)));
  if (!made.size) return;
  for (const tool of iptablesTools) {
    let table = '';
    const jumps: Array<{ table: string; rule: string[] }> = [];
    for (const line of sh(`${tool}-save`, [], { allowFail: true }).split('\n')) {
      if (line.startsWith('*')) table = line.slice(1);
      const from = line.match(/^-A (\S+)/)?.[1];
      const to = line.match(/ -j (\S+)/)?.[1];
      if (from && to && made.has(`${tool}/${table}/${to}`) && !made.has(`${tool}/${table}/${from}`))
        jumps.push({ table, rule: line.slice(3).split(' ') });
    }
    for (const j of jumps) sh(tool, ['-t', j.table, '-D', ...j.rule], { allowFail: true });
    const chains = [...made].filter((c) => c.startsWith(`${tool}/`)).map((c) => c.split('/'));
    for (const [, t, chain] of chains) sh(tool, ['-t', t!, '-F', chain!], { allowFail: true });
    for (const [, t, chain] of chains) sh(tool, ['-t', t!, '-X', chain!], { allowFail: true });
  }
}

/**
 * What a stopped plane of this checkout may have left on the machine: processes whose command line
 * names `root` (state, binaries, the image builder's dockerd), the node's bridge, KUBE- and CNI-
 * iptables chains, mounts below `root`, CNI network namespaces. Empty when nothing is left.
 */
export function leftovers(root: string, extraProcessMarkers: string[] = []): string[] {
  const out: string[] = [];
  const markers = [root, ...extraProcessMarkers];
  for (const { pid, cmd } of processes()) {
    if (pid === process.pid) continue;
    const exe = path.basename(cmd[0] ?? '');
    if (['node', 'npm', 'sh', 'bash', 'vitest', 'timeout'].includes(exe)) continue;
    if (cmd.some((a) => markers.some((m) => a.includes(m))))
      out.push(`process ${pid}: ${cmd.join(' ').slice(0, 160)}`);
  }
  if (linkExists(nodeNet.bridge)) out.push(`network interface ${nodeNet.bridge}`);
  for (const c of ourChains()) out.push(`iptables chain ${c}`);
  for (const m of mountsUnder(root)) out.push(`mount ${m}`);
  if (existsSync('/var/run/netns'))
    for (const n of readdirSync('/var/run/netns'))
      if (n.startsWith('cni-')) out.push(`network namespace ${n}`);
  return out;
}

/** Mount points at or below `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (!mp) continue;
    const p = mp.replace(/\\040/g, ' ');
    if (p === dir || p.startsWith(`${dir}/`)) out.push(p);
  }
  return out.sort((a, b) => b.length - a.length);
}

/**
 * Unmounts what a dockerd killed without its shutdown (a CI job stopped by SIGKILL) left mounted
 * under its data root: its own bind mount and overlays of builds in progress. Nothing is touched
 * while a dockerd of that data root runs. Returns what was unmounted.
 */
export function unmountStaleDocker(dataRoot: string): string[] {
  const mounts = mountsUnder(dataRoot);
  if (!mounts.length) return [];
  if (processes().some(({ cmd }) => cmd.includes(`--data-root=${dataRoot}`))) return [];
  for (const m of mounts) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
  return mounts;
}

/** Our containerd's shims: their command line names our socket. */
function shimPids(socket: string): number[] {
  return processes()
    .filter(({ cmd }) => cmd[0]?.endsWith('containerd-shim-runc-v2') && cmd.includes(socket))
    .map(({ pid }) => pid);
}

/** The machine's processes with their command lines (a process gone meanwhile is left out). */
function processes(): Array<{ pid: number; cmd: string[] }> {
  const out: Array<{ pid: number; cmd: string[] }> = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      out.push({
        pid: Number(e),
        cmd: readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').filter(Boolean),
      });
    } catch {
      // gone
    }
  }
  return out;
}

/** Removes the kubelet's cgroups (cgroup v1: one tree per controller), deepest first. */
function removeKubeletCgroups(): void {
  const root = '/sys/fs/cgroup';
  if (!existsSync(root)) return;
  const rmTree = (p: string) => {
    for (const e of readdirSync(p, { withFileTypes: true }))
      if (e.isDirectory()) rmTree(path.join(p, e.name));
    try {
      rmdirSync(p);
    } catch {
      // busy or not ours to remove
    }
  };
  for (const controller of readdirSync(root)) {
    const p = path.join(root, controller, 'kubepods');
    try {
      if (statSync(p).isDirectory()) rmTree(p);
    } catch {
      // not there
    }
  }
}

export interface NodeStopDeps {
  stopProcess(pid: number, binary: string, graceMs?: number): Promise<void>;
  isAlive(pid: number): boolean;
  /** Deletes every Pod of the cluster at once (grace period 0); false when the API server is gone. */
  deleteAllPods(): Promise<boolean>;
  log(s: string): void;
}

/**
 * Stops the node and removes everything it made. Pods are deleted first, while the kubelet runs,
 * so it unmounts their volumes and tears their sandboxes (network namespaces, veths) down itself;
 * what is left after a deadline (a kubelet that died) is removed by force.
 */
export async function stopNode(node: NodeState, deps: NodeStopDeps): Promise<void> {
  const t0 = Date.now();
  const step = (what: string) => deps.log(`  node: ${what} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  await deps.stopProcess(node.pids.scheduler, binPath('kube-scheduler'));
  const kubeletUp = deps.isAlive(node.pids.kubelet);
  if (kubeletUp && (await deps.deleteAllPods().catch(() => false))) {
    // Stopped sandboxes stay listed until the kubelet's garbage collection: wait for running ones.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const running = ctr(node.containerdSocket, ['tasks', 'ls'], { allowFail: true })
        .split('\n')
        .filter((l) => /\sRUNNING\s*$/.test(l));
      // (The kubelet bind-mounts its root folder onto itself: only the Pods' volumes count.)
      if (!running.length && !mountsUnder(path.join(node.dir, 'kubelet', 'pods')).length) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    step('pods deleted');
  }
  await deps.stopProcess(node.pids.kubelet, binPath('kubelet'));
  step('kubelet stopped');
  await deps.stopProcess(node.pids.proxy, binPath('kube-proxy'));
  // kube-proxy --cleanup removes every iptables rule and chain kube-proxy made.
  spawnSync(binPath('kube-proxy'), ['--cleanup', '--v=0'], { stdio: 'ignore' });
  // Containers the kubelet did not stop: kill their tasks through containerd, then containerd.
  if (deps.isAlive(node.pids.containerd)) {
    for (const id of ctr(node.containerdSocket, ['tasks', 'ls', '-q'], { allowFail: true }).split('\n')) {
      if (!id.trim()) continue;
      ctr(node.containerdSocket, ['tasks', 'kill', '-s', 'SIGKILL', id.trim()], { allowFail: true });
      ctr(node.containerdSocket, ['tasks', 'delete', '-f', id.trim()], { allowFail: true });
    }
  }
  step('kube-proxy stopped, its rules removed');
  await deps.stopProcess(node.pids.containerd, '/usr/bin/containerd');
  step('containerd stopped');
  for (const pid of shimPids(node.containerdSocket)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (const m of mountsUnder(node.dir)) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
  // Network namespaces of sandboxes that were not torn down (containerd 1.6 keeps them here).
  if (existsSync('/var/run/netns')) {
    const started = Date.parse(node.startedAt);
    for (const e of readdirSync('/var/run/netns')) {
      const p = path.join('/var/run/netns', e);
      if (!e.startsWith('cni-')) continue;
      try {
        if (statSync(p).mtimeMs < started) continue;
      } catch {
        continue;
      }
      spawnSync('umount', [p], { stdio: 'ignore' });
      rmSync(p, { force: true });
    }
  }
  removeKubeletCgroups();
  removeOurChains(node.chainsBefore ?? []);
  teardownNodeNetwork(node.sysctls);
  deps.log('  node stopped: pods, kubelet, kube-proxy (iptables rules removed), kube-scheduler, containerd');
}
