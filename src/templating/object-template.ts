// Object templates (`template`, `templates[]`, `configTemplate`): every string leaf AND every key is a template
// rendered on its own and inserted as a VALUE, so a rendered value containing quotes, newlines or `: ` can never
// change the object's structure (the Go operator rendered the object as JSON text, and a config value with a
// quote broke or injected fields). All strings of one object are rendered in ONE sandbox round trip.
//
// A rendered leaf is always a string: `replicas: "{%= it.replicas %}"` gives "3", not 3 (no guessing of types;
// write numbers literally, or use a stringTemplate when a number must come from data).

import { analyzeTemplate, etaBraceBalance, unbalancedGoBlock } from './dialect.ts';
import { TemplateError } from './errors.ts';
import type { RenderOptions, TemplateRenderer } from './renderer.ts';

export const MAX_OBJECT_DEPTH = 100;
export const MAX_OBJECT_STRINGS = 10_000;

type Shape =
  | { readonly t: 'string'; readonly slot: number }
  | { readonly t: 'literal'; readonly value: number | boolean | null }
  | { readonly t: 'array'; readonly items: readonly Shape[] }
  | { readonly t: 'object'; readonly entries: readonly { readonly key: number; readonly value: Shape }[] };

interface StringSlot {
  readonly src: string;
  /** Where the string is, for messages: `.spec.containers[0].image`, or `key .metadata.labels["x"]`. */
  readonly where: string;
  readonly isKey: boolean;
}

const IDENTIFIER = /^[A-Za-z_$][\w$-]*$/;

