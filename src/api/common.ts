// Schemas shared by Plug and Socket. These zod schemas are the single source of truth: the
// TypeScript types are inferred from them, objects are validated with them at the edge, and the
// CRDs in config/crds are generated from them (npm run generate).
//
// Structure is deliberately as lenient as the Go operator's CRD (strings where it had strings,
// free-form objects where it had free-form objects) so its manifests validate unchanged; values
// with a closed set of meanings (`when`, `do`) are checked by the controller, which reports a
// clear condition instead of the API server rejecting a manifest the Go operator accepted.
import { z } from 'zod';

export const group = 'integration.rock8s.com';
export const version = 'v1beta1';
export const apiVersion = `${group}/${version}`;
export const finalizer = `${group}/finalizer`;

/** Free-form JSON object kept as is by the API server (x-kubernetes-preserve-unknown-fields). */
export const freeObject = (description: string) =>
  z
    .record(z.string(), z.unknown())
    .meta({ 'x-kubernetes-preserve-unknown-fields': true })
    .describe(description);

export const stringMap = (description: string) => z.record(z.string(), z.string()).describe(description);

export const ObjectReferenceSchema = z
  .object({
    apiVersion: z
      .string()
      .optional()
      .describe('API version of the object, e.g. "apps/v1" (or give group and version).'),
    group: z
      .string()
      .optional()
      .describe('API group of the object ("" for the core group); used with version.'),
    version: z.string().optional().describe('API version (without group) of the object; used with group.'),
    kind: z.string().optional().describe('Kind of the object, e.g. "Deployment".'),
    name: z.string().optional().describe('Name of the object.'),
    namespace: z
      .string()
      .optional()
      .describe("Namespace of the object; must be the owner's namespace (the default)."),
    templateName: z
      .string()
      .optional()
      .describe('A template (rendered with plug and socket) that gives the name, instead of name.'),
    templateNamespace: z
      .string()
      .optional()
      .describe('A template (rendered with plug and socket) that gives the namespace, instead of namespace.'),
  })
  .describe('The object a var reads.');

export const VarSchema = z
  .object({
    name: z.string().describe('Name of the var, as seen by templates (vars.NAME) and the apparatus.'),
    objref: ObjectReferenceSchema.optional(),
    fieldref: z
      .object({
        fieldPath: z
          .string()
          .optional()
          .describe(
            'Path of the field (gjson syntax as in the Go operator): dotted names, numeric indexes, \\. for a dot in a key, # for an array length, #(key=="value") queries. Defaults to metadata.name.',
          ),
      })
      .optional()
      .describe('The field of the object to read.'),
  })
  .describe(
    'A value read from a field of another object (like kustomize vars), as the owner ServiceAccount.',
  );
export type Var = z.infer<typeof VarSchema>;

export const lifecycleEvents = ['created', 'coupled', 'updated', 'decoupled', 'deleted'] as const;
export type LifecycleEvent = (typeof lifecycleEvents)[number];
export const resourceActions = ['apply', 'delete', 'recreate'] as const;
export type ResourceActionKind = (typeof resourceActions)[number];

const resourceActionFields = {
  do: z
    .string()
    .optional()
    .describe(
      'apply (default: server-side apply), delete (background propagation, not-found ignored) or recreate (delete, wait until gone, create).',
    ),
  template: freeObject(
    'A resource template: every string value and key is a template rendered on its own and inserted as a value.',
  ).optional(),
  templates: z
    .array(freeObject('A resource template.'))
    .optional()
    .describe('Resource templates, as template.'),
  stringTemplate: z
    .string()
    .optional()
    .describe(
      'YAML rendered as text then parsed; every document is a resource; an empty result means no resource. Quote values from the other side (quote, toYaml, toJson).',
    ),
  stringTemplates: z.array(z.string()).optional().describe('Text templates, as stringTemplate.'),
};

export const ResourceActionSchema = z
  .object(resourceActionFields)
  .describe('Resources templated after coupling or update, with results available.');
export type ResourceAction = z.infer<typeof ResourceActionSchema>;

