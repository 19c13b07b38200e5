// Tenant rights for tests and benchmarks (no test-runner imports: the benchmarks use it too).
import type { Kube } from '../../src/kube/objects.ts';
import type { KubeObject } from '../../src/kube/types.ts';

/** Verbs a tenant ServiceAccount needs on what its templates apply (server-side apply, recreate, cleanup). */
export const writeVerbs = ['get', 'create', 'patch', 'delete'];

/**
 * Gives a tenant ServiceAccount (created unless `existing`) a Role with `rules` in its namespace:
 * the rights the operator uses on its behalf (impersonation).
 */
export async function grant(
  kube: Kube,
  namespace: string,
  sa: string,
  rules: unknown[],
  opts: { existing?: boolean; role?: string } = {},
): Promise<void> {
  const role = opts.role ?? sa;
  if (!opts.existing)
    await kube.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace } });
  await kube.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: role, namespace },
    rules,
  } as KubeObject);
  await kube.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: role, namespace },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role },
    subjects: [{ kind: 'ServiceAccount', name: sa, namespace }],
  } as KubeObject);
}
