// Vitest global setup for the integration and e2e projects: one local control plane per run.
// TEST_KUBECONFIG (or KUBECONFIG with E2E_CLUSTER=kubeconfig) points the suites at an existing
// cluster instead. If the control plane cannot start, this throws and the run fails with the reason:
// these suites never skip silently.
import type { TestProject } from 'vitest/node';
import { down, up } from '../../tools/controlplane/controlplane.ts';

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
