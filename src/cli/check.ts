// `kubectl integration check`: Plug, Socket and DeferredResource manifests checked offline, before
// they are applied, with the operator's own code:
// - the CRD schemas (generated from the zod schemas of src/api, as the API server would apply them,
//   unknown fields included: kubectl's default field validation refuses them);
// - the operator's rules of a spec (src/integration/spec-rules.ts: `when`/`do` values, the
//   ServiceAccount name, namespace patterns) and label selector operators (admission.ts);
// - every template: dialect (mixing both is an error), Go functions that reach the environment, Go
//   and eta syntax, blocks spanning the strings of an object template (src/templating/check.ts);
// - between documents of the same run: the interface keys a Plug's or Socket's config and result
//   must provide (src/integration/interface.ts), and whether the socket admits the plug's namespace.
// Documents of other kinds are skipped. Problems name the file, line and column.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { type Document, isMap, isScalar, isSeq, LineCounter, type Node, parseAllDocuments } from 'yaml';
import { group, version } from '../api/common.ts';
import { deferredResourceCrd, plugCrd, socketCrd } from '../api/crd.ts';
import type { Property } from '../api/socket.ts';
import { admitNamespace, matchesSelector } from '../integration/admission.ts';
import { validateSide } from '../integration/interface.ts';
import { namespacePatternProblems, resourcesWithoutWhen, specProblems } from '../integration/spec-rules.ts';
import { checkTemplateSyntax } from '../templating/check.ts';

export type Severity = 'error' | 'warning';
type Path = (string | number)[];

export interface Problem {
  file: string;
  line?: number;
  column?: number;
  severity: Severity;
  /** `Plug sample-app/app-db`, when the problem is in one object. */
  object?: string;
  message: string;
}

export interface CheckReport {
  /** Documents read (empty ones not counted). */
  documents: number;
  /** Plug, Socket and DeferredResource documents checked. */
  checked: number;
  /** Documents of other kinds, skipped. */
  skipped: number;
  problems: Problem[];
}

export interface ManifestSource {
  /** A file name, or `-` (stdin). */
  file: string;
  text: string;
}

export interface CheckOptions {
  /** The namespace of documents that name none (kubectl's -n, else "default"). */
  namespace?: string;
}

const KINDS = ['Plug', 'Socket', 'DeferredResource'] as const;
type Kind = (typeof KINDS)[number];

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The API server prunes fields a structural schema does not name and kubectl's field validation
 * (Strict by default) refuses them: object nodes with `properties` and without
 * `x-kubernetes-preserve-unknown-fields` accept no other field.
 */
function closed(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closed);
  if (!isObject(node)) return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) {
    out[k] =
      k === 'properties' && isObject(v)
        ? Object.fromEntries(Object.entries(v).map(([pk, pv]) => [pk, closed(pv)]))
        : closed(v);
  }
  if (
    isObject(out.properties) &&
    out['x-kubernetes-preserve-unknown-fields'] !== true &&
    !('additionalProperties' in out)
  )
    out.additionalProperties = false;
  return out;
}

let validators: Record<Kind, ValidateFunction> | undefined;

function validatorFor(kind: Kind): ValidateFunction {
  if (!validators) {
    // OpenAPI keywords (nullable, x-kubernetes-*) are not JSON Schema: not strict; formats are not checked
    // by the API server either.
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    const schemaOf = (crd: Json) => {
      const versions = (crd.spec as { versions: { schema: { openAPIV3Schema: unknown } }[] }).versions;
      return closed(versions[0]?.schema.openAPIV3Schema) as Json;
    };
    validators = {
      Plug: ajv.compile(schemaOf(plugCrd())),
      Socket: ajv.compile(schemaOf(socketCrd())),
      DeferredResource: ajv.compile(schemaOf(deferredResourceCrd())),
    };
  }
  return validators[kind];
}

/** `spec.resources[0].when` */
export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (isObject(v)) return 'an object';
  return `a ${typeof v}`;
}

function valueAt(root: unknown, path: Path): unknown {
  let cur = root;
  for (const seg of path) {
    if (Array.isArray(cur) && typeof seg === 'number') cur = cur[seg];
    else if (isObject(cur) && typeof seg === 'string') cur = cur[seg];
    else return undefined;
  }
  return cur;
}

