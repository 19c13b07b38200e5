// Errors of the apparatus client and endpoint resolution. No dependencies, so the SDK can share
// the module without pulling in got.

/**
 * Why a call to an apparatus (or the resolution of its URL) failed.
 * - `Unreachable`: connection refused/reset, DNS failure: transient, retried within the call.
 * - `Timeout`: an attempt or the overall deadline ran out: transient, retried within the call.
 * - `HttpError`: a non-2xx, non-3xx status. Never retried within the call: the apparatus answered,
 *   and a 5xx is retried by requeueing the coupling with backoff (one call per step, SPEC.md
 *   "Apparatus"); a 4xx means the apparatus refused the request.
 * - `BadResponse`: the body is not what the protocol requires (garbage JSON, not an object).
 * - `TooLarge`: the response body exceeded the size cap (the transfer is aborted).
 * - `Redirect`: a 3xx; redirects are never followed (they would bypass the allow-list).
 * - `NotAllowed`: the endpoint or an address it resolves to is refused by the allow-list.
 * - `InvalidEndpoint`: the tenant's `apparatus.endpoint` cannot be turned into a URL.
 */
export type ApparatusErrorCode =
  | 'Unreachable'
  | 'Timeout'
  | 'HttpError'
  | 'BadResponse'
  | 'TooLarge'
  | 'Redirect'
  | 'NotAllowed'
  | 'InvalidEndpoint';

/** Condition reasons of the Plug/Socket status that apparatus failures map to. */
export type ApparatusConditionReason = 'Error' | 'ApparatusUnavailable';

export interface ApparatusErrorDetails {
  /** The URL called (or the endpoint resolved), with credentials and query values removed. */
  url: string;
  status?: number;
  attempts?: number;
  cause?: unknown;
}

const RETRIED_IN_CALL: ReadonlySet<ApparatusErrorCode> = new Set(['Unreachable', 'Timeout']);

export class ApparatusError extends Error {
  override name = 'ApparatusError';
  readonly code: ApparatusErrorCode;
  readonly url: string;
  readonly status: number | undefined;
  /** How many HTTP attempts were made (0 when the call was refused before any). */
  readonly attempts: number;

  constructor(code: ApparatusErrorCode, message: string, details: ApparatusErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.url = details.url;
    this.status = details.status;
    this.attempts = details.attempts ?? 0;
  }

  /**
   * True when the client tries again within the same call: connection errors and timeouts only
   * (the request may never have reached the apparatus). An answer, even a 5xx, ends the call; the
   * controller requeues the coupling with its backoff instead.
   */
  get retriedInCall(): boolean {
    return RETRIED_IN_CALL.has(this.code);
  }

  /** True for a 4xx answer: the apparatus understood and refused the request. */
  get isClientError(): boolean {
    return this.code === 'HttpError' && this.status !== undefined && this.status >= 400 && this.status < 500;
  }

  /**
   * The condition reason the controller should set: `Error` when the tenant must change something
   * (a 4xx answer, an endpoint refused by the allow-list or unparsable), `ApparatusUnavailable`
   * otherwise (unreachable, timeouts, 5xx, bad or oversized answers, redirects), which a requeue
   * with backoff may fix.
   */
  get conditionReason(): ApparatusConditionReason {
    if (this.isClientError || this.code === 'NotAllowed' || this.code === 'InvalidEndpoint') return 'Error';
    return 'ApparatusUnavailable';
  }
}

export function isApparatusError(err: unknown): err is ApparatusError {
  return err instanceof ApparatusError;
}

/** Operator configuration (the allow-list setting) that cannot be parsed. Fails startup. */
export class AllowListSyntaxError extends Error {
  override name = 'AllowListSyntaxError';
  readonly code = 'InvalidAllowList';
  readonly entry: string;
  constructor(entry: string, setting: string, reason: string) {
    super(`${setting}: invalid entry ${JSON.stringify(entry)}: ${reason}`);
    this.entry = entry;
  }
}

/** Operator configuration (an endpoint override) that cannot be parsed. Fails startup. */
export class EndpointOverrideSyntaxError extends Error {
  override name = 'EndpointOverrideSyntaxError';
  readonly code = 'InvalidEndpointOverride';
  readonly entry: string;
  constructor(entry: string, setting: string, reason: string) {
    super(`${setting}: invalid entry ${JSON.stringify(entry)}: ${reason}`);
    this.entry = entry;
  }
}

/**
 * A URL fit for messages and logs: no user info, no query values, no fragment (a tenant may put a
 * token there). `http://u:p@h/x?token=s` becomes `http://h/x?…`.
 */
export function redactUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return '<invalid URL>';
  }
  const query = parsed.search ? '?…' : '';
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}${query}`;
}
