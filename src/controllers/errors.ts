// A failed step of a reconcile, carried as data: the condition reason, a human message (never a
// secret value), the side of the coupling that failed when it is known, and how it is retried.
import { isApparatusError } from '../apparatus/index.ts';
import { Reason, type ReasonName } from '../integration/conditions.ts';
import type { Side } from '../integration/lifecycle.ts';
import { ApiError } from '../kube/errors.ts';
import type { RetrySchedule } from '../runtime/controller.ts';

/**
 * How failures of a kind are retried when the controller's own backoff (5 ms doubling to 5 min)
 * does not fit. The controller reads `retrySchedule` off the thrown error (runtime/controller.ts);
 * a change of the Plug's or Socket's spec retries at once and restarts the schedule (operator.ts).
 */
export const retrySchedules = {
  /**
   * A call to an apparatus failed: an error answer (retried only by requeueing, never inside the
   * call) or no answer after the call's own retries. 1 s doubling to 5 min: a failing service gets
   * one call per step of the coupling's backoff (SPEC.md "Apparatus").
   */
  apparatus: { name: 'apparatus', baseMs: 1_000, maxMs: 300_000 },
  /**
   * The API server refused an object as invalid (422, 400): it will refuse it again until the Plug
   * or the Socket changes. 1 min doubling to 10 min, so `kubectl get` shows a failure that does not
   * clear by itself rather than a reconcile loop.
   */
  resourceInvalid: { name: 'resourceInvalid', baseMs: 60_000, maxMs: 600_000 },
} as const satisfies Record<string, RetrySchedule>;

export class StepError extends Error {
  override name = 'StepError';
  readonly reason: ReasonName;
  readonly code: string;
  /** The side of the coupling whose step failed, when known: a socket reports its side's failures. */
  readonly side: Side | undefined;
  /** How the failed reconcile is retried (undefined: the controller's backoff). */
  readonly retrySchedule: RetrySchedule | undefined;

  constructor(
    reason: ReasonName,
    message: string,
    cause?: unknown,
    opts: { side?: Side | undefined; retrySchedule?: RetrySchedule | undefined } = {},
  ) {
    super(message, { cause });
    this.reason = reason;
    this.code = reason;
    this.side = opts.side;
    this.retrySchedule = opts.retrySchedule ?? scheduleFor(reason, cause);
  }

  /** The same failure with another message (e.g. with secret values blanked), without the cause. */
  withMessage(message: string): StepError {
    return new StepError(this.reason, message, undefined, {
      side: this.side,
      retrySchedule: this.retrySchedule,
    });
  }

  /** The same failure, attributed to `side` unless a side is already known. */
  onSide(side: Side): StepError {
    if (this.side) return this;
    return new StepError(this.reason, this.message, this.cause, { side, retrySchedule: this.retrySchedule });
  }
}

function scheduleFor(reason: ReasonName, cause: unknown): RetrySchedule | undefined {
  if (reason === Reason.ResourceInvalid) return retrySchedules.resourceInvalid;
  // A call was made (attempts > 0): the apparatus answered badly or not at all. An endpoint the
  // allow-list refuses made no call and keeps the controller's backoff.
  if (isApparatusError(cause) && cause.attempts > 0) return retrySchedules.apparatus;
  return undefined;
}

/** True for an API server answer that refuses the object itself (422 Invalid, 400 BadRequest). */
export function isInvalidObject(err: unknown): boolean {
  return err instanceof ApiError && (err.status === 422 || err.status === 400);
}

/** Classifies any error thrown by a step into a StepError with a condition reason. */
export function toStepError(err: unknown, context?: string): StepError {
  if (err instanceof StepError) return err;
  const prefix = context ? `${context}: ` : '';
  if (err instanceof ApiError) {
    if (err.status === 403) return new StepError(Reason.Forbidden, `${prefix}${err.message}`, err);
    // The API server's message names the object and the field ("Job.batch "x" is invalid:
    // spec.template.spec.restartPolicy: Required value").
    if (isInvalidObject(err)) return new StepError(Reason.ResourceInvalid, `${prefix}${err.message}`, err);
    return new StepError(Reason.Error, `${prefix}${err.message}`, err);
  }
  if (isApparatusError(err)) {
    return new StepError(err.conditionReason as ReasonName, `${prefix}${err.message}`, err);
  }
  if (err instanceof Error && err.name === 'TemplateError') {
    return new StepError(Reason.TemplateError, `${prefix}${err.message}`, err);
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new StepError(Reason.Error, `${prefix}${msg}`, err);
}
