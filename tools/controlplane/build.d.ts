export declare const repoRoot: string;
/** Where the binaries live. CLUSTER_BIN_DIR lets several checkouts share one build. */
export declare function binDir(): string;
export declare const binaries: readonly [
  'kube-apiserver',
  'kube-controller-manager',
  'kubectl',
  'etcd',
  'helm',
];
export type Binary = (typeof binaries)[number];
export declare function binPath(name: Binary): string;
/** Builds the binaries unless the stamp says they are current. Returns the bin folder. */
export declare function buildControlPlane(opts?: { force?: boolean }): Promise<string>;
