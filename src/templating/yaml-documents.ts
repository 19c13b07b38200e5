// Parsing the YAML text of a text template into resources. The text is tenant-controlled (up to maxOutputBytes),
// and the `yaml` package costs up to ~1-2 s of CPU per MiB on hostile shapes (measured on yaml 2.9.1: 200,000
// flow items 1.6 s; with its `uniqueKeys` check, 60,000 keys in one mapping took 44 s, quadratic). So:
// - call this in a sandbox worker (TemplateRenderer.renderDocuments does), never on the operator's main thread:
//   there the render deadline bounds it (the worker is terminated past deadline + grace);
// - duplicate keys are found by a linear walk instead of yaml's pairwise `uniqueKeys`;
// - aliases are limited (billion laughs), documents are counted while streaming and refused past the cap;
// - errors name the document, line and column, never quote the text (it may hold config values).

import { Composer, isAlias, isMap, isScalar, isSeq, LineCounter, type Node, Parser } from 'yaml';
import { TemplateError } from './errors.ts';

export interface YamlDocumentLimits {
  /** Most documents one text may hold (default 100). */
  maxDocuments?: number;
  /** Most alias expansions while converting a document (default 100; yaml's "billion laughs" guard). */
  maxAliasCount?: number;
}

export const DEFAULT_MAX_DOCUMENTS = 100;
export const DEFAULT_MAX_ALIAS_COUNT = 100;

function kindOf(node: unknown): string {
  if (isScalar(node)) return typeof node.value === 'string' ? 'a string' : `a ${typeof node.value}`;
  return isMap(node) ? 'a mapping' : 'a sequence';
}

/** The first problem with the keys of any mapping in `root`: a duplicate, or a key that is not a scalar. */
function keyProblem(root: unknown, lines: LineCounter): string | undefined {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = pair.key;
        if (!isScalar(key)) {
          if (isAlias(key) || key === null) continue;
          return 'mapping keys must be plain values, not collections';
        }
        const name = String(key.value);
        if (seen.has(name)) {
          const at = key.range ? lines.linePos(key.range[0]) : undefined;
          return `the key ${JSON.stringify(name.length > 60 ? `${name.slice(0, 59)}…` : name)} is repeated${at ? ` (line ${at.line})` : ''}`;
        }
        seen.add(name);
        stack.push(pair.value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) stack.push(item);
    }
  }
  return undefined;
}

/**
 * Parses YAML text into its documents (each a mapping). Empty documents are skipped; a document that is not a
 * mapping, invalid YAML, duplicate keys, too many documents or too many aliases are a TemplateError
 * `TemplateOutputInvalid`.
 */
export function parseYamlDocuments(
  text: string,
  limits: YamlDocumentLimits & { templateName?: string | undefined } = {},
): Record<string, unknown>[] {
  const maxDocuments = limits.maxDocuments ?? DEFAULT_MAX_DOCUMENTS;
  const maxAliasCount = limits.maxAliasCount ?? DEFAULT_MAX_ALIAS_COUNT;
  const invalid = (message: string, cause?: unknown) =>
    new TemplateError('TemplateOutputInvalid', message, { templateName: limits.templateName, cause });
  const lines = new LineCounter();
  const parser = new Parser(lines.addNewLine);
  const composer = new Composer({ prettyErrors: false, uniqueKeys: false, merge: false });
  const documents: Record<string, unknown>[] = [];
  let index = 0;
  try {
    for (const doc of composer.compose(parser.parse(text), false, text.length)) {
      index++;
      if (index > maxDocuments)
        throw invalid(`the rendered text has more than ${maxDocuments} YAML documents`);
      const error = doc.errors[0];
      if (error) {
        const { line, col } = lines.linePos(error.pos[0]);
        // yaml's message without its source excerpt (prettyErrors is off): the text may hold config values.
        throw invalid(
          `the rendered text is not valid YAML (document ${index}, line ${line}, column ${col}): ${error.message}`,
        );
      }
      const contents: Node | null = doc.contents;
      if (contents === null || (isScalar(contents) && contents.value === null)) continue;
      if (!isMap(contents)) throw invalid(`YAML document ${index} is ${kindOf(contents)}, not a mapping`);
      const problem = keyProblem(contents, lines);
      if (problem) throw invalid(`YAML document ${index}: ${problem}`);
      const value: unknown = doc.toJS({ maxAliasCount });
      documents.push(value as Record<string, unknown>);
    }
  } catch (e) {
    if (e instanceof TemplateError) throw e;
    // yaml's alias guard throws a ReferenceError; a deeply nested text can exhaust the stack (RangeError).
    const message = e instanceof Error ? e.message : String(e);
    throw invalid(`the rendered YAML (document ${index}) was refused: ${message}`, e);
  }
  return documents;
}
