import { z } from 'zod';
import { ConditionSchema, CoupledObjectSchema, ObjectMetaSchema, sharedSpecFields } from './common.ts';

export const PropertySchema = z
  .object({
    required: z.boolean().optional().describe('The key must be present and not empty.'),
    default: z
      .unknown()
      .meta({ 'x-kubernetes-preserve-unknown-fields': true })
      .optional()
      .describe('Value used when the key is missing.'),
    description: z.string().optional(),
  })
  .loose()
  .meta({ 'x-kubernetes-preserve-unknown-fields': true })
  .describe(
    'A key of the interface; JSON Schema keywords (type, enum, pattern, format, minLength...) are accepted too.',
  );
export type Property = z.infer<typeof PropertySchema>;

const propertyMap = (d: string) => z.record(z.string(), PropertySchema).describe(d);
const sides = (d: string) =>
  z
    .object({
      plug: propertyMap('Keys the plug side provides.').optional(),
      socket: propertyMap('Keys the socket side provides.').optional(),
    })
    .describe(d);

export const InterfaceSchema = z
  .object({
    config: sides('The config each side must provide.').optional(),
    result: sides('The result each side must provide.').optional(),
  })
  .describe('The schema both sides of a coupling are validated against.');
export type Interface = z.infer<typeof InterfaceSchema>;

export const LabelSelectorSchema = z
  .object({
    matchLabels: z.record(z.string(), z.string()).optional(),
    matchExpressions: z
      .array(
        z.object({
          key: z.string(),
          operator: z.string().describe('In, NotIn, Exists or DoesNotExist.'),
          values: z.array(z.string()).optional(),
        }),
      )
      .optional(),
  })
  .describe('A label selector.');
export type LabelSelector = z.infer<typeof LabelSelectorSchema>;

export const SocketSpecSchema = z
  .object({
    interface: InterfaceSchema.optional(),
    limit: z.number().int().min(0).optional().describe('Most plugs coupled at once (0: no limit).'),
    validation: z
      .object({
        namespaceWhitelist: z
          .array(z.string())
          .optional()
          .describe("Regular expressions; a plug's namespace must fully match one."),
        namespaceBlacklist: z
          .array(z.string())
          .optional()
          .describe("Regular expressions; a plug's namespace must fully match none."),
        namespaceSelector: LabelSelectorSchema.optional().describe("Labels the plug's Namespace must have."),
      })
      .optional()
      .describe('Which plugs may couple.'),
    ...sharedSpecFields,
  })
  .describe('What the provider offers: the interface and its side of every coupling.');
export type SocketSpec = z.infer<typeof SocketSpecSchema>;

export const SocketStatusSchema = z.object({
  conditions: z.array(ConditionSchema).optional().describe('Ready, with a reason.'),
  coupledPlugs: z
    .array(CoupledObjectSchema)
    .optional()
    .describe('Coupled plugs, the first 100 by namespace and name (see coupledPlugCount).'),
  coupledPlugCount: z.number().int().optional().describe('How many plugs are coupled.'),
  waitingPlugs: z
    .record(z.string(), z.number().int())
    .optional()
    .describe('Plugs pointing at this socket but not coupled, counted by reason.'),
  observedGeneration: z.number().int().optional(),
  lifecycle: z
    .object({
      created: z.string().optional().describe('When the created event was performed.'),
      deleted: z.string().optional().describe('When the deleted event was performed.'),
    })
    .optional(),
});
export type SocketStatus = z.infer<typeof SocketStatusSchema>;

export const SocketSchema = z.object({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: ObjectMetaSchema,
  spec: SocketSpecSchema.optional(),
  status: SocketStatusSchema.optional(),
});
export type Socket = z.infer<typeof SocketSchema>;