export const ResourceSchema = z
  .object({
    when: z
      .array(z.string())
      .optional()
      .describe('Lifecycle events that apply this resource: created, coupled, updated, decoupled, deleted.'),
    ...resourceActionFields,
    retainWhenDecoupled: z
      .boolean()
      .optional()
      .describe('Keep what this resource applied when the coupling ends (default: deleted on decoupling).'),
    preserveWhenDecoupled: z
      .boolean()
      .optional()
      .describe('Alias of retainWhenDecoupled (the Go README name).'),
  })
  .describe('Resource templates performed on lifecycle events.');
export type Resource = z.infer<typeof ResourceSchema>;

export const ApparatusSchema = z
  .object({
    endpoint: z
      .string()
      .optional()
      .describe(
        'Path on the managed apparatus Service (starting with /), or an absolute http(s) URL (no Pod is started; must match the operator allow-list).',
      ),
    idleTimeout: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('Seconds without calls after which the apparatus Pod is deleted (default 60).'),
    containers: z
      .array(freeObject('A core/v1 Container.'))
      .optional()
      .describe('Containers of the apparatus Pod, started on demand. Empty: no Pod.'),
  })
  .describe('A REST service called to compute config and on lifecycle events.');
export type Apparatus = z.infer<typeof ApparatusSchema>;

export const sharedSpecFields = {
  data: stringMap('Literal data (inputs to config templates and the apparatus; not validated).').optional(),
  dataConfigMapName: z.string().optional().describe("Data from this ConfigMap in the owner's namespace."),
  dataSecretName: z.string().optional().describe("Data from this Secret in the owner's namespace."),
  vars: z.array(VarSchema).optional().describe('Values for config templates and the apparatus /config call.'),
  resultVars: z
    .array(VarSchema)
    .optional()
    .describe('Values for result templates, read after coupling or update.'),
  config: stringMap('Literal config.').optional(),
  configConfigMapName: z.string().optional().describe("Config from this ConfigMap in the owner's namespace."),
  configSecretName: z.string().optional().describe("Config from this Secret in the owner's namespace."),
  configTemplate: stringMap('Config values rendered from templates.').optional(),
  result: stringMap('Literal result.').optional(),
  resultConfigMapName: z.string().optional().describe("Result from this ConfigMap in the owner's namespace."),
  resultSecretName: z.string().optional().describe("Result from this Secret in the owner's namespace."),
  resultTemplate: stringMap('Result values rendered from templates.').optional(),
  serviceAccountName: z
    .string()
    .optional()
    .describe('ServiceAccount everything is done as, on the owner behalf (default "default").'),
  apparatus: ApparatusSchema.optional(),
  resources: z.array(ResourceSchema).optional().describe('Resource templates per lifecycle event.'),
  resultResources: z
    .array(ResourceActionSchema)
    .optional()
    .describe('Resource templates applied after coupling or update, with results available.'),
  epoch: z.string().optional().describe('Changing it forces an updated event.'),
};

export const ConditionSchema = z.object({
  type: z.string().describe('Type of the condition (Coupled, Ready).'),
  status: z.string().describe('True, False or Unknown.'),
  reason: z.string().optional().describe('Machine-readable reason, CamelCase.'),
  message: z.string().optional().describe('Human-readable message.'),
  observedGeneration: z.number().int().optional().describe('The generation the condition was computed for.'),
  lastTransitionTime: z.string().optional().describe('When the status last changed.'),
});
export type Condition = z.infer<typeof ConditionSchema>;

export const CoupledObjectSchema = z.object({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  name: z.string().optional(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
});
export type CoupledObject = z.infer<typeof CoupledObjectSchema>;

export const ObjectMetaSchema = z
  .object({
    name: z.string().optional(),
    namespace: z.string().optional(),
    uid: z.string().optional(),
    resourceVersion: z.string().optional(),
    generation: z.number().optional(),
    creationTimestamp: z.string().optional(),
    deletionTimestamp: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    finalizers: z.array(z.string()).optional(),
  })
  .loose();
