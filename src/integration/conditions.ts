// Conditions with Kubernetes API conventions (as cert-manager does them): positive polarity,
// CamelCase reasons, observedGeneration always set, lastTransitionTime changed only when the
// status flips (so a reason/message change is not reported as a transition).
import type { Condition } from '../api/common.ts';

export const ConditionType = {
  Coupled: 'Coupled',
  Ready: 'Ready',
} as const;

/** Reasons of SPEC.md "Status" (the Go operator's names where it had them). */
export const Reason = {
  PlugCreated: 'PlugCreated',
  SocketCreated: 'SocketCreated',
  SocketNotCreated: 'SocketNotCreated',
  SocketNotWatched: 'SocketNotWatched',
  SocketDeleting: 'SocketDeleting',
  CouplingInProcess: 'CouplingInProcess',
  CouplingSucceeded: 'CouplingSucceeded',
  UpdatingInProcess: 'UpdatingInProcess',
  DecouplingInProcess: 'DecouplingInProcess',
  SocketLimitReached: 'SocketLimitReached',
  NamespaceNotAllowed: 'NamespaceNotAllowed',
  ConfigInvalid: 'ConfigInvalid',
  /** The API server refused a templated object (422 Invalid, 400 BadRequest): fix the template. */
  ResourceInvalid: 'ResourceInvalid',
  TemplateError: 'TemplateError',
  ApparatusUnavailable: 'ApparatusUnavailable',
  Forbidden: 'Forbidden',
  Error: 'Error',
  Deleting: 'Deleting',
  /** A socket some of whose couplings fail on its side (its resources, its apparatus). */
  CouplingsFailing: 'CouplingsFailing',
} as const;
export type ReasonName = (typeof Reason)[keyof typeof Reason];

export interface ConditionInput {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/** Returns a new list with the condition set; the input list is not modified. */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  input: ConditionInput,
  observedGeneration: number | undefined,
  now: Date,
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === input.type);
  const prev = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: truncate(input.message, 1024),
    ...(observedGeneration !== undefined ? { observedGeneration } : {}),
    lastTransitionTime:
      prev && prev.status === input.status && prev.lastTransitionTime
        ? prev.lastTransitionTime
        : rfc3339(now),
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

export function getCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/**
 * True when `conditions` already report this failure on `type` (same reason and message) and it
 * cannot clear by itself (ResourceInvalid): it gets one Warning Event per change, not one per
 * (slow) retry. Read from the status, so a restart does not report it again either.
 */
export function alreadyReported(
  conditions: readonly Condition[] | undefined,
  type: string,
  failure: { reason: string; message: string },
): boolean {
  if (failure.reason !== Reason.ResourceInvalid) return false;
  const c = getCondition(conditions, type);
  return c?.reason === failure.reason && c.message === truncate(failure.message, 1024);
}

/** Kubernetes metav1.Time: RFC 3339 with second precision. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/**
 * Conditions written by the Go operator (e.g. a `Failed` type, or reasons we do not use) are
 * rewritten into ours: keep only our condition types.
 */
export function ourConditions(conditions: readonly Condition[] | undefined): Condition[] {
  return (conditions ?? []).filter((c) => c.type === ConditionType.Coupled || c.type === ConditionType.Ready);
}
