// packages/apparatus-sdk/openapi.yaml and src/apparatus/protocol.ts describe the same protocol: same
// required fields and properties, and the same verdict (zod and ajv) on example bodies.
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import {
  ConfigRequestSchema,
  ConfigResponseSchema,
  CouplingEventBodySchema,
  ObjectEventBodySchema,
  PlugObjectEventBodySchema,
  SocketObjectEventBodySchema,
} from '../../../src/apparatus/protocol.ts';
import { plug, socket } from './servers.ts';

interface SchemaDoc {
  required?: string[];
  properties?: Record<string, { const?: unknown; not?: unknown }>;
}
interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, SchemaDoc> };
}

const doc = parse(
  readFileSync(new URL('../../../packages/apparatus-sdk/openapi.yaml', import.meta.url), 'utf8'),
) as OpenApiDoc;
const ajv = new Ajv2020({ strict: true, allErrors: true });
ajv.addVocabulary(['openapi', 'info', 'paths', 'components']);
ajv.addSchema(doc as object, 'apparatus');

function validator(name: string) {
  const validate = ajv.getSchema(`apparatus#/components/schemas/${name}`);
  if (!validate) throw new Error(`no schema ${name} in the OpenAPI document`);
  return validate;
}

const pairs: [string, z.ZodType][] = [
  ['ConfigRequest', ConfigRequestSchema],
  ['ConfigResponse', ConfigResponseSchema],
  ['PlugObjectEventBody', PlugObjectEventBodySchema],
  ['SocketObjectEventBody', SocketObjectEventBodySchema],
  ['ObjectEventBody', ObjectEventBodySchema],
  ['CouplingEventBody', CouplingEventBodySchema],
];

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 with every protocol path', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/config',
      '/coupled',
      '/created',
      '/decoupled',
      '/deleted',
      '/ping',
      '/updated',
    ]);
    expect(Object.keys(doc.paths['/ping'] ?? {})).toEqual(['get']);
  });

  it.each(pairs.filter(([name]) => name !== 'ObjectEventBody'))(
    '%s: same required fields, properties and version',
    (name, schema) => {
      const fromZod = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as SchemaDoc;
      const fromDoc = doc.components.schemas[name] ?? {};
      expect([...(fromDoc.required ?? [])].sort()).toEqual([...(fromZod.required ?? [])].sort());
      expect(Object.keys(fromDoc.properties ?? {}).sort()).toEqual(
        Object.keys(fromZod.properties ?? {}).sort(),
      );
      for (const [key, prop] of Object.entries(fromZod.properties ?? {})) {
        // "must be absent" (z.never().optional()) is `not: {}` on both sides.
        if ('not' in prop) expect(fromDoc.properties?.[key], key).toMatchObject({ not: {} });
      }
      expect(fromDoc.properties?.version?.const).toEqual(fromZod.properties?.version?.const);
    },
  );

  const examples: [string, z.ZodType, unknown, boolean][] = [
    [
      'ConfigRequest',
      ConfigRequestSchema,
      { version: 1, plug, socket, plugData: {}, socketData: { a: 'b' } },
      true,
    ],
    [
      'ConfigRequest',
      ConfigRequestSchema,
      { version: 1, plug, socket, plugData: {}, socketData: {}, vars: { v: 'x' } },
      true,
    ],
    [
      'ConfigRequest',
      ConfigRequestSchema,
      { version: '1', plug, socket, plugData: {}, socketData: {} },
      false,
    ],
    ['ConfigRequest', ConfigRequestSchema, { version: 1, plug, socket, plugData: {} }, false],
    [
      'ConfigRequest',
      ConfigRequestSchema,
      { version: 1, plug, socket, plugData: { a: 1 }, socketData: {} },
      false,
    ],
    [
      'ConfigRequest',
      ConfigRequestSchema,
      { version: 1, plug: 'x', socket, plugData: {}, socketData: {} },
      false,
    ],
    [
      'ConfigRequest',
      ConfigRequestSchema,
      { version: 1, plug, socket, plugData: {}, socketData: {}, vars: { v: 1 } },
      false,
    ],
    ['ConfigResponse', ConfigResponseSchema, { a: 'b', n: 1, t: true, o: { x: [1] }, z: null }, true],
    ['ConfigResponse', ConfigResponseSchema, ['a'], false],
    ['ConfigResponse', ConfigResponseSchema, 'a', false],
    ['ObjectEventBody', ObjectEventBodySchema, { version: '1', plug }, true],
    ['ObjectEventBody', ObjectEventBodySchema, { version: '1', socket }, true],
    ['ObjectEventBody', ObjectEventBodySchema, { version: '1', plug, socket }, false],
    ['ObjectEventBody', ObjectEventBodySchema, { version: '1' }, false],
    ['ObjectEventBody', ObjectEventBodySchema, { version: 1, plug }, false],
    [
      'CouplingEventBody',
      CouplingEventBodySchema,
      { version: '1', plug, socket, plugConfig: { a: 'b' }, socketConfig: { n: 5432 } },
      true,
    ],
    ['CouplingEventBody', CouplingEventBodySchema, { version: '1', plug, socket, plugConfig: {} }, false],
    [
      'CouplingEventBody',
      CouplingEventBodySchema,
      { version: 1, plug, socket, plugConfig: {}, socketConfig: {} },
      false,
    ],
    [
      'CouplingEventBody',
      CouplingEventBodySchema,
      { version: '1', plug: { metadata: { name: 5 } }, socket, plugConfig: {}, socketConfig: {} },
      false,
    ],
  ];

  it.each(
    examples.map(([name, schema, body, valid], i) => [`${name} #${i}`, name, schema, body, valid] as const),
  )('zod and ajv agree on example %s', (_label, name, schema, body, valid) => {
    const validate = validator(name);
    expect(schema.safeParse(body).success, 'zod').toBe(valid);
    expect(validate(body), `ajv: ${JSON.stringify(validate.errors)}`).toBe(valid);
  });
});
