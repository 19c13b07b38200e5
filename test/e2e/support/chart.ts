// The Helm chart as the e2e suite sees it: rendered with `helm template`, then taken apart (its
// RBAC, its Deployment's environment) so the operator can be started exactly as the chart starts it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import type { KubeObject } from '../../../src/kube/types.ts';
import { repoRoot } from '../../support/operator.ts';
import { helmBin, runOk } from './commands.ts';

export const chartDir = path.join(repoRoot, 'charts', 'integration-operator');

export interface ChartRender {
  release: string;
  namespace: string;
  /** Values, as a values file would hold them (merged over values.yaml). */
  values?: Record<string, unknown>;
}

/** Runs `fn` with the values written to a temporary values file. */
export async function withValuesFile<T>(
  values: Record<string, unknown>,
  fn: (file: string) => Promise<T>,
): Promise<T> {
  const dir = mkdtempSync(path.join(tmpdir(), 'io-values-'));
  const file = path.join(dir, 'values.yaml');
  writeFileSync(file, stringify(values));
  try {
    return await fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `helm template` output (YAML text). */
export async function helmTemplate(r: ChartRender): Promise<string> {
  return withValuesFile(r.values ?? {}, async (file) => {
    const out = await runOk(helmBin(), [
      'template',
      r.release,
      chartDir,
      '--namespace',
      r.namespace,
      '-f',
      file,
    ]);
    return out.stdout;
  });
}

export function parseManifests(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as unknown)
    .filter((o): o is KubeObject => typeof o === 'object' && o !== null && 'kind' in o);
}

/** config/samples, and the namespaces its 00-namespaces.yaml creates (the e2e and node suites apply them). */
export const samplesDir = path.join(repoRoot, 'config', 'samples');
export const sampleNamespaces = parseManifests(
  readFileSync(path.join(samplesDir, '00-namespaces.yaml'), 'utf8'),
).map((n) => n.metadata.name ?? '');

export async function renderChart(r: ChartRender): Promise<KubeObject[]> {
  return parseManifests(await helmTemplate(r));
}

export function ofKind(objs: KubeObject[], kind: string): KubeObject[] {
  return objs.filter((o) => o.kind === kind);
}

export function only(objs: KubeObject[], kind: string): KubeObject {
  const found = ofKind(objs, kind);
  if (found.length !== 1) throw new Error(`expected one ${kind} in the chart, found ${found.length}`);
  return found[0]!;
}

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
  verbs: string[];
}

/** Every rule of every Role and ClusterRole, with where it comes from. */
export function rbacRules(objs: KubeObject[]): Array<{ from: string; rule: PolicyRule }> {
  return objs
    .filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole')
    .flatMap((o) =>
      ((o.rules as PolicyRule[] | undefined) ?? []).map((rule) => ({
        from: `${o.kind} ${o.metadata.name}`,
        rule,
      })),
    );
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath?: string } };
}

export function operatorContainer(objs: KubeObject[]): {
  image: string;
  env: EnvVar[];
  ports: Array<{ name: string; containerPort: number }>;
} {
  const dep = only(objs, 'Deployment') as KubeObject & {
    spec: { template: { spec: { containers: Array<Record<string, unknown>> } } };
  };
  const c = dep.spec.template.spec.containers.find((x) => x.name === 'operator');
  if (!c) throw new Error('the chart Deployment has no container named operator');
  return c as never;
}

/**
 * The environment the chart gives the operator container, as a process environment: literal
 * values as they are, the downward API's metadata.namespace as the release namespace. Anything
 * else (a Secret reference, say) fails: the suite would not start the operator as the chart does.
 */
export function chartEnvironment(objs: KubeObject[], podNamespace: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of operatorContainer(objs).env) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = podNamespace;
    else
      throw new Error(`chart env ${e.name}: cannot reproduce ${JSON.stringify(e.valueFrom)} outside a Pod`);
  }
  return env;
}
