// The API reference (docs/api-reference.md), generated from the same schemas as the CRDs: every
// field with its type and description, so the documentation cannot drift from the API.
import { allCrds } from './crd.ts';

type Node = {
  type?: string;
  description?: string;
  properties?: Record<string, Node>;
  items?: Node;
  additionalProperties?: Node | boolean;
  required?: string[];
  enum?: unknown[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
};

function typeOf(n: Node): string {
  if (n.enum) return n.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (n.type === 'array') return `[]${n.items ? typeOf(n.items) : 'any'}`;
  if (
    n.type === 'object' &&
    n.additionalProperties &&
    typeof n.additionalProperties === 'object' &&
    !n.properties
  ) {
    return `map[string]${typeOf(n.additionalProperties)}`;
  }
  if (n.type === 'object' && !n.properties && n['x-kubernetes-preserve-unknown-fields'])
    return 'object (free-form)';
  return n.type ?? 'any';
}

function rows(n: Node, prefix: string, out: string[]): void {
  for (const [name, child] of Object.entries(n.properties ?? {})) {
    const path = `${prefix}${name}`;
    const req = n.required?.includes(name) ? ' (required)' : '';
    const desc = (child.description ?? '').replace(/\n/g, ' ').replace(/\|/g, '\\|');
    out.push(`| \`${path}\` | ${typeOf(child)}${req} | ${desc} |`);
    const inner = child.type === 'array' ? child.items : child;
    if (inner?.properties) rows(inner, `${path}${child.type === 'array' ? '[]' : ''}.`, out);
    else if (
      inner?.additionalProperties &&
      typeof inner.additionalProperties === 'object' &&
      inner.additionalProperties.properties
    ) {
      rows(inner.additionalProperties, `${path}.<key>.`, out);
    }
  }
}

export function apiReference(): string {
  const out = [
    '# API reference',
    '',
    'Generated from `src/api` by `npm run generate` (do not edit). Group `integration.rock8s.com`, version `v1beta1`;',
    'every kind is namespaced and has a `status` subresource. `kubectl explain plug.spec` shows the same descriptions.',
    '',
  ];
  for (const crd of Object.values(allCrds())) {
    const spec = crd.spec as {
      names: { kind: string; plural: string; shortNames?: string[] };
      versions: Array<{
        schema: { openAPIV3Schema: Node };
        additionalPrinterColumns?: Array<{ name: string; jsonPath: string }>;
      }>;
    };
    const v = spec.versions[0]!;
    const root = v.schema.openAPIV3Schema;
    out.push(`## ${spec.names.kind}`, '');
    if (root.description) out.push(root.description, '');
    out.push(
      `Plural \`${spec.names.plural}\`${spec.names.shortNames?.length ? `, short names ${spec.names.shortNames.map((s) => `\`${s}\``).join(', ')}` : ''}. ` +
        `Printer columns: ${(v.additionalPrinterColumns ?? []).map((c) => c.name.toUpperCase()).join(', ')}.`,
      '',
    );
    for (const part of ['spec', 'status'] as const) {
      const node = root.properties?.[part];
      if (!node) continue;
      out.push(`### ${spec.names.kind} ${part}`, '', '| field | type | description |', '|---|---|---|');
      rows(node, `${part}.`, out);
      out.push('');
    }
  }
  return `${out.join('\n')}\n`;
}
