import { describe, expect, it } from 'vitest';
import { deferredResourceCrd } from '../../../src/api/crd.ts';
import { DeferredResourceSchema } from '../../../src/api/deferred-resource.ts';

describe('DeferredResource schema', () => {
  it('accepts a manifest and a status written for the Go operator unchanged', () => {
    const dr = {
      apiVersion: 'integration.rock8s.com/v1beta1',
      kind: 'DeferredResource',
      metadata: { name: 'widget', namespace: 'app' },
      spec: {
        timeout: 30,
        serviceAccountName: 'deployer',
        waitFor: [
          {
            apiVersion: 'apiextensions.k8s.io/v1',
            kind: 'CustomResourceDefinition',
            name: 'widgets.example.com',
          },
          { group: '', version: 'v1', kind: 'Secret', name: 'generated' },
        ],
        resource: {
          apiVersion: 'example.com/v1',
          kind: 'Widget',
          metadata: { name: 'w' },
          spec: { size: 3 },
        },
      },
      status: {
        conditions: [
          {
            type: 'Resolved',
            status: 'True',
            reason: 'Success',
            message: 'success',
            observedGeneration: 1,
            lastTransitionTime: '2024-01-01T00:00:00Z',
          },
          {
            type: 'Failed',
            status: 'True',
            reason: 'Error',
            message: 'boom',
            lastTransitionTime: '2024-01-01T00:00:00Z',
          },
        ],
        ownerReferences: { apiVersion: 'example.com/v1', kind: 'Widget', name: 'w', uid: 'abc' },
      },
    };
    const r = DeferredResourceSchema.safeParse(dr);
    expect(r.success, JSON.stringify(!r.success && r.error.issues)).toBe(true);
    // The Go operator's own sample: an empty spec is admitted (and reported by the controller).
    expect(DeferredResourceSchema.safeParse({ metadata: { name: 's' }, spec: {} }).success).toBe(true);
  });

  it('has deletionPolicy Retain or Delete', () => {
    const base = { metadata: { name: 'x' }, spec: { resource: { kind: 'ConfigMap' } } };
    expect(
      DeferredResourceSchema.safeParse({ ...base, spec: { ...base.spec, deletionPolicy: 'Delete' } }).success,
    ).toBe(true);
    expect(
      DeferredResourceSchema.safeParse({ ...base, spec: { ...base.spec, deletionPolicy: 'Orphan' } }).success,
    ).toBe(false);
  });

  it('generates a CRD with the status subresource, a short name and the printer columns', () => {
    const crd = deferredResourceCrd() as {
      spec: {
        names: { shortNames?: string[] };
        versions: Array<{
          subresources: unknown;
          additionalPrinterColumns: Array<{ name: string; priority?: number }>;
          schema: {
            openAPIV3Schema: {
              properties: { spec: { properties: Record<string, { description?: string }> } };
            };
          };
        }>;
      };
    };
    const v = crd.spec.versions[0]!;
    expect(crd.spec.names.shortNames).toEqual(['defres']);
    expect(v.subresources).toEqual({ status: {} });
    expect(v.additionalPrinterColumns.filter((c) => !c.priority).map((c) => c.name)).toEqual([
      'Resolved',
      'Reason',
      'Age',
    ]);
    for (const [field, schema] of Object.entries(v.schema.openAPIV3Schema.properties.spec.properties))
      expect(schema.description, field).toBeTruthy();
  });
});
