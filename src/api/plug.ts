import { z } from 'zod';
import {
  ConditionSchema,
  CoupledObjectSchema,
  ObjectMetaSchema,
  sharedSpecFields,
  stringMap,
} from './common.ts';

export const PlugSpecSchema = z
  .object({
    socket: z
      .object({
        name: z.string().describe('Name of the Socket.'),
        namespace: z.string().optional().describe("Namespace of the Socket (default: the Plug's)."),
      })
      .optional()
      .describe('The Socket to couple to.'),
    ...sharedSpecFields,
  })
  .describe('What the consumer asks for: the socket to couple to and its side of the coupling.');
export type PlugSpec = z.infer<typeof PlugSpecSchema>;

/** The last lifecycle event performed on one side of a coupling, and the inputs it saw. */
export const SideRecordSchema = z.object({
  event: z.string().describe('coupled, updated or decoupled.'),
  hash: z.string().optional().describe('Hash of the inputs the event was performed with.'),
  at: z.string().optional().describe('When it was performed.'),
  skipped: z.boolean().optional().describe('True when the side could not run (e.g. its socket was gone).'),
});
export type SideRecord = z.infer<typeof SideRecordSchema>;

export const AppliedRefSchema = z.object({
  side: z.string().describe('plug or socket.'),
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  namespace: z.string().optional(),
  retain: z.boolean().optional().describe('Kept when the coupling ends.'),
});
export type AppliedRef = z.infer<typeof AppliedRefSchema>;

export const CouplingRecordSchema = z.object({
  socketUid: z.string().describe('UID of the socket of this coupling.'),
  socketName: z.string(),
  socketNamespace: z.string(),
  plug: SideRecordSchema.optional(),
  socket: SideRecordSchema.optional(),
  resultsHash: z.string().optional().describe('Inputs hash for which results and resultResources were done.'),
  resultValuesHash: z
    .string()
    .optional()
    .describe('Hash of the result values resultResources were applied with.'),
  sourcesHash: z
    .string()
    .optional()
    .describe('Hash of the inputs other than apparatus answers, when everything was last done for them.'),
  applied: z
    .array(AppliedRefSchema)
    .optional()
    .describe('Objects applied for this coupling, deleted on decoupling.'),
});
export type CouplingRecord = z.infer<typeof CouplingRecordSchema>;

export const PlugLifecycleSchema = z
  .object({
    created: z.string().optional().describe('When the created event was performed.'),
    deleted: z.string().optional().describe('When the deleted event was performed.'),
    coupling: CouplingRecordSchema.optional(),
    failingSince: z
      .string()
      .optional()
      .describe('When the decoupled/deleted steps started failing (cleanup gives up after a deadline).'),
  })
  .describe('The record of performed lifecycle events: what makes restarts repeat nothing.');
export type PlugLifecycle = z.infer<typeof PlugLifecycleSchema>;

/** The failing step of a coupling, and whose side it is on (a socket summarises its side's). */
export const FailureRecordSchema = z
  .object({
    side: z.string().describe('plug or socket: whose step failed (its resources, its apparatus, its spec).'),
    socketUid: z.string().optional().describe('UID of the socket whose side failed (socket side only).'),
    reason: z.string().describe('The reason of the failure, as on the Ready condition.'),
    message: z.string().describe('What failed (secret values left out).'),
  })
  .describe(
    "The last failure of a step whose side is known, kept while it is retried and removed once the coupling succeeds. The socket's Ready condition counts the plugs failing on its side (reason CouplingsFailing).",
  );
export type FailureRecord = z.infer<typeof FailureRecordSchema>;

export const PlugStatusSchema = z.object({
  conditions: z.array(ConditionSchema).optional().describe('Coupled and Ready, with reasons.'),
  failure: FailureRecordSchema.optional(),
  coupledSocket: CoupledObjectSchema.optional().describe('The socket this plug is coupled to.'),
  coupledResult: z
    .object({
      plug: stringMap('Plug result (values from Secrets left out).').optional(),
      socket: stringMap('Socket result (values from Secrets left out).').optional(),
      observedGeneration: z.number().int().optional(),
    })
    .optional()
    .describe('Results of the coupling.'),
  lifecycle: PlugLifecycleSchema.optional(),
});
export type PlugStatus = z.infer<typeof PlugStatusSchema>;

export const PlugSchema = z.object({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: ObjectMetaSchema,
  spec: PlugSpecSchema.optional(),
  status: PlugStatusSchema.optional(),
});
export type Plug = z.infer<typeof PlugSchema>;
