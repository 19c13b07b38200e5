// The live state of objects a trace shows, in one line and a few details: a Job (succeeded, failed,
// running, not started, and why its Pods fail), a Pod (phase, readiness, waiting and failed
// containers), any other object (its Ready/Available condition, if it has one). Pure functions of
// the objects read from the API server.
import type { KubeObject } from '../kube/types.ts';

export interface LiveState {
  /** One line: `succeeded`, `failed: BackoffLimitExceeded: ...`, `Running, ready`. */
  state: string;
  /** true: working or done; false: failing; undefined: in progress or unknown. */
  healthy?: boolean;
  /** More lines, e.g. each failing container's last message. */
  details?: string[];
}

interface Cond {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

interface ContainerState {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt?: string };
  terminated?: { exitCode?: number; reason?: string; message?: string; finishedAt?: string };
}

export interface ContainerStatus {
  name?: string;
  ready?: boolean;
  restartCount?: number;
  state?: ContainerState;
  lastState?: ContainerState;
}

interface PodStatus {
  phase?: string;
  reason?: string;
  message?: string;
  conditions?: Cond[];
  containerStatuses?: ContainerStatus[];
  initContainerStatuses?: ContainerStatus[];
}

interface JobStatus {
  active?: number;
  succeeded?: number;
  failed?: number;
  ready?: number;
  startTime?: string;
  completionTime?: string;
  conditions?: Cond[];
}