/** An ajv error as kubectl/the API server would say it, with where it is. */
function schemaProblem(e: ErrorObject, root: unknown): { path: Path; key: boolean; message: string } {
  const path: Path = e.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((s, i, all) => (Array.isArray(valueAt(root, all.slice(0, i))) ? Number(s) : s));
  switch (e.keyword) {
    case 'additionalProperties': {
      const field = [...path, String((e.params as { additionalProperty: string }).additionalProperty)];
      return { path: field, key: true, message: `unknown field "${formatPath(field)}"` };
    }
    case 'required': {
      const missing = String((e.params as { missingProperty: string }).missingProperty);
      return { path, key: false, message: `missing required field "${formatPath([...path, missing])}"` };
    }
    case 'type':
      return {
        path,
        key: false,
        message: `${formatPath(path)}: must be ${(e.params as { type: string }).type}, not ${typeName(valueAt(root, path))}`,
      };
    default:
      return { path, key: false, message: `${formatPath(path) || '(document)'}: ${e.message ?? 'invalid'}` };
  }
}

/** One YAML document being checked: its object and how to find a path's position in the file. */
class Located {
  readonly file: string;
  readonly text: string;
  readonly doc: Document;
  readonly lines: LineCounter;
  /** Where the object is inside the document (`['items', 3]` in a List). */
  readonly base: Path;

  constructor(file: string, text: string, doc: Document, lines: LineCounter, base: Path) {
    this.file = file;
    this.text = text;
    this.doc = doc;
    this.lines = lines;
    this.base = base;
  }

  /** The node at `path` (or its deepest existing ancestor), and the key node of its last segment. */
  node(path: Path): { node: Node | undefined; key: Node | undefined; exact: boolean } {
    let cur: unknown = this.doc.contents;
    let key: Node | undefined;
    const full = [...this.base, ...path];
    for (let i = 0; i < full.length; i++) {
      const seg = full[i];
      if (isMap(cur)) {
        const pair = cur.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) return { node: cur as Node, key: undefined, exact: false };
        key = pair.key as Node;
        cur = pair.value;
      } else if (isSeq(cur) && typeof seg === 'number' && cur.items[seg] !== undefined) {
        key = undefined;
        cur = cur.items[seg];
      } else {
        return { node: (cur ?? undefined) as Node | undefined, key: undefined, exact: false };
      }
    }
    return { node: (cur ?? undefined) as Node | undefined, key, exact: true };
  }

  position(path: Path, atKey = false): { line?: number; column?: number } {
    const { node, key } = this.node(path);
    const target = atKey && key ? key : (node ?? key);
    const offset = target?.range?.[0];
    if (offset === undefined) return {};
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  /** The file position of a template's own line and column, for a template string at `path`. */
  templatePosition(
    path: Path,
    isKey: boolean,
    tLine?: number,
    tCol?: number,
  ): { line?: number; column?: number } {
    const { node, key } = this.node(path);
    const scalar = isKey ? key : node;
    const start = this.position(path, isKey);
    if (!isScalar(scalar) || start.line === undefined || start.column === undefined || tLine === undefined)
      return start;
    if (scalar.type === 'BLOCK_LITERAL' || scalar.type === 'BLOCK_FOLDED') {
      // The content starts on the line after the header (`|`), at the block's indentation.
      const lines = this.text.split('\n');
      let indent = 0;
      for (let i = start.line; i < lines.length; i++) {
        const l = lines[i] ?? '';
        if (l.trim() === '') continue;
        indent = l.length - l.trimStart().length;
        break;
      }
      return { line: start.line + tLine, column: indent + (tCol ?? 1) };
    }
    if (
      tLine === 1 &&
      (scalar.type === 'PLAIN' || scalar.type === 'QUOTE_SINGLE' || scalar.type === 'QUOTE_DOUBLE')
    ) {
      const quote = scalar.type === 'PLAIN' ? 0 : 1;
      return { line: start.line, column: start.column + quote + (tCol ?? 1) - 1 };
    }
    return start;
  }
}

/** Every string leaf and key of an object template, with its path (keys are templates too). */
function* objectStrings(node: unknown, path: Path): Generator<{ path: Path; src: string; isKey: boolean }> {
  if (typeof node === 'string') yield { path, src: node, isKey: false };
  else if (Array.isArray(node))
    for (const [i, item] of node.entries()) yield* objectStrings(item, [...path, i]);
  else if (isObject(node))
    for (const [k, v] of Object.entries(node)) {
      yield { path: [...path, k], src: k, isKey: true };
      yield* objectStrings(v, [...path, k]);
    }
}

