// Installs the CRDs generated from the schemas (server-side apply, idempotent) and waits until the
// API server serves them. Used by the embedded local control plane (npm start), the test setup and
// the benchmarks; a real install gets the CRDs from the Helm chart.
import type { Kube } from '../kube/objects.ts';
import type { KubeObject } from '../kube/types.ts';
import { allCrds } from './crd.ts';

export async function installCrds(
  kube: Kube,
  opts: { manager?: string; timeoutMs?: number } = {},
): Promise<void> {
  const crds = Object.values(allCrds());
  for (const crd of crds) {
    await kube.apply(crd as unknown as KubeObject, {
      manager: opts.manager ?? 'integration-operator-install',
    });
  }
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (const crd of crds) {
    const name = (crd.metadata as { name: string }).name;
    for (;;) {
      const cur = await kube.get({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        name,
      });
      const conds = (cur?.status as { conditions?: Array<{ type: string; status: string }> } | undefined)
        ?.conditions;
      if (conds?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline)
        throw new Error(`CRD ${name} is not established after ${(opts.timeoutMs ?? 30_000) / 1000} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
