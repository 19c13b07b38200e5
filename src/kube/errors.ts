// Errors from the API server, with what callers branch on: the HTTP status, the Status reason
// (NotFound, AlreadyExists, Conflict, Forbidden, Invalid, Expired/Gone, TooManyRequests...) and a
// message safe to show in conditions (the server's own message, which names verb, resource and user).

export interface KubeStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: Array<{ message?: string; field?: string }>;
  };
}

export class ApiError extends Error {
  override name = 'ApiError';
  readonly code: string;
  readonly status: number;
  readonly reason: string;
  readonly method: string;
  readonly path: string;
  readonly retryAfterSeconds: number | undefined;
  readonly kubeStatus: KubeStatus | undefined;

  constructor(
    message: string,
    init: {
      status: number;
      reason: string;
      method: string;
      path: string;
      retryAfterSeconds?: number;
      kubeStatus?: KubeStatus;
      cause?: unknown;
    },
  ) {
    super(message, { cause: init.cause });
    this.status = init.status;
    this.reason = init.reason;
    this.code = init.reason;
    this.method = init.method;
    this.path = init.path;
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.kubeStatus = init.kubeStatus;
  }

  static fromStatus(
    status: number,
    st: KubeStatus,
    req: { method: string; path: string },
    retryAfterSeconds?: number,
  ): ApiError {
    const reason = st.reason || reasonFor(status);
    return new ApiError(st.message || `${req.method} ${req.path}: HTTP ${status}`, {
      status,
      reason,
      method: req.method,
      path: req.path,
      ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
      kubeStatus: st,
    });
  }

  static fromResponse(
    status: number,
    body: string,
    req: { method: string; path: string },
    retryAfterSeconds?: number,
  ): ApiError {
    let st: KubeStatus = {};
    try {
      const parsed: unknown = JSON.parse(body);
      if (parsed && typeof parsed === 'object') st = parsed as KubeStatus;
    } catch {
      st = { message: `${req.method} ${req.path}: HTTP ${status}: ${body.slice(0, 200)}` };
    }
    return ApiError.fromStatus(status, st, req, retryAfterSeconds);
  }

  static fromTransport(err: unknown, req: { method: string; path: string }): ApiError {
    const msg = err instanceof Error ? err.message : String(err);
    const aborted =
      err instanceof Error && (err.name === 'AbortError' || (err as { code?: string }).code === 'ABORT_ERR');
    return new ApiError(`${req.method} ${req.path}: ${msg}`, {
      status: 0,
      reason: aborted ? 'Aborted' : 'ConnectionError',
      method: req.method,
      path: req.path,
      cause: err,
    });
  }
}

function reasonFor(status: number): string {
  switch (status) {
    case 400:
      return 'BadRequest';
    case 401:
      return 'Unauthorized';
    case 403:
      return 'Forbidden';
    case 404:
      return 'NotFound';
    case 405:
      return 'MethodNotAllowed';
    case 409:
      return 'Conflict';
    case 410:
      return 'Expired';
    case 422:
      return 'Invalid';
    case 429:
      return 'TooManyRequests';
    default:
      return status >= 500 ? 'InternalError' : 'Unknown';
  }
}

export const isNotFound = (e: unknown): boolean => e instanceof ApiError && e.status === 404;
export const isConflict = (e: unknown): boolean => e instanceof ApiError && e.status === 409;
export const isForbidden = (e: unknown): boolean => e instanceof ApiError && e.status === 403;
export const isGone = (e: unknown): boolean => e instanceof ApiError && e.status === 410;
export const isAlreadyExists = (e: unknown): boolean =>
  e instanceof ApiError && e.status === 409 && e.reason === 'AlreadyExists';