/** The templates of a Plug's or Socket's spec, with how the operator renders each. */
function* specTemplates(
  spec: Json,
): Generator<{ path: Path; src: string; isKey: boolean; objectString: boolean }> {
  for (const field of ['configTemplate', 'resultTemplate']) {
    const map = spec[field];
    if (isObject(map))
      for (const t of objectStrings(map, ['spec', field])) yield { ...t, objectString: true };
  }
  for (const list of ['resources', 'resultResources']) {
    const items = spec[list];
    if (!Array.isArray(items)) continue;
    for (const [i, r] of items.entries()) {
      if (!isObject(r)) continue;
      const at: Path = ['spec', list, i];
      if (r.template !== undefined)
        for (const t of objectStrings(r.template, [...at, 'template'])) yield { ...t, objectString: true };
      if (Array.isArray(r.templates))
        for (const [j, tpl] of r.templates.entries())
          for (const t of objectStrings(tpl, [...at, 'templates', j])) yield { ...t, objectString: true };
      if (typeof r.stringTemplate === 'string')
        yield { path: [...at, 'stringTemplate'], src: r.stringTemplate, isKey: false, objectString: false };
      if (Array.isArray(r.stringTemplates))
        for (const [j, src] of r.stringTemplates.entries())
          if (typeof src === 'string')
            yield { path: [...at, 'stringTemplates', j], src, isKey: false, objectString: false };
    }
  }
  for (const list of ['vars', 'resultVars']) {
    const items = spec[list];
    if (!Array.isArray(items)) continue;
    for (const [i, v] of items.entries()) {
      const ref = isObject(v) ? v.objref : undefined;
      if (!isObject(ref)) continue;
      for (const field of ['templateName', 'templateNamespace'])
        if (typeof ref[field] === 'string')
          yield {
            path: ['spec', list, i, 'objref', field],
            src: ref[field],
            isKey: false,
            objectString: false,
          };
    }
  }
}

interface Checked {
  kind: Kind;
  namespace: string;
  name: string;
  object: Json;
  at: Located;
}

class Checker {
  readonly problems: Problem[] = [];
  readonly objects: Checked[] = [];
  /** Namespace labels from Namespace documents of the run (for namespaceSelector). */
  readonly namespaceLabels = new Map<string, Record<string, string>>();
  documents = 0;
  checked = 0;
  skipped = 0;

  private readonly defaultNamespace: string;

  constructor(defaultNamespace: string) {
    this.defaultNamespace = defaultNamespace;
  }

  report(
    at: Located | undefined,
    file: string,
    severity: Severity,
    object: string | undefined,
    message: string,
    where: { line?: number; column?: number } = {},
  ): void {
    this.problems.push({
      file: at?.file ?? file,
      ...(where.line !== undefined ? { line: where.line } : {}),
      ...(where.column !== undefined ? { column: where.column } : {}),
      severity,
      ...(object ? { object } : {}),
      message,
    });
  }

  source(src: ManifestSource): void {
    const lines = new LineCounter();
    const docs = parseAllDocuments(src.text, { lineCounter: lines, prettyErrors: true });
    const list = Array.isArray(docs) ? docs : [];
    for (const doc of list) {
      if (doc.errors.length) {
        this.documents++;
        for (const e of doc.errors) {
          const pos = e.linePos?.[0];
          this.report(
            undefined,
            src.file,
            'error',
            undefined,
            `YAML: ${(e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`,
            pos ? { line: pos.line, column: pos.col } : {},
          );
        }
        continue;
      }
      let value: unknown;
      try {
        value = doc.toJS({ maxAliasCount: 100 });
      } catch (err) {
        this.documents++;
        this.report(undefined, src.file, 'error', undefined, `YAML: ${(err as Error).message}`, {});
        continue;
      }
      if (value === null || value === undefined) continue;
      this.documents++;
      if (isObject(value) && value.kind === 'List' && Array.isArray(value.items)) {
        for (const [i, item] of value.items.entries())
          this.object(item, new Located(src.file, src.text, doc, lines, ['items', i]));
      } else {
        this.object(value, new Located(src.file, src.text, doc, lines, []));
      }
    }
  }