const oneLine = (s: string, max = 300): string => {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

function trueCondition(conditions: Cond[] | undefined, type: string): Cond | undefined {
  return conditions?.find((c) => c.type === type && c.status === 'True');
}

/** Why a container is not running well, from its status: waiting with a reason, or exited non-zero. */
export function containerProblem(c: ContainerStatus): { text: string; terminated: boolean } | undefined {
  const name = c.name ?? '?';
  const waiting = c.state?.waiting;
  const last = c.state?.terminated ?? c.lastState?.terminated;
  const exited = last && last.exitCode !== undefined && last.exitCode !== 0 ? last : undefined;
  const restarts = c.restartCount ? ` (${c.restartCount} restart${c.restartCount === 1 ? '' : 's'})` : '';
  if (exited) {
    const why = [exited.reason, exited.message ? oneLine(exited.message) : undefined]
      .filter(Boolean)
      .join(': ');
    const waitingToo = waiting?.reason ? `, now ${waiting.reason}` : '';
    return {
      text: `container ${name} exited ${exited.exitCode}${why ? ` (${why})` : ''}${waitingToo}${restarts}`,
      terminated: true,
    };
  }
  if (waiting?.reason && waiting.reason !== 'ContainerCreating' && waiting.reason !== 'PodInitializing') {
    return {
      text: `container ${name} waiting: ${waiting.reason}${waiting.message ? `: ${oneLine(waiting.message)}` : ''}${restarts}`,
      terminated: false,
    };
  }
  return undefined;
}

export function podState(pod: KubeObject): LiveState {
  const st = (pod.status ?? {}) as PodStatus;
  const phase = st.phase ?? 'Unknown';
  const ready = trueCondition(st.conditions, 'Ready') !== undefined;
  const problems = [...(st.initContainerStatuses ?? []), ...(st.containerStatuses ?? [])]
    .map(containerProblem)
    .filter((p) => p !== undefined)
    .map((p) => p.text);
  const details = [...problems];
  const unscheduled = st.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  if (unscheduled)
    details.unshift(
      `not scheduled: ${unscheduled.reason ?? ''}${unscheduled.message ? `: ${oneLine(unscheduled.message)}` : ''}`,
    );
  else if (phase === 'Pending' && !st.conditions?.length)
    details.unshift('not scheduled yet (no node has taken it)');
  if (st.reason || st.message)
    details.unshift(`${st.reason ?? ''}${st.message ? `: ${oneLine(st.message)}` : ''}`);
  const state =
    phase === 'Running' || phase === 'Pending' ? `${phase}, ${ready ? 'ready' : 'not ready'}` : phase;
  const healthy =
    phase === 'Succeeded' || (phase === 'Running' && ready)
      ? true
      : phase === 'Failed' || problems.length > 0
        ? false
        : undefined;
  return { state, ...(healthy !== undefined ? { healthy } : {}), ...(details.length ? { details } : {}) };
}

/** A Job's state; `pods` are its Pods (for the failing containers), when they could be read. */
export function jobState(job: KubeObject, pods: readonly KubeObject[] | undefined): LiveState {
  const st = (job.status ?? {}) as JobStatus;
  const counts = `${st.succeeded ?? 0} succeeded, ${st.failed ?? 0} failed`;
  const failed = trueCondition(st.conditions, 'Failed') ?? trueCondition(st.conditions, 'FailureTarget');
  const complete =
    trueCondition(st.conditions, 'Complete') ?? trueCondition(st.conditions, 'SuccessCriteriaMet');
  const details = podDetails(pods);
  if (complete) return { state: `succeeded (${counts})`, healthy: true };
  if (failed) {
    const why = [failed.reason, failed.message ? oneLine(failed.message) : undefined]
      .filter(Boolean)
      .join(': ');
    return {
      state: `failed${why ? `: ${why}` : ''} (${counts})`,
      healthy: false,
      ...(details.length ? { details } : {}),
    };
  }
  if ((st.active ?? 0) > 0) {
    const failing = (st.failed ?? 0) > 0 || details.some((d) => d.startsWith('container '));
    return {
      state: `running: ${st.active} active${st.ready !== undefined ? ` (${st.ready} ready)` : ''}, ${counts}`,
      ...(failing ? { healthy: false } : {}),
      ...(details.length ? { details } : {}),
    };
  }
  const suspended = (job.spec as { suspend?: boolean } | undefined)?.suspend;
  if (suspended) return { state: 'suspended' };
  return {
    state: st.startTime ? `not running (${counts})` : 'not started',
    ...(details.length ? { details } : {}),
  };
}

/** What a Job's Pods say: unscheduled, waiting or failed containers (the newest Pod first, at most 3 lines). */
function podDetails(pods: readonly KubeObject[] | undefined): string[] {
  if (!pods?.length) return [];
  const newest = [...pods].sort((a, b) =>
    (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''),
  );
  const lines: string[] = [];
  for (const pod of newest) {
    const s = podState(pod);
    for (const d of s.details ?? []) lines.push(`pod ${pod.metadata.name}: ${d}`);
    if (lines.length >= 3) break;
  }
  return lines.slice(0, 3);
}

/** The container of a Job's Pods that failed last, to read its log: pod, container, previous run or not. */
export function failingContainer(
  pods: readonly KubeObject[],
): { pod: string; container: string; previous: boolean } | undefined {
  const newest = [...pods].sort((a, b) =>
    (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''),
  );
  for (const pod of newest) {
    const st = (pod.status ?? {}) as PodStatus;
    for (const c of [...(st.initContainerStatuses ?? []), ...(st.containerStatuses ?? [])]) {
      const problem = containerProblem(c);
      if (!problem?.terminated) continue;
      const current = c.state?.terminated;
      return {
        pod: pod.metadata.name ?? '',
        container: c.name ?? '',
        previous: !(current && current.exitCode !== 0),
      };
    }
  }
  return undefined;
}

/** Any object: its Ready or Available condition when it has one, else that it exists. */
export function genericState(obj: KubeObject): LiveState {
  const conditions = (obj.status as { conditions?: Cond[] } | undefined)?.conditions;
  const c = conditions?.find((x) => x.type === 'Ready') ?? conditions?.find((x) => x.type === 'Available');
  if (!c) return { state: 'exists' };
  const text = `${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}${c.message ? `: ${oneLine(c.message)}` : ''}`;
  return {
    state: `exists, ${text}`,
    ...(c.status === 'True' ? { healthy: true } : c.status === 'False' ? { healthy: false } : {}),
  };
}

/** The live state of an object applied for a coupling (Jobs and Pods in detail). */
export function liveState(obj: KubeObject, pods?: readonly KubeObject[]): LiveState {
  if (obj.kind === 'Job' && (obj.apiVersion ?? '').startsWith('batch/')) return jobState(obj, pods);
  if (obj.kind === 'Pod' && obj.apiVersion === 'v1') return podState(obj);
  return genericState(obj);
}
