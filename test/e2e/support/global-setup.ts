// Vitest global setup of the e2e project. E2E_CLUSTER picks the cluster:
//   unset or "local"  the local control plane (test/support/global-setup.ts starts or reuses it);
//                     the operator runs as a process with the chart's ServiceAccount token
//   "kubeconfig"      the cluster of KUBECONFIG, same process mode (E2E_IMAGE=<image> installs that
//                     image with helm instead)
//   "kind"            a new kind cluster: the image is built and loaded, the chart is installed with
//                     helm, and the cluster is deleted afterwards (E2E_KEEP_CLUSTER=1 keeps it).
//                     Without a Docker engine this fails at once, with the reason.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import * as shared from '../../support/global-setup.ts';
import { repoRoot } from '../../support/operator.ts';
import { run, runOk } from './commands.ts';

export type E2eCluster = 'local' | 'kind' | 'kubeconfig' | 'node';

declare module 'vitest' {
  export interface ProvidedContext {
    e2eCluster: E2eCluster;
    /** Set when the operator runs from an image installed with helm (kind, or E2E_IMAGE). */
    e2eImage: string | undefined;
  }
}

export const kindImages = {
  operator: 'integration-operator:e2e',
  // The tag the samples name (config/samples/40-apparatus.yaml).
  apparatus: 'example-apparatus:0.1.0',
};

function clusterKind(): E2eCluster {
  const v = process.env.E2E_CLUSTER ?? 'local';
  if (v === 'local' || v === 'kind' || v === 'kubeconfig') return v;
  throw new Error(`E2E_CLUSTER=${v}: expected local, kind or kubeconfig`);
}

let kindCluster: string | undefined;

async function need(cmd: string, args: string[], why: string): Promise<void> {
  const r = await run(cmd, args, { timeoutMs: 30_000 }).catch((err: unknown) => ({
    code: -1,
    stdout: '',
    stderr: (err as Error).message,
  }));
  if (r.code !== 0) throw new Error(`${why}: \`${cmd} ${args.join(' ')}\` failed: ${r.stderr.trim()}`);
}

async function setupKind(project: TestProject): Promise<void> {
  await need(
    'docker',
    ['info', '--format', '{{.ServerVersion}}'],
    'E2E_CLUSTER=kind needs a running Docker engine',
  );
  await need('kind', ['version'], 'E2E_CLUSTER=kind needs the kind CLI on PATH');
  const name = process.env.E2E_KIND_CLUSTER ?? 'integration-operator-e2e';
  const cacheDir = path.join(repoRoot, '.cache');
  mkdirSync(cacheDir, { recursive: true });
  const kubeconfig = path.join(cacheDir, `kind-${name}.kubeconfig`);
  const long = { cwd: repoRoot, timeoutMs: 20 * 60_000 };
  const existing = (await runOk('kind', ['get', 'clusters'])).stdout.split('\n').map((s) => s.trim());
  // A cluster left over by an interrupted run: start clean.
  if (existing.includes(name)) await runOk('kind', ['delete', 'cluster', '--name', name], long);
  await runOk(
    'kind',
    ['create', 'cluster', '--name', name, '--kubeconfig', kubeconfig, '--wait', '180s'],
    long,
  );
  kindCluster = name;
  await runOk('docker', ['build', '-t', kindImages.operator, '.'], long);
  await runOk(
    'docker',
    ['build', '-f', 'examples/apparatus/Dockerfile', '-t', kindImages.apparatus, '.'],
    long,
  );
  await runOk(
    'kind',
    ['load', 'docker-image', kindImages.operator, kindImages.apparatus, '--name', name],
    long,
  );
  project.provide('kubeconfig', kubeconfig);
  project.provide('controlPlaneStateDir', undefined);
  project.provide('e2eImage', kindImages.operator);
}

export async function setup(project: TestProject): Promise<void> {
  const mode = clusterKind();
  project.provide('e2eCluster', mode);
  if (mode === 'kind') {
    try {
      await setupKind(project);
    } catch (err) {
      await teardown();
      throw err;
    }
    return;
  }
  if (mode === 'kubeconfig' && !process.env.KUBECONFIG) {
    throw new Error('E2E_CLUSTER=kubeconfig needs KUBECONFIG to name the cluster');
  }
  project.provide('e2eImage', process.env.E2E_IMAGE || undefined);
  await shared.setup(project);
}

export async function teardown(): Promise<void> {
  if (kindCluster) {
    const name = kindCluster;
    kindCluster = undefined;
    if (process.env.E2E_KEEP_CLUSTER === '1') {
      process.stderr.write(`E2E_KEEP_CLUSTER=1: kind cluster ${name} kept\n`);
      return;
    }
    await run('kind', ['delete', 'cluster', '--name', name], { timeoutMs: 5 * 60_000 });
    return;
  }
  await shared.teardown();
}
