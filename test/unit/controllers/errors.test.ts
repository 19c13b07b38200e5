import { describe, expect, it } from 'vitest';
import { ApparatusError } from '../../../src/apparatus/errors.ts';
import { retrySchedules, StepError, toStepError } from '../../../src/controllers/errors.ts';
import { failingMessage } from '../../../src/controllers/socket.ts';
import { ApiError } from '../../../src/kube/errors.ts';
import { retryScheduleOf } from '../../../src/runtime/controller.ts';

const req = { method: 'PATCH', path: '/apis/batch/v1/namespaces/db/jobs/createdb-a' };

describe('step errors', () => {
  it('an object the API server refuses (422, 400) is ResourceInvalid, retried on the slow schedule', () => {
    const invalid = ApiError.fromStatus(
      422,
      {
        reason: 'Invalid',
        message:
          'Job.batch "createdb-a" is invalid: spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"',
      },
      req,
    );
    const e = toStepError(invalid, 'resources[0] of Socket db/pg: apply Job db/createdb-a');
    expect(e.reason).toBe('ResourceInvalid');
    expect(e.message).toBe(
      'resources[0] of Socket db/pg: apply Job db/createdb-a: Job.batch "createdb-a" is invalid: spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"',
    );
    expect(retryScheduleOf(e)).toEqual(retrySchedules.resourceInvalid);
    expect(retrySchedules.resourceInvalid).toMatchObject({ baseMs: 60_000, maxMs: 600_000 });
    const bad = toStepError(
      ApiError.fromStatus(400, { reason: 'BadRequest', message: '.spec: field not declared in schema' }, req),
    );
    expect(bad.reason).toBe('ResourceInvalid');
    // Other API errors keep the controller's backoff.
    const conflict = toStepError(ApiError.fromStatus(409, { reason: 'Conflict', message: 'x' }, req));
    expect(conflict.reason).toBe('Error');
    expect(retryScheduleOf(conflict)).toBeUndefined();
    expect(toStepError(ApiError.fromStatus(403, { message: 'no' }, req)).reason).toBe('Forbidden');
  });

  it('a failed apparatus call is retried on the apparatus schedule (1 s doubling to 5 min); a refused endpoint is not', () => {
    const answered = new ApparatusError('HttpError', 'apparatus POST http://x/coupled answered HTTP 500', {
      url: 'http://x/coupled',
      status: 500,
      attempts: 1,
    });
    const e = toStepError(answered, 'apparatus /coupled of Socket db/pg');
    expect(e.reason).toBe('ApparatusUnavailable');
    expect(retryScheduleOf(e)).toEqual({ name: 'apparatus', baseMs: 1_000, maxMs: 300_000 });
    const refused = new ApparatusError('NotAllowed', 'refused', { url: 'http://x' });
    expect(retryScheduleOf(toStepError(refused))).toBeUndefined();
  });

  it('keeps its side and schedule through a redacted copy and a side attribution', () => {
    const e = toStepError(ApiError.fromStatus(422, { message: 'Secret "s" is invalid: data.pw' }, req));
    const socketSide = e.onSide('socket');
    expect(socketSide.side).toBe('socket');
    expect(socketSide.onSide('plug').side).toBe('socket'); // a known side stays
    const copy = socketSide.withMessage('Secret "s" is invalid: data.***');
    expect(copy).toBeInstanceOf(StepError);
    expect(copy).toMatchObject({
      reason: 'ResourceInvalid',
      side: 'socket',
      message: 'Secret "s" is invalid: data.***',
    });
    expect(copy.cause).toBeUndefined(); // the unredacted original is not carried along
    expect(retryScheduleOf(copy)).toEqual(retrySchedules.resourceInvalid);
  });
});

describe('socket Ready message for couplings failing on its side', () => {
  it('counts them all and names the first three with their reason', () => {
    const f = (key: string) => ({ key, reason: 'ResourceInvalid', message: `Job ${key} is invalid` });
    expect(failingMessage([f('app/a')])).toBe(
      '1 plug fails on the socket side: app/a (ResourceInvalid): Job app/a is invalid',
    );
    expect(failingMessage(['app/a', 'app/b', 'app/c', 'app/d', 'app/e'].map(f))).toBe(
      '5 plugs fail on the socket side: app/a (ResourceInvalid): Job app/a is invalid; app/b (ResourceInvalid): Job app/b is invalid; app/c (ResourceInvalid): Job app/c is invalid; and 2 more',
    );
  });
});
