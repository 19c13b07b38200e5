// Public API of the templating module: tenant templates rendered in a QuickJS sandbox in worker threads.
export { type Dialect, detectDialect } from './dialect.ts';
export { TEMPLATE_ERROR_CODES, TemplateError, type TemplateErrorCode } from './errors.ts';
export {
  DEFAULT_TEMPLATE_LIMITS,
  resolveTemplateLimits,
  type TemplateLimits,
  TemplateLimitsSchema,
} from './limits.ts';
export {
  type ObjectTemplateResult,
  renderConfigTemplate,
  renderObjectTemplate,
} from './object-template.ts';
export {
  type BatchItem,
  type RendererStats,
  type RenderOptions,
  type RenderResult,
  TemplateRenderer,
  type TemplateRendererOptions,
} from './renderer.ts';
export {
  parseYamlDocuments,
  renderTextTemplateDocuments,
  type TextTemplateOptions,
  type YamlDocumentLimits,
} from './text-template.ts';
