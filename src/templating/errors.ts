// Errors of the templating module. Every failure a caller can see is a TemplateError with a stable `code`;
// the message is short, names the template line or leaf where it can, and never carries data values that
// the module put there itself (tenant code may still throw its own text).

export const TEMPLATE_ERROR_CODES = [
  /** The template does not parse (eta or Go syntax, unclosed tags, bad JavaScript). */
  'TemplateSyntax',
  /** The template threw while rendering (TypeError, a field on a string in Go, ...). */
  'TemplateRuntime',
  /** The render ran past its deadline (interrupted inside the sandbox, or the worker was terminated). */
  'TemplateTimeout',
  /** The sandbox ran out of memory (capped WebAssembly memory, string length limit). */
  'TemplateMemory',
  /** Recursion or nesting deeper than the sandbox stack allows. */
  'TemplateStackOverflow',
  /** The rendered text is larger than `maxOutputBytes`. */
  'TemplateOutputTooLarge',
  /** One template uses both the Go and the eta dialect. */
  'TemplateDialectMixed',
  /** A construct this release does not support (Go pipelines, include(), env, ...); the message says what to write. */
  'TemplateUnsupported',
  /** The rendered text is not what the caller needs (bad YAML, a document that is not a mapping, too many documents, duplicate keys). */
  'TemplateOutputInvalid',
  /** The input cannot be rendered at all (template too large, data not JSON-serialisable, object template too deep). */
  'TemplateInputInvalid',
  /** The caller's AbortSignal fired. */
  'TemplateAborted',
  /** The renderer was closed before the render finished. */
  'TemplateRendererClosed',
  /** The sandbox itself failed (worker crashed, WebAssembly fault); the worker was replaced. */
  'TemplateSandboxFailure',
] as const;

export type TemplateErrorCode = (typeof TEMPLATE_ERROR_CODES)[number];

/** Codes the sandbox may report for one template (the others are decided on the host). */
export const SANDBOX_ERROR_CODES: readonly TemplateErrorCode[] = [
  'TemplateSyntax',
  'TemplateRuntime',
  'TemplateTimeout',
  'TemplateMemory',
  'TemplateStackOverflow',
  'TemplateOutputTooLarge',
  'TemplateUnsupported',
  'TemplateInputInvalid',
];

export function isTemplateErrorCode(value: unknown): value is TemplateErrorCode {
  return typeof value === 'string' && (TEMPLATE_ERROR_CODES as readonly string[]).includes(value);
}

export interface TemplateErrorOptions {
  /** The caller's name for the template (e.g. `resources[0].stringTemplate`), echoed back. */
  templateName?: string | undefined;
  /** For object templates: where in the object the failing string is (`.spec.template.metadata.name`). */
  path?: string | undefined;
  cause?: unknown;
}

export class TemplateError extends Error {
  override name = 'TemplateError';
  readonly code: TemplateErrorCode;
  readonly templateName: string | undefined;
  readonly path: string | undefined;

  constructor(code: TemplateErrorCode, message: string, options: TemplateErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.templateName = options.templateName;
    this.path = options.path;
  }
}