function childPath(path: string, key: string): string {
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function collect(
  node: unknown,
  path: string,
  depth: number,
  slots: StringSlot[],
  templateName: string | undefined,
): Shape {
  const invalid = (message: string) =>
    new TemplateError('TemplateInputInvalid', message, { templateName, path: path || '.' });
  if (depth > MAX_OBJECT_DEPTH)
    throw invalid(`the object template is nested deeper than ${MAX_OBJECT_DEPTH} levels`);
  const addString = (src: string, where: string, isKey: boolean): number => {
    if (slots.length >= MAX_OBJECT_STRINGS) {
      throw invalid(`the object template has more than ${MAX_OBJECT_STRINGS} strings`);
    }
    slots.push({ src, where, isKey });
    return slots.length - 1;
  };
  if (typeof node === 'string') return { t: 'string', slot: addString(node, path || '.', false) };
  if (node === null || typeof node === 'number' || typeof node === 'boolean')
    return { t: 'literal', value: node };
  if (Array.isArray(node)) {
    return {
      t: 'array',
      items: node.map((item, i) => collect(item, `${path}[${i}]`, depth + 1, slots, templateName)),
    };
  }
  if (typeof node === 'object') {
    if (!isPlainObject(node)) throw invalid('the object template contains a value that is not JSON data');
    const entries = Object.keys(node).map((key) => {
      const p = childPath(path, key);
      return {
        key: addString(key, `key ${p}`, true),
        value: collect((node as Record<string, unknown>)[key], p, depth + 1, slots, templateName),
      };
    });
    return { t: 'object', entries };
  }
  throw invalid(`the object template contains a ${typeof node}, which is not JSON data`);
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Why a string of an object template failed to parse, when the reason is an action spanning strings. */
export function spanningHint(src: string): string | undefined {
  const analysis = analyzeTemplate(src);
  if (analysis.mixed) return undefined;
  if (analysis.dialect === 'go') {
    const unbalanced = unbalancedGoBlock(analysis);
    if (unbalanced) return `line ${unbalanced.tag.line}: ${unbalanced.problem}`;
  } else if (analysis.dialect === 'eta' && etaBraceBalance(analysis) !== 0) {
    return 'its code tags open and close a different number of `{` `}` blocks';
  }
  return undefined;
}

export const SPANNING =
  'each string of an object template is rendered on its own, so an action cannot span two strings ' +
  '(e.g. `{% if %}` in one value and `{% end %}` in another): write this resource as a `stringTemplate`';

function build(
  shape: Shape,
  rendered: readonly string[],
  slots: readonly StringSlot[],
  name: string | undefined,
): unknown {
  switch (shape.t) {
    case 'string':
      return rendered[shape.slot];
    case 'literal':
      return shape.value;
    case 'array':
      return shape.items.map((s) => build(s, rendered, slots, name));
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const e of shape.entries) {
        const key = rendered[e.key] as string;
        if (Object.hasOwn(out, key)) {
          const where = (slots[e.key] as StringSlot).where;
          throw new TemplateError(
            'TemplateOutputInvalid',
            `at ${where}: two keys render to ${JSON.stringify(key)}`,
            {
              templateName: name,
              path: where,
            },
          );
        }
        // defineProperty, not assignment: a key rendering to "__proto__" stays an ordinary own property.
        Object.defineProperty(out, key, {
          value: build(e.value, rendered, slots, name),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
  }
}

export interface ObjectTemplateResult {
  value: unknown;
  /** Warnings of the strings, each followed by where the string is (`missing key .a.b (at .spec.x)`). */
  warnings: string[];
}

/**
 * Renders every string leaf and key of `template` (JSON data: objects, arrays, strings, numbers, booleans, null)
 * and returns a new value of the same shape. The first failing string fails the whole object, with its path.
 */
export async function renderObjectTemplate(
  r: TemplateRenderer,
  template: unknown,
  data: unknown,
  opts: RenderOptions = {},
): Promise<ObjectTemplateResult> {
  const name = opts.name;
  const slots: StringSlot[] = [];
  const shape = collect(template, '', 0, slots, name);
  // Go actions spanning strings are an error whatever the engine; say so before any rendering.
  for (const slot of slots) {
    if (!slot.src.includes('{%')) continue;
    const analysis = analyzeTemplate(slot.src);
    if (analysis.dialect !== 'go' || analysis.mixed) continue;
    const unbalanced = unbalancedGoBlock(analysis);
    if (unbalanced) {
      throw new TemplateError(
        'TemplateSyntax',
        `at ${slot.where}: line ${unbalanced.tag.line}: ${unbalanced.problem}; ${SPANNING}`,
        {
          templateName: name,
          path: slot.where,
        },
      );
    }
  }
  const items = await r.renderBatch(
    slots.map((s) => s.src),
    data,
    opts,
  );
  const rendered: string[] = [];
  const warnings: string[] = [];
  const failures: { slot: StringSlot; error: TemplateError }[] = [];
  items.forEach((item, i) => {
    const slot = slots[i] as StringSlot;
    if (!item.ok) {
      failures.push({ slot, error: item.error });
      rendered.push('');
      return;
    }
    rendered.push(item.output);
    for (const w of item.warnings) {
      const text = `${w} (at ${slot.where})`;
      if (!warnings.includes(text)) warnings.push(text);
    }
  });
  const first = failures[0];
  if (first) {
    let message = `at ${first.slot.where}: ${first.error.message}`;
    if (first.error.code === 'TemplateSyntax') {
      const hint = spanningHint(first.slot.src);
      if (hint) message += `; ${hint}; ${SPANNING}`;
    }
    if (failures.length > 1) message += ` (and ${failures.length - 1} more failing strings)`;
    throw new TemplateError(first.error.code, message, {
      templateName: name,
      path: first.slot.where,
      cause: first.error,
    });
  }
  return { value: build(shape, rendered, slots, name), warnings };
}

/**
 * Config templates (`configTemplate: {KEY: template}`): the object renderer over a flat map. Values that are
 * not strings become their JSON text (`5432`, `true`), null becomes "", as config values are strings.
 */
export async function renderConfigTemplate(
  r: TemplateRenderer,
  configTemplate: Readonly<Record<string, unknown>>,
  data: unknown,
  opts: RenderOptions = {},
): Promise<{ values: Record<string, string>; warnings: string[] }> {
  const { value, warnings } = await renderObjectTemplate(r, configTemplate, data, opts);
  const values: Record<string, string> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    Object.defineProperty(values, key, {
      value: typeof v === 'string' ? v : v === null ? '' : JSON.stringify(v),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return { values, warnings };
}
