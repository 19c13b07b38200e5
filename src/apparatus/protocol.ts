// The apparatus wire protocol (SPEC "Apparatus"), shared by the operator's client and the SDK.
// Existing apparatus services written for the Go operator rely on these exact shapes:
// `version` is the NUMBER 1 in /config and the STRING "1" in event bodies, `vars` is present only
// when the owner declares vars, and events carry the own object (created/deleted) or both objects
// with both configs (coupled/updated/decoupled).
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ApparatusError, redactUrl } from './errors.ts';

/** The lifecycle events, each a `POST /<event>` on the apparatus. */
export const LIFECYCLE_EVENTS = ['created', 'coupled', 'updated', 'decoupled', 'deleted'] as const;
export type LifecycleEvent = (typeof LIFECYCLE_EVENTS)[number];
export const OBJECT_EVENTS = ['created', 'deleted'] as const;
export type ObjectEvent = (typeof OBJECT_EVENTS)[number];
export const COUPLING_EVENTS = ['coupled', 'updated', 'decoupled'] as const;
export type CouplingEvent = (typeof COUPLING_EVENTS)[number];

export function isLifecycleEvent(value: string): value is LifecycleEvent {
  return (LIFECYCLE_EVENTS as readonly string[]).includes(value);
}

export function isObjectEvent(event: LifecycleEvent): event is ObjectEvent {
  return event === 'created' || event === 'deleted';
}

/**
 * A Kubernetes object, passed through as it is (unknown fields kept). The other side's object
 * arrives WITHOUT `status` (the caller strips it, see `withoutStatus`): a plug's apparatus must not
 * see the socket's list of other tenants' plugs.
 */
export const KubeObjectSchema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: z
    .looseObject({
      name: z.string().optional(),
      namespace: z.string().optional(),
      uid: z.string().optional(),
    })
    .optional(),
});
export type KubeObject = z.infer<typeof KubeObjectSchema>;

/** data and vars: string to string. */
export const StringMapSchema = z.record(z.string(), z.string());
export type StringMap = z.infer<typeof StringMapSchema>;

/** A JSON value. */
export const JsonValueSchema = z.json();
export type JsonValue = z.infer<typeof JsonValueSchema>;

/**
 * A side's validated config as sent in coupling events: strings, unless the socket's interface
 * declares another JSON Schema type for a key.
 */
export const ConfigValuesSchema = z.record(z.string(), JsonValueSchema);
export type ConfigValues = z.infer<typeof ConfigValuesSchema>;

/** `POST /config` request body. `version` is the number 1. */
export const ConfigRequestSchema = z.object({
  version: z.literal(1),
  plug: KubeObjectSchema,
  socket: KubeObjectSchema,
  plugData: StringMapSchema,
  socketData: StringMapSchema,
  /** Present only when the owner (the side whose apparatus is called) declares `vars`. */
  vars: StringMapSchema.optional(),
});
export type ConfigRequest = z.infer<typeof ConfigRequestSchema>;

/** `POST /config` response body: a JSON object; its values become config strings. */
export const ConfigResponseSchema = z.record(z.string(), JsonValueSchema);
export type ConfigResponse = z.infer<typeof ConfigResponseSchema>;

const EventVersionSchema = z.literal('1');

/** `POST /created` and `POST /deleted` of a Plug: `{version: "1", plug}`. */
export const PlugObjectEventBodySchema = z.object({
  version: EventVersionSchema,
  plug: KubeObjectSchema,
  socket: z.never().optional(),
});
/** `POST /created` and `POST /deleted` of a Socket: `{version: "1", socket}`. */
export const SocketObjectEventBodySchema = z.object({
  version: EventVersionSchema,
  socket: KubeObjectSchema,
  plug: z.never().optional(),
});
/** `POST /created`, `POST /deleted`: the own object only (there is no coupling). */
export const ObjectEventBodySchema = z.union([PlugObjectEventBodySchema, SocketObjectEventBodySchema]);
export type ObjectEventBody = z.infer<typeof ObjectEventBodySchema>;

