// CustomResourceDefinitions generated from the zod schemas (npm run generate writes config/crds;
// a unit test fails when the committed files drift from the schemas).
import { z } from 'zod';
import { group, version } from './common.ts';
import { DeferredResourceSpecSchema, DeferredResourceStatusSchema } from './deferred-resource.ts';
import { PlugSpecSchema, PlugStatusSchema } from './plug.ts';
import { SocketSpecSchema, SocketStatusSchema } from './socket.ts';

type JsonSchema = Record<string, unknown>;

/**
 * Turns zod's OpenAPI 3.0 output into a Kubernetes structural schema: drops keywords the API
 * server refuses or that add nothing (huge integer bounds, additionalProperties on free-form
 * objects), and gives free-form nodes x-kubernetes-preserve-unknown-fields.
 */
export function structural(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(structural);
  if (!node || typeof node !== 'object') return node;
  const src = node as JsonSchema;
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(src)) {
    if (k === '$schema' || k === 'propertyNames') continue;
    if (
      (k === 'maximum' && v === Number.MAX_SAFE_INTEGER) ||
      (k === 'minimum' && v === Number.MIN_SAFE_INTEGER)
    )
      continue;
    if (k === 'properties' && v && typeof v === 'object') {
      out.properties = Object.fromEntries(
        Object.entries(v as JsonSchema).map(([pk, pv]) => [pk, structural(pv)]),
      );
      continue;
    }
    out[k] = structural(v);
  }
  if (out['x-kubernetes-preserve-unknown-fields'] === true) {
    const ap = out.additionalProperties;
    if (ap && typeof ap === 'object' && Object.keys(ap).length === 0) delete out.additionalProperties;
    if (out.properties && out.additionalProperties !== undefined) delete out.additionalProperties;
  }
  // An unconstrained node ({} from z.unknown()) must say it keeps anything.
  if (Object.keys(out).filter((k) => k !== 'description').length === 0) {
    out['x-kubernetes-preserve-unknown-fields'] = true;
  }
  return out;
}

function toOpenApi(schema: z.ZodType): JsonSchema {
  return structural(
    z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' }),
  ) as JsonSchema;
}

interface CrdInput {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  printerColumns: Array<{
    name: string;
    type: string;
    jsonPath: string;
    description?: string;
    priority?: number;
  }>;
}

function crd(input: CrdInput): JsonSchema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${input.plural}.${group}`,
      annotations: { 'helm.sh/resource-policy': 'keep' },
    },
    spec: {
      group,
      names: {
        kind: input.kind,
        listKind: `${input.kind}List`,
        plural: input.plural,
        singular: input.singular,
        ...(input.shortNames.length ? { shortNames: input.shortNames } : {}),
      },
      scope: 'Namespaced',
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: input.printerColumns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: input.description,
              properties: {
                apiVersion: { type: 'string', description: 'APIVersion of this object.' },
                kind: { type: 'string', description: 'Kind of this object.' },
                metadata: { type: 'object' },
                spec: toOpenApi(input.spec),
                status: toOpenApi(input.status),
              },
            },
          },
        },
      ],
    },
  };
}

const age = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

export function plugCrd(): JsonSchema {
  return crd({
    kind: 'Plug',
    plural: 'plugs',
    singular: 'plug',
    shortNames: [],
    description: "A consumer's request to be coupled to a Socket (integration.rock8s.com).",
    spec: PlugSpecSchema,
    status: PlugStatusSchema,
    printerColumns: [
      {
        name: 'Socket',
        type: 'string',
        jsonPath: '.spec.socket.name',
        description: 'The socket it couples to.',
      },
      {
        name: 'Coupled',
        type: 'string',
        jsonPath: '.status.conditions[?(@.type=="Coupled")].status',
        description: 'Whether the plug is coupled.',
      },
      {
        name: 'Reason',
        type: 'string',
        jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
        description: 'Why it is (not) ready.',
      },
      age,
    ],
  });
}

export function socketCrd(): JsonSchema {
  return crd({
    kind: 'Socket',
    plural: 'sockets',
    singular: 'socket',
    shortNames: [],
    description: "A provider's offer that Plugs couple to (integration.rock8s.com).",
    spec: SocketSpecSchema,
    status: SocketStatusSchema,
    printerColumns: [
      { name: 'Plugs', type: 'integer', jsonPath: '.status.coupledPlugCount', description: 'Coupled plugs.' },
      {
        name: 'Ready',
        type: 'string',
        jsonPath: '.status.conditions[?(@.type=="Ready")].status',
        description: 'Whether the socket is ready.',
      },
      {
        name: 'Reason',
        type: 'string',
        jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
        description: 'Why it is (not) ready: CouplingsFailing when couplings fail on its side.',
      },
      age,
    ],
  });
}

export function deferredResourceCrd(): JsonSchema {
  return crd({
    kind: 'DeferredResource',
    plural: 'deferredresources',
    singular: 'deferredresource',
    // The Go CRD had no short name.
    shortNames: ['defres'],
    description:
      'Creates one object once others exist and a delay has passed, as a ServiceAccount (integration.rock8s.com).',
    spec: DeferredResourceSpecSchema,
    status: DeferredResourceStatusSchema,
    printerColumns: [
      {
        name: 'Resolved',
        type: 'string',
        jsonPath: '.status.conditions[?(@.type=="Resolved")].status',
        description: 'Whether the resource exists.',
      },
      {
        name: 'Reason',
        type: 'string',
        jsonPath: '.status.conditions[?(@.type=="Resolved")].reason',
        description: 'Pending, Success, Error or Forbidden.',
      },
      {
        name: 'Kind',
        type: 'string',
        jsonPath: '.spec.resource.kind',
        description: 'Kind of the resource.',
        priority: 1,
      },
      {
        name: 'Resource',
        type: 'string',
        jsonPath: '.spec.resource.metadata.name',
        description: 'Name of the resource.',
        priority: 1,
      },
      {
        name: 'Message',
        type: 'string',
        jsonPath: '.status.conditions[?(@.type=="Resolved")].message',
        description: 'What it waits for, or what failed.',
        priority: 1,
      },
      age,
    ],
  });
}

/** Every CRD of the API group, by file name. */
export function allCrds(): Record<string, JsonSchema> {
  return {
    [`${group}_plugs.yaml`]: plugCrd(),
    [`${group}_sockets.yaml`]: socketCrd(),
    [`${group}_deferredresources.yaml`]: deferredResourceCrd(),
  };
}
