// Vitest global setup for the integration and e2e projects: one local control plane per run.
// TEST_KUBECONFIG (or KUBECONFIG with E2E_CLUSTER=kubeconfig) points the suites at an existing
// cluster instead. If the control plane cannot start, this throws and the run fails with the reason:
// these suites never skip silently.

import { KubeConfig } from '@kubernetes/client-node';
import type { TestProject } from 'vitest/node';
import { installCrds } from '../../src/api/install.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { Kube } from '../../src/kube/objects.ts';
import { down, up } from '../../tools/controlplane/controlplane.ts';

/** Applies the current CRDs (a fresh control plane has none) and waits until they are established. */
async function installTestCrds(kubeconfig: string): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const client = new KubeClient({ kubeConfig: kc, qps: 0 });
  try {
    await installCrds(new Kube(client), { manager: 'integration-operator-tests' });
  } finally {
    client.close();
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    /** Set when the suites run on the local control plane (not on an external cluster). */
    controlPlaneStateDir: string | undefined;
  }
}

let started = false;

export async function setup(project: TestProject): Promise<void> {
  const external =
    process.env.TEST_KUBECONFIG ??
    (process.env.E2E_CLUSTER === 'kubeconfig' ? process.env.KUBECONFIG : undefined);
  if (external) {
    project.provide('kubeconfig', external);
    project.provide('controlPlaneStateDir', undefined);
    return;
  }
  let result: Awaited<ReturnType<typeof up>>;
  try {
    result = await up();
  } catch (err) {
    throw new Error(
      `the local control plane could not start, so the ${project.name} suite cannot run: ${
        err instanceof Error ? err.message : String(err)
      }`,
    );
  }
  started ||= !result.reused;
  await installTestCrds(result.state.kubeconfig);
  project.provide('kubeconfig', result.state.kubeconfig);
  project.provide('controlPlaneStateDir', result.state.stateDir);
}

export async function teardown(): Promise<void> {
  // Only stop what this run started; a developer's `npm run cluster:up` stays up.
  if (started) {
    started = false;
    await down({ verbose: false });
  }
}