/** `POST /coupled`, `/updated`, `/decoupled`. `version` is the string "1". */
export const CouplingEventBodySchema = z.object({
  version: EventVersionSchema,
  plug: KubeObjectSchema,
  socket: KubeObjectSchema,
  plugConfig: ConfigValuesSchema,
  socketConfig: ConfigValuesSchema,
});
export type CouplingEventBody = z.infer<typeof CouplingEventBodySchema>;

export type EventBody<E extends LifecycleEvent> = E extends ObjectEvent ? ObjectEventBody : CouplingEventBody;

export const EVENT_BODY_SCHEMAS = {
  created: ObjectEventBodySchema,
  deleted: ObjectEventBodySchema,
  coupled: CouplingEventBodySchema,
  updated: CouplingEventBodySchema,
  decoupled: CouplingEventBodySchema,
} as const satisfies Record<LifecycleEvent, z.ZodType>;

/** Which side an apparatus belongs to: its owner's kind. */
export type OwnerKind = 'Plug' | 'Socket';

/** A shallow copy of a Kubernetes object without its `status`. */
export function withoutStatus(object: KubeObject): KubeObject {
  const { status: _status, ...rest } = object;
  return rest;
}

export interface ConfigRequestInput {
  /** Whose apparatus is called; the OTHER side's object is sent without its status. */
  side: OwnerKind;
  plug: KubeObject;
  socket: KubeObject;
  plugData: StringMap;
  socketData: StringMap;
  /** The owner's resolved vars; leave undefined when the owner declares no `vars` (key omitted). */
  vars?: StringMap | undefined;
}

/** Builds a `/config` body with the wire details the Go operator's apparatus services rely on. */
export function configRequestBody(input: ConfigRequestInput): ConfigRequest {
  const body: ConfigRequest = {
    version: 1,
    plug: input.side === 'Plug' ? input.plug : withoutStatus(input.plug),
    socket: input.side === 'Socket' ? input.socket : withoutStatus(input.socket),
    plugData: input.plugData,
    socketData: input.socketData,
  };
  if (input.vars !== undefined) body.vars = input.vars;
  return body;
}

/** Builds a `/created` or `/deleted` body: the own object, complete. */
export function objectEventBody(kind: OwnerKind, object: KubeObject): ObjectEventBody {
  return kind === 'Plug' ? { version: '1', plug: object } : { version: '1', socket: object };
}

export interface CouplingEventInput {
  side: OwnerKind;
  plug: KubeObject;
  socket: KubeObject;
  plugConfig: ConfigValues;
  socketConfig: ConfigValues;
}

/** Builds a `/coupled`, `/updated` or `/decoupled` body; the other side's object loses its status. */
export function couplingEventBody(input: CouplingEventInput): CouplingEventBody {
  return {
    version: '1',
    plug: input.side === 'Plug' ? input.plug : withoutStatus(input.plug),
    socket: input.side === 'Socket' ? input.socket : withoutStatus(input.socket),
    plugConfig: input.plugConfig,
    socketConfig: input.socketConfig,
  };
}

// JSON.rawJSON / JSON.isRawJSON (JSON.parse source text access) are in Node >= 21 but not in the
// TypeScript es2024 lib: typed here, feature-detected at run time.
interface RawJson {
  readonly rawJSON: string;
}
interface JsonWithSource {
  rawJSON?: (text: string) => RawJson;
  isRawJSON?: (value: unknown) => value is RawJson;
}
const jsonWithSource = JSON as unknown as JsonWithSource;

function isRawJson(value: unknown): value is RawJson {
  return jsonWithSource.isRawJSON?.(value) ?? false;
}

const INTEGER_TEXT = /^-?\d+$/;

/**
 * JSON.parse, except that integer literals beyond 2^53 keep their digits (as raw JSON) instead of
 * being rounded: `12345678901234567890` stays that, not `12345678901234567000`.
 */
