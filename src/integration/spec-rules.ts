// Rules of a Plug's or Socket's spec that the API server does not check: the CRD keeps `when`, `do`
// and the namespace patterns free strings (as the Go operator's CRD did, so its manifests stay
// valid). The operator stops an owner whose spec breaks one (condition ConfigInvalid), and
// `kubectl integration check` reports the same problems before anything is applied.
import type { Resource, ResourceAction } from '../api/common.ts';
import type { SocketSpec } from '../api/socket.ts';
import { fullMatch } from './admission.ts';

export const validWhen = new Set<string>(['created', 'coupled', 'updated', 'decoupled', 'deleted']);
export const validDo = new Set<string>(['apply', 'delete', 'recreate']);

/** A ServiceAccount name: a DNS subdomain (what the API server accepts for one). */
const serviceAccountNamePattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export interface SpecProblem {
  /** Where, under `spec`: `['resources', 0, 'when', 1]`. */
  path: (string | number)[];
  /** The operator's message (it names the field): `resources[0].when: unknown event "coupeld" (...)`. */
  text: string;
}

interface SpecLike {
  serviceAccountName?: string | undefined;
  resources?: Resource[] | undefined;
  resultResources?: ResourceAction[] | undefined;
}

/** Problems in an owner's spec (resources, identity) that must stop the owner from being processed. */
export function specProblems(spec: SpecLike): SpecProblem[] {
  const problems: SpecProblem[] = [];
  // Impersonating "system:serviceaccount:<ns>:a b:c" would name a user that is no ServiceAccount.
  const sa = spec.serviceAccountName;
  if (sa && (sa.length > 253 || !serviceAccountNamePattern.test(sa)))
    problems.push({
      path: ['serviceAccountName'],
      text: `serviceAccountName ${JSON.stringify(sa.length > 80 ? `${sa.slice(0, 79)}…` : sa)} is not a valid ServiceAccount name (lowercase letters, digits, '-' and '.')`,
    });
  (spec.resources ?? []).forEach((r, i) => {
    (r.when ?? []).forEach((w, j) => {
      if (!validWhen.has(w))
        problems.push({
          path: ['resources', i, 'when', j],
          text: `resources[${i}].when: unknown event ${JSON.stringify(w)} (created, coupled, updated, decoupled, deleted)`,
        });
    });
    if (r.do !== undefined && !validDo.has(r.do))
      problems.push({
        path: ['resources', i, 'do'],
        text: `resources[${i}].do: unknown action ${JSON.stringify(r.do)} (apply, delete, recreate)`,
      });
  });
  (spec.resultResources ?? []).forEach((r, i) => {
    if (r.do !== undefined && !validDo.has(r.do))
      problems.push({
        path: ['resultResources', i, 'do'],
        text: `resultResources[${i}].do: unknown action ${JSON.stringify(r.do)} (apply, delete, recreate)`,
      });
  });
  return problems;
}

/** A socket's namespace patterns that are not regular expressions (RE2 syntax) it can use. */
export function namespacePatternProblems(validation: SocketSpec['validation']): SpecProblem[] {
  const problems: SpecProblem[] = [];
  for (const list of ['namespaceWhitelist', 'namespaceBlacklist'] as const) {
    (validation?.[list] ?? []).forEach((pattern, i) => {
      try {
        fullMatch(pattern);
      } catch (err) {
        problems.push({ path: ['validation', list, i], text: `validation: ${(err as Error).message}` });
      }
    });
  }
  return problems;
}

/** The operator's messages of `specProblems`. */
export function resourceSpecProblems(o: { spec: SpecLike }): string[] {
  return specProblems(o.spec).map((p) => p.text);
}

/** Resources that have no `when` (never applied; the owner gets a Warning Event). */
export function resourcesWithoutWhen(o: { spec: SpecLike }): number[] {
  return (o.spec.resources ?? []).flatMap((r, i) => (r.when === undefined || r.when.length === 0 ? [i] : []));
}
