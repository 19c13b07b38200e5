import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { containsSecret, redactSecrets, secretStrings } from '../../../src/integration/secrets.ts';

describe('secret redaction', () => {
  it('blanks every occurrence, longest value first, and ignores short or boolean-like values', () => {
    const secrets = secretStrings(['hunter2', 'hunter2-extended', 'abc', 'true', 'hunter2']);
    expect(secrets).toEqual(['hunter2-extended', 'hunter2']);
    expect(redactSecrets('a hunter2-extended b hunter2 c hunter2 true abc', secrets)).toBe(
      'a *** b *** c *** true abc',
    );
    expect(containsSecret('x hunter2 y', secrets)).toBe(true);
    expect(containsSecret('x hunter y', secrets)).toBe(false);
  });

  it('never leaves a secret of 4 or more characters in the text', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ minLength: 4, maxLength: 8 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.string()),
        (values, parts) => {
          const secrets = secretStrings(values);
          const text = parts.join(values[0]!);
          const out = redactSecrets(text, secrets);
          for (const s of secrets) {
            // a secret may reappear only when made of *** and its surroundings; not the case here
            if (!s.includes('*')) expect(out.includes(s)).toBe(false);
          }
        },
      ),
    );
  });
});

describe('redactedError', () => {
  it('keeps the reason and blanks Secret values out of the message', async () => {
    const { redactedError } = await import('../../../src/controllers/resolve.ts');
    const { StepError } = await import('../../../src/controllers/errors.ts');
    const e = redactedError(
      new StepError('TemplateError', 'resources[0]: line 1: Error: leak: s3cr3t-value'),
      ['s3cr3t-value', 'x'],
    );
    expect(e.reason).toBe('TemplateError');
    expect(e.message).toBe('resources[0]: line 1: Error: leak: ***');
    const untouched = new StepError('Error', 'nothing secret');
    expect(redactedError(untouched, ['s3cr3t-value'])).toBe(untouched);
  });
});