  object(value: unknown, at: Located): void {
    if (!isObject(value)) {
      this.skipped++;
      return;
    }
    const apiVersion = typeof value.apiVersion === 'string' ? value.apiVersion : '';
    const metadata = isObject(value.metadata) ? value.metadata : {};
    const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : this.defaultNamespace;
    const name = typeof metadata.name === 'string' ? metadata.name : '';
    if (value.kind === 'Namespace' && apiVersion === 'v1' && name) {
      const labels = isObject(metadata.labels) ? (metadata.labels as Record<string, string>) : {};
      this.namespaceLabels.set(name, labels);
    }
    if (apiVersion.split('/')[0] !== group) {
      this.skipped++;
      return;
    }
    const kind = String(value.kind ?? '');
    const label = `${kind || 'object'} ${namespace}/${name || '(no name)'}`;
    if (!(KINDS as readonly string[]).includes(kind)) {
      this.report(
        at,
        at.file,
        'error',
        label,
        `kind ${JSON.stringify(kind)} is not a kind of ${group} (${KINDS.join(', ')})`,
        at.position(['kind']),
      );
      return;
    }
    if (apiVersion !== `${group}/${version}`) {
      this.report(
        at,
        at.file,
        'error',
        label,
        `apiVersion ${apiVersion} is not served: use ${group}/${version}`,
        at.position(['apiVersion']),
      );
      return;
    }
    this.checked++;
    if (!name && typeof metadata.generateName !== 'string')
      this.report(at, at.file, 'error', label, 'metadata.name is required', at.position(['metadata']));
    const validate = validatorFor(kind as Kind);
    if (!validate(value)) {
      const seen = new Set<string>();
      for (const e of validate.errors ?? []) {
        const p = schemaProblem(e, value);
        if (seen.has(p.message)) continue;
        seen.add(p.message);
        this.report(at, at.file, 'error', label, p.message, at.position(p.path, p.key));
      }
      // Unknown fields aside (the operator would never see them), the rules below need the schema's shapes.
      if (validate.errors?.some((e) => e.keyword !== 'additionalProperties')) return;
    }
    if (kind === 'DeferredResource') return;
    const spec = isObject(value.spec) ? value.spec : {};
    this.objects.push({ kind: kind as Kind, namespace, name, object: value, at });
    for (const p of specProblems(spec))
      this.report(at, at.file, 'error', label, `spec.${p.text}`, at.position(['spec', ...p.path]));
    for (const i of resourcesWithoutWhen({ spec })) {
      this.report(
        at,
        at.file,
        'warning',
        label,
        `spec.resources[${i}] has no "when": it is never applied (add when: [coupled, updated], or the events you mean)`,
        at.position(['spec', 'resources', i]),
      );
    }
    if (kind === 'Socket') this.socketRules(spec, at, label);
    for (const t of specTemplates(spec)) {
      const problem = checkTemplateSyntax(t.src, { objectString: t.objectString });
      if (!problem) continue;
      const where = t.isKey ? `key ${formatPath(t.path)}` : formatPath(t.path);
      const inTemplate = problem.line
        ? ` (template line ${problem.line}${problem.column ? `, column ${problem.column}` : ''})`
        : '';
      this.report(
        at,
        at.file,
        'error',
        label,
        `${where}: ${problem.message}${inTemplate}`,
        at.templatePosition(t.path, t.isKey, problem.line, problem.column),
      );
    }
  }

  socketRules(spec: Json, at: Located, label: string): void {
    const validation = isObject(spec.validation) ? spec.validation : undefined;
    for (const p of namespacePatternProblems(validation))
      this.report(at, at.file, 'error', label, `spec.${p.text}`, at.position(['spec', ...p.path]));
    const selector = validation?.namespaceSelector;
    const expressions =
      isObject(selector) && Array.isArray(selector.matchExpressions) ? selector.matchExpressions : [];
    for (const [i, e] of expressions.entries()) {
      try {
        matchesSelector({}, { matchExpressions: [e] });
      } catch (err) {
        this.report(
          at,
          at.file,
          'error',
          label,
          `spec.validation.namespaceSelector.matchExpressions[${i}]: ${(err as Error).message} (In, NotIn, Exists, DoesNotExist)`,
          at.position(['spec', 'validation', 'namespaceSelector', 'matchExpressions', i, 'operator']),
        );
      }
    }
  }

  /** Checks between documents: each plug against the socket it names, when that socket is in the run. */
  couplings(): void {
    const sockets = new Map(
      this.objects.filter((o) => o.kind === 'Socket').map((s) => [`${s.namespace}/${s.name}`, s]),
    );
    for (const plug of this.objects.filter((o) => o.kind === 'Plug')) {
      const spec = isObject(plug.object.spec) ? plug.object.spec : {};
      const ref = isObject(spec.socket) ? spec.socket : {};
      if (typeof ref.name !== 'string') continue;
      const socket = sockets.get(
        `${typeof ref.namespace === 'string' ? ref.namespace : plug.namespace}/${ref.name}`,
      );
      if (!socket) continue;
      const socketSpec = isObject(socket.object.spec) ? socket.object.spec : {};
      const iface = isObject(socketSpec.interface) ? socketSpec.interface : {};
      for (const what of ['config', 'result'] as const) {
        const sides = isObject(iface[what]) ? iface[what] : {};
        this.side(plug, 'plug', what, sides.plug, socket);
        this.side(socket, 'socket', what, sides.socket, socket, plug);
      }
      this.admission(plug, socket, socketSpec);
    }
  }

