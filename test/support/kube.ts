// Test helpers that talk to the cluster the suites run on (see global-setup.ts).
import { randomBytes } from 'node:crypto';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { inject } from 'vitest';

/** An admin KubeConfig for the cluster under test. */
export function testKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(inject('kubeconfig'));
  return kc;
}

export function randomName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/**
 * Creates a namespace with a random suffix and returns its name. The caller deletes it with the
 * returned `cleanup` (tests isolate themselves by namespace; deletion is not awaited).
 */
export async function createNamespace(
  kc: KubeConfig,
  prefix = 'test',
  labels: Record<string, string> = {},
): Promise<{ name: string; cleanup: () => Promise<void> }> {
  const core = kc.makeApiClient(CoreV1Api);
  const name = randomName(prefix);
  await core.createNamespace({
    body: { metadata: { name, labels: { 'integration-test': 'true', ...labels } } },
  });
  return {
    name,
    cleanup: async () => {
      await core.deleteNamespace({ name }).catch(() => undefined);
    },
  };
}

/** The HTTP status of a client-node ApiException, or undefined. */
export function statusOf(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'number'
    ? err.code
    : undefined;
}
