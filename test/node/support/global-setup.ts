// Vitest global setup of the node suite: the images built on this machine (tools/images/build.ts:
// the operator from the project's Dockerfile, the example apparatus, Postgres and the stand-ins),
// then a local control plane with a real node (tools/controlplane/node.ts) in a state folder of its
// own, so it runs beside the integration suites' plane. A machine has one node at most: when a
// developer's `npm start -- --node` (or `cluster:up -- --node`) already runs one, the suite uses it
// and leaves it running. It needs root on Linux; without it this fails with the reason (the suite
// never skips silently).
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { down, isHealthy, readState, up } from '../../../tools/controlplane/controlplane.ts';
import { loadImages } from '../../../tools/controlplane/node.ts';
import { imageArchives } from '../../../tools/images/archives.ts';
import { buildImages, localImages } from '../../../tools/images/build.ts';
import { repoRoot } from '../../support/operator.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The operator image the chart installs (built from the Dockerfile on this machine). */
    nodeOperatorImage: string;
    /** The node's containerd socket (tests look at what the node runs). */
    nodeContainerdSocket: string;
  }
}

const stateDir = path.join(repoRoot, '.cluster', 'node-suite');
let started = false;

export async function setup(project: TestProject): Promise<void> {
  let result: Awaited<ReturnType<typeof up>>;
  try {
    const t0 = Date.now();
    await buildImages();
    process.stderr.write(`node suite: images ready in ${Math.round((Date.now() - t0) / 1000)}s\n`);
    const running = readState();
    result =
      running?.node && (await isHealthy(running))
        ? { state: running, reused: true }
        : await up({
            node: true,
            stateDir,
            kubeconfigPath: path.join(repoRoot, '.cluster', 'node-suite.kubeconfig'),
          });
  } catch (err) {
    throw new Error(
      `the node suite needs a local control plane with a real node and images built here, and could not get them: ${
        err instanceof Error ? err.message : String(err)
      }`,
    );
  }
  started ||= !result.reused;
  const node = result.state.node!;
  // A reused node may hold older images under the same names.
  if (result.reused) loadImages(node.containerdSocket, imageArchives());
  project.provide('kubeconfig', result.state.kubeconfig);
  project.provide('controlPlaneStateDir', result.state.stateDir);
  project.provide('nodeOperatorImage', localImages.operator);
  project.provide('nodeContainerdSocket', node.containerdSocket);
  // The e2e helpers (test/e2e/support/install.ts) install with helm when an image is given.
  project.provide('e2eImage', localImages.operator);
  project.provide('e2eCluster', 'node');
}

export async function teardown(): Promise<void> {
  if (started) {
    started = false;
    await down({ stateDir, verbose: false });
  }
}
