// Text templates (`stringTemplate`, `stringTemplates[]`): rendered as text, then parsed as YAML. Every document
// becomes a resource (the Go operator kept only the first); an empty result (whitespace, comments, `---` only)
// means no resource (the Go operator failed on it). The YAML parse happens in the sandbox worker, inside the
// render's deadline (see yaml-documents.ts for why), also for text without tags.

import type { RenderOptions, TemplateRenderer } from './renderer.ts';
import type { YamlDocumentLimits } from './yaml-documents.ts';

export {
  DEFAULT_MAX_ALIAS_COUNT,
  DEFAULT_MAX_DOCUMENTS,
  parseYamlDocuments,
  type YamlDocumentLimits,
} from './yaml-documents.ts';

export interface TextTemplateOptions extends RenderOptions, YamlDocumentLimits {}

/** Renders a text template and parses the result into YAML documents (mappings); an empty result gives none. */
export function renderTextTemplateDocuments(
  r: TemplateRenderer,
  src: string,
  data: unknown,
  opts: TextTemplateOptions = {},
): Promise<{ documents: Record<string, unknown>[]; warnings: string[] }> {
  return r.renderDocuments(src, data, opts);
}
