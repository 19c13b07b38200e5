// Text templates (`stringTemplate`, `stringTemplates[]`): rendered as text, then parsed as YAML. Every document
// becomes a resource (the Go operator kept only the first); an empty result (whitespace, comments, `---` only)
// means no resource (the Go operator failed on it). The YAML parse runs on rendered tenant text, so it is bounded:
// aliases are limited (billion-laughs), documents are counted while streaming and refused past the cap, and
// errors name the line and column without quoting the text (it may hold config values).

import { Composer, isMap, isScalar, LineCounter, Parser } from 'yaml';
import { TemplateError } from './errors.ts';
import type { RenderOptions, TemplateRenderer } from './renderer.ts';

export interface YamlDocumentLimits {
  /** Most documents one text may hold (default 100). */
  maxDocuments?: number;
  /** Most alias expansions while converting a document (default 100; yaml's "billion laughs" guard). */
  maxAliasCount?: number;
}

export interface TextTemplateOptions extends RenderOptions, YamlDocumentLimits {}

export const DEFAULT_MAX_DOCUMENTS = 100;
export const DEFAULT_MAX_ALIAS_COUNT = 100;

function kindOf(node: unknown): string {
  if (isScalar(node)) return typeof node.value === 'string' ? 'a string' : `a ${typeof node.value}`;
  return isMap(node) ? 'a mapping' : 'a sequence';
}

/**
 * Parses YAML text into its documents (each a mapping). Empty documents are skipped; a document that is not a
 * mapping, invalid YAML, too many documents or too many aliases is a TemplateError `TemplateOutputInvalid`.
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
  const composer = new Composer({ prettyErrors: false, uniqueKeys: true, merge: false });
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
      const contents = doc.contents;
      if (contents === null || (isScalar(contents) && contents.value === null)) continue;
      if (!isMap(contents)) throw invalid(`YAML document ${index} is ${kindOf(contents)}, not a mapping`);
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

/** Renders a text template and parses the result into YAML documents (mappings); an empty result gives none. */
export async function renderTextTemplateDocuments(
  r: TemplateRenderer,
  src: string,
  data: unknown,
  opts: TextTemplateOptions = {},
): Promise<{ documents: Record<string, unknown>[]; warnings: string[] }> {
  const { output, warnings } = await r.render(src, data, opts);
  const documents = parseYamlDocuments(output, {
    maxDocuments: opts.maxDocuments,
    maxAliasCount: opts.maxAliasCount,
    templateName: opts.name,
  });
  return { documents, warnings };
}