export function parseJsonKeepingIntegers(text: string): unknown {
  const rawJSON = jsonWithSource.rawJSON;
  if (!rawJSON) return JSON.parse(text);
  return JSON.parse(
    text,
    function reviver(this: unknown, _key: string, value: unknown, context?: { source?: string }) {
      if (
        typeof value === 'number' &&
        !Number.isSafeInteger(value) &&
        context?.source &&
        INTEGER_TEXT.test(context.source)
      ) {
        return rawJSON(context.source);
      }
      return value;
    },
  );
}

/**
 * Turns a `/config` answer into config strings:
 * - strings are taken as they are;
 * - numbers and booleans become their JSON text: `1000000` (never Go's `1e+06`), `0.5`, `true`;
 *   integer literals keep every digit when parsed with `parseJsonKeepingIntegers`;
 * - objects and arrays become their JSON text (`{"a":1}`, `[1,2]`);
 * - `null` means "no value": the key is dropped, so an interface default fills it or a required
 *   check reports it missing, exactly as if the apparatus had not returned the key.
 * Anything but a JSON object (array, string, number, null) is a `BadResponse` naming the URL.
 */
export function configValuesFromResponse(json: unknown, url: string): Record<string, string> {
  if (json === null || typeof json !== 'object' || Array.isArray(json) || isRawJson(json)) {
    const what = json === null ? 'null' : Array.isArray(json) ? 'an array' : `a ${typeof json}`;
    throw new ApparatusError(
      'BadResponse',
      `apparatus POST ${redactUrl(url)} answered ${what}; /config must answer a JSON object`,
      { url: redactUrl(url) },
    );
  }
  const entries: [string, string][] = [];
  for (const [key, value] of Object.entries(json)) {
    const text = configValueText(value);
    if (text !== undefined) entries.push([key, text]);
  }
  // fromEntries defines own properties, so a "__proto__" key stays a plain key.
  return Object.fromEntries(entries);
}

function configValueText(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (isRawJson(value)) return value.rawJSON;
  return JSON.stringify(value);
}

/** Parses a `/config` response body (text) and converts it with `configValuesFromResponse`. */
export function parseConfigResponse(text: string, url: string): Record<string, string> {
  let json: unknown;
  try {
    json = parseJsonKeepingIntegers(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    const what = text.trim() === '' ? 'an empty body' : 'a body that is not JSON';
    throw new ApparatusError(
      'BadResponse',
      `apparatus POST ${redactUrl(url)} answered ${what}; /config must answer a JSON object`,
      { url: redactUrl(url), cause: err },
    );
  }
  return configValuesFromResponse(json, url);
}

export interface IdempotencyKeyInput {
  /** UID of the owner whose apparatus is called (the Plug's or the Socket's). */
  ownerUid: string;
  /** The coupling, e.g. `${plugUid}/${socketUid}`; omit for created/deleted (no coupling). */
  coupling?: string | undefined;
  event: LifecycleEvent;
  /** The owner's `metadata.generation` the event is performed for. */
  generation: number | string;
  /**
   * Hash of the inputs the event is performed with (data, vars, configs, epoch). `updated` fires
   * for changed ConfigMaps/Secrets/vars without a generation change: without this, two different
   * `updated` events of one generation would share a key and an apparatus would drop the second.
   */
  inputsHash?: string | undefined;
}

/**
 * The `Idempotency-Key` header of an event call: the SHA-256 (64 lowercase hex characters) of
 * (ownerUid, coupling, event, generation, inputsHash), so the same event of the same coupling at
 * the same generation (and inputs) always gets the same key, across retries and operator restarts,
 * and anything else gets a different one.
 */
export function idempotencyKey(input: IdempotencyKeyInput): string {
  const parts = [
    'integration.rock8s.com/apparatus/v1',
    input.ownerUid,
    input.coupling ?? '',
    input.event,
    String(input.generation),
  ];
  if (input.inputsHash !== undefined) parts.push(input.inputsHash);
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}