  /**
   * One side's config or result against the interface, as far as the manifests tell: literal values
   * that are final (no ConfigMap or apparatus after them) are validated; a required key is missing when
   * no source at all (literal, template, Secret, ConfigMap, apparatus) could provide it.
   */
  side(
    owner: Checked,
    side: 'plug' | 'socket',
    what: 'config' | 'result',
    props: unknown,
    socket: Checked,
    plug?: Checked,
  ): void {
    if (!isObject(props)) return;
    const spec = isObject(owner.object.spec) ? owner.object.spec : {};
    const label = `${owner.kind} ${owner.namespace}/${owner.name}`;
    const literal = isObject(spec[what]) ? (spec[what] as Record<string, unknown>) : {};
    const templated = isObject(spec[`${what}Template`]) ? Object.keys(spec[`${what}Template`] as Json) : [];
    const apparatus = what === 'config' && isObject(spec.apparatus);
    const later = Boolean(spec[`${what}ConfigMapName`]) || apparatus;
    const external = later || Boolean(spec[`${what}SecretName`]);
    const whatSide = `${side} ${what}`;
    const context = plug
      ? ` (interface of Socket ${socket.namespace}/${socket.name}, coupling with Plug ${plug.namespace}/${plug.name})`
      : ` (interface of Socket ${socket.namespace}/${socket.name})`;
    const properties = props as Record<string, Property>;
    if (!later) {
      for (const [key, value] of Object.entries(literal)) {
        const prop = properties[key];
        if (!prop || templated.includes(key) || typeof value !== 'string') continue;
        const result = validateSide({ [key]: prop }, { [key]: value }, whatSide);
        for (const error of result.errors) {
          const message = error.startsWith(`${whatSide} ${key}: `)
            ? error.slice(whatSide.length + key.length + 3)
            : error;
          this.report(
            owner.at,
            owner.at.file,
            'error',
            label,
            `spec.${what}.${key}: ${message}${context}`,
            owner.at.position(['spec', what, key]),
          );
        }
      }
    }
    if (external) return;
    const missing = Object.fromEntries(
      Object.entries(properties).filter(([key]) => !Object.hasOwn(literal, key) && !templated.includes(key)),
    );
    const result = validateSide(missing, {}, whatSide);
    for (const message of result.errors)
      this.report(
        owner.at,
        owner.at.file,
        'error',
        label,
        `${message}${context}`,
        owner.at.position(['spec', what], true),
      );
  }

  /** Whether the socket admits the plug's namespace (a warning: labels and namespaces change). */
  admission(plug: Checked, socket: Checked, socketSpec: Json): void {
    const validation = isObject(socketSpec.validation)
      ? (socketSpec.validation as Parameters<typeof admitNamespace>[0])
      : undefined;
    if (!validation || namespacePatternProblems(validation).length) return; // invalid rules: reported on the socket
    const labels = this.namespaceLabels.get(plug.namespace);
    const selector = validation.namespaceSelector;
    if (selector && labels === undefined) return; // the Namespace is not in the run: its labels are unknown
    let verdict: ReturnType<typeof admitNamespace>;
    try {
      verdict = admitNamespace(validation, plug.namespace, labels ?? {});
    } catch {
      return; // an invalid rule: reported on the socket
    }
    if (!verdict.allowed)
      this.report(
        plug.at,
        plug.at.file,
        'warning',
        `Plug ${plug.namespace}/${plug.name}`,
        `will not couple to Socket ${socket.namespace}/${socket.name} (NamespaceNotAllowed): ${verdict.message}`,
        plug.at.position(['spec', 'socket'], true),
      );
  }
}

/** Checks manifests (every document of every source) and reports problems in file order. */
export function checkManifests(sources: readonly ManifestSource[], opts: CheckOptions = {}): CheckReport {
  const checker = new Checker(opts.namespace || 'default');
  for (const src of sources) checker.source(src);
  checker.couplings();
  const order = new Map(sources.map((s, i) => [s.file, i]));
  const problems = [...checker.problems].sort(
    (a, b) =>
      (order.get(a.file) ?? 0) - (order.get(b.file) ?? 0) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0),
  );
  return { documents: checker.documents, checked: checker.checked, skipped: checker.skipped, problems };
}

/** `file:line:col: error: Plug ns/name: message` */
export function formatProblem(p: Problem): string {
  const where = [p.file, p.line, p.column].filter((x) => x !== undefined).join(':');
  return `${where}: ${p.severity}: ${p.object ? `${p.object}: ` : ''}${p.message}`;
}
