// DeferredResource: create one object once others exist (SPEC.md "DeferredResource"). As with Plug
// and Socket, the structure is as lenient as the Go operator's CRD so its manifests validate
// unchanged (including `status.ownerReferences` as a single object, the Go name for a reference to
// the created object); what the API server cannot check (a waitFor without kind, a resource without
// a name) the controller reports as a Resolved=False/Error condition.
import { z } from 'zod';
import { ConditionSchema, freeObject, ObjectMetaSchema } from './common.ts';

export const WaitForTargetSchema = z
  .object({
    apiVersion: z
      .string()
      .optional()
      .describe(
        'API version of the object, e.g. "v1" or "apiextensions.k8s.io/v1" (or give group and version).',
      ),
    group: z
      .string()
      .optional()
      .describe('API group of the object ("" for the core group); used with version.'),
    version: z.string().optional().describe('API version (without group) of the object; used with group.'),
    kind: z.string().optional().describe('Kind of the object, e.g. "CustomResourceDefinition". Required.'),
    name: z
      .string()
      .optional()
      .describe(
        "Name of the object: a namespaced object is looked up in the DeferredResource's namespace, a cluster-scoped one (e.g. a CustomResourceDefinition) by name. Without a name, waits until the API server serves the kind.",
      ),
  })
  .describe(
    'An object that must exist before the resource is created, read as the ServiceAccount (which needs get on it).',
  );
export type WaitForTarget = z.infer<typeof WaitForTargetSchema>;

export const deletionPolicies = ['Retain', 'Delete'] as const;
export type DeletionPolicy = (typeof deletionPolicies)[number];

export const DeferredResourceSpecSchema = z
  .object({
    timeout: z
      .number()
      .int()
      .optional()
      .describe(
        'Seconds after the DeferredResource was created before the resource may be created: a minimum delay, not a deadline (the Go operator name is kept). 0 or unset: no delay.',
      ),
    waitFor: z
      .array(WaitForTargetSchema)
      .optional()
      .describe('Objects (or kinds) that must all exist before the resource is created.'),
    resource: freeObject(
      "The object to create, with apiVersion, kind and metadata.name. A namespaced object is created in the DeferredResource's namespace (whatever namespace it names); a cluster-scoped one only when the operator allows cluster-scoped resources. An object that already exists is left unchanged.",
    ).optional(),
    serviceAccountName: z
      .string()
      .optional()
      .describe(
        'ServiceAccount of this namespace that reads the waitFor objects and creates (and, with deletionPolicy Delete, deletes) the resource (default "default").',
      ),
    deletionPolicy: z
      .enum(deletionPolicies)
      .optional()
      .describe(
        'What happens to the resource when the DeferredResource is deleted: Retain (default, as the Go operator) keeps it; Delete deletes the object this DeferredResource created, as the ServiceAccount (a finalizer waits for it).',
      ),
  })
  .describe('What to create, and what must exist (and how long to wait) first.');
export type DeferredResourceSpec = z.infer<typeof DeferredResourceSpecSchema>;

export const ResourceReferenceSchema = z
  .object({
    apiVersion: z.string().optional().describe('API version of the object.'),
    kind: z.string().optional().describe('Kind of the object.'),
    name: z.string().optional().describe('Name of the object.'),
    uid: z.string().optional().describe('UID of the object.'),
    controller: z.boolean().optional().describe('Unused (kept for the Go operator shape).'),
    blockOwnerDeletion: z.boolean().optional().describe('Unused (kept for the Go operator shape).'),
  })
  .describe(
    "The object the resource resolved to (created, or found existing), in the DeferredResource's namespace unless cluster-scoped. A single object, named ownerReferences as in the Go operator.",
  );
export type ResourceReference = z.infer<typeof ResourceReferenceSchema>;

export const DeferredResourceStatusSchema = z
  .object({
    conditions: z
      .array(
        ConditionSchema.extend({
          type: z
            .string()
            .describe('Type of the condition: Resolved (others, e.g. the Go operator Failed, are dropped).'),
        }),
      )
      .optional()
      .describe(
        'Resolved: True (reason Success) once the resource exists; False with Pending, Error or Forbidden.',
      ),
    ownerReferences: ResourceReferenceSchema.optional(),
  })
  .describe('Whether the resource was created, and which object it is.');
export type DeferredResourceStatus = z.infer<typeof DeferredResourceStatusSchema>;

export const DeferredResourceSchema = z.object({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: ObjectMetaSchema,
  spec: DeferredResourceSpecSchema.optional(),
  status: DeferredResourceStatusSchema.optional(),
});
export type DeferredResource = z.infer<typeof DeferredResourceSchema>;

/** Annotation put on a created resource: the UID of the DeferredResource that created it. */
export const createdByAnnotation = 'integration.rock8s.com/deferred-resource-uid';
