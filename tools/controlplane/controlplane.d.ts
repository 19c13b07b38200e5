export interface ControlPlaneOptions {
  /** Folder for all state; default .cluster/state in the repository. */
  stateDir?: string;
  /** Where the admin kubeconfig is written; default .cluster/kubeconfig next to the state folder. */
  kubeconfigPath?: string;
  /** An audit policy (YAML). When given, the API server writes a JSON audit log to stateDir/audit.log. */
  auditPolicy?: string;
  /** Print progress lines (default true). */
  verbose?: boolean;
}
export interface ControlPlaneState {
  stateDir: string;
  kubeconfig: string;
  server: string;
  ports: {
    etcd: number;
    etcdPeer: number;
    apiserver: number;
  };
  pids: {
    etcd: number;
    apiserver: number;
    controllerManager: number;
  };
  auditLog?: string;
  startedAt: string;
}
export declare function readState(stateDir?: string): ControlPlaneState | undefined;
/** Alive and not a zombie. */
export declare function isAlive(pid: number): boolean;
/** SIGTERM, then SIGKILL after the deadline. Only kills a pid that still runs `binary`. */
export declare function stopProcess(pid: number, binary: string, graceMs?: number): Promise<void>;
/** True when the recorded control plane answers /readyz. */
export declare function isHealthy(state: ControlPlaneState): Promise<boolean>;
/**
 * Starts a control plane, or reuses the one recorded in stateDir when it is healthy.
 * A recorded one that is not healthy is stopped and replaced.
 */
export declare function up(opts?: ControlPlaneOptions): Promise<{
  state: ControlPlaneState;
  reused: boolean;
}>;
/** Stops every recorded process (controller manager, API server, then etcd) and removes the state. */
export declare function down(opts?: { stateDir?: string; verbose?: boolean }): Promise<boolean>;
/** Stops kube-apiserver (etcd keeps its data), for tests of watch recovery. */
export declare function stopApiserver(state: ControlPlaneState): Promise<void>;
/** Starts kube-apiserver again on the same port and waits for /readyz. */
export declare function startApiserver(state: ControlPlaneState): Promise<void>;
/** Writes a kubeconfig for a client-certificate user (CN=user, O=groups) and returns its path. */
export declare function userKubeconfig(state: ControlPlaneState, user: string, groups?: string[]): string;
