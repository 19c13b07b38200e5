// Errors raised by the Go-template engine. Messages are short and name the template position where known;
// they never contain data values beyond what the template author wrote.

export type GoTemplateErrorCode =
  | 'GO_TEMPLATE_PARSE'
  | 'GO_TEMPLATE_EXEC'
  | 'GO_TEMPLATE_LIMIT'
  | 'GO_TEMPLATE_UNAVAILABLE';

export class GoTemplateError extends Error {
  override name = 'GoTemplateError';
  readonly code: GoTemplateErrorCode;
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(
    code: GoTemplateErrorCode,
    message: string,
    where?: { line: number; column: number },
    options?: { cause?: unknown },
  ) {
    super(where ? `line ${where.line}, column ${where.column}: ${message}` : message, options);
    this.code = code;
    this.line = where?.line;
    this.column = where?.column;
  }
}

/** An error thrown by a template function; the executor wraps it as `error calling <fn>: <message>`. */
export class GoFuncError extends Error {
  override name = 'GoFuncError';
}

/** A resource bound was exceeded (output size, iterations, work, recursion). Never wrapped or swallowed. */
export class GoLimitError extends Error {
  override name = 'GoLimitError';
}

/** A sprig/builtin function that exists in Go but is refused here (environment, files, network, keys). */
export class GoUnavailableError extends Error {
  override name = 'GoUnavailableError';
}
