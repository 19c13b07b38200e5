// A failed step of a reconcile, carried as data: the condition reason, a human message (never a
// secret value) and whether retrying can help without a change to the objects.
import { isApparatusError } from '../apparatus/index.ts';
import { Reason, type ReasonName } from '../integration/conditions.ts';
import { ApiError } from '../kube/errors.ts';

export class StepError extends Error {
  override name = 'StepError';
  readonly reason: ReasonName;
  readonly code: string;

  constructor(reason: ReasonName, message: string, cause?: unknown) {
    super(message, { cause });
    this.reason = reason;
    this.code = reason;
  }
}

/** Classifies any error thrown by a step into a StepError with a condition reason. */
export function toStepError(err: unknown, context?: string): StepError {
  if (err instanceof StepError) return err;
  const prefix = context ? `${context}: ` : '';
  if (err instanceof ApiError) {
    if (err.status === 403) return new StepError(Reason.Forbidden, `${prefix}${err.message}`, err);
    if (err.status === 422 || err.status === 400)
      return new StepError(Reason.Error, `${prefix}${err.message}`, err);
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
