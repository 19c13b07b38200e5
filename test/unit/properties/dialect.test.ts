// Property tests of dialect detection (src/templating/dialect.ts): text without tags is 'none', Go
// shorthand and actions are 'go', eta tags are 'eta', a template mixing both fails with a message
// naming both, and any tenant text is classified (or refused with a TemplateError) in linear time.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyzeTemplate, detectDialect } from '../../../src/templating/dialect.ts';
import { TemplateError } from '../../../src/templating/errors.ts';

const ident = fc
  .stringMatching(/^[a-zA-Z][a-zA-Z0-9_]{0,6}$/)
  .filter(
    (s) =>
      ![
        'it',
        'end',
        'if',
        'else',
        'range',
        'with',
        'define',
        'block',
        'template',
        'nil',
        'true',
        'false',
        'break',
        'continue',
      ].includes(s),
  );
const fieldPath = fc.array(ident, { minLength: 1, maxLength: 3 }).map((p) => `.${p.join('.')}`);
const text = fc.string({ maxLength: 12 }).filter((s) => !s.includes('{%') && !s.endsWith('{'));
const trimOpen = fc.constantFrom('{%', '{%-', '{%- ');
const trimClose = fc.constantFrom('%}', '-%}', ' -%}');

const goTag = fc.oneof(
  fc.tuple(trimOpen, fieldPath, trimClose).map(([o, p, c]) => `${o} ${p} ${c}`),
  fc
    .tuple(fieldPath, fc.constantFrom('quote', 'upper', 'b64enc', 'toJson'))
    .map(([p, f]) => `{% ${p} | ${f} %}`),
  fc.tuple(fieldPath, text).map(([p, t]) => `{%- if ${p} %}${t}{%- end %}`),
  fc.tuple(fieldPath).map(([p]) => `{% range $i, $v := ${p} %}{% $v %}{% end %}`),
  fc.tuple(fieldPath).map(([p]) => `{% default "x" ${p} %}`),
);
const etaTag = fc.oneof(
  fc.array(ident, { minLength: 1, maxLength: 3 }).map((p) => `{%= it.${p.join('.')} %}`),
  fc.array(ident, { minLength: 1, maxLength: 3 }).map((p) => `{%~ it.${p.join('.')} %}`),
  fc.tuple(ident, text).map(([p, t]) => `{% if (it.${p}) { %}${t}{% } %}`),
  fc.constant('{% for (const x of it.list) { %}{%= x %}{% } %}'),
);
const template = (tag: fc.Arbitrary<string>) =>
  fc
    .array(fc.tuple(text, tag), { minLength: 1, maxLength: 4 })
    .chain((parts) => text.map((tail) => parts.map(([t, g]) => t + g).join('') + tail));

describe('dialect detection (properties)', () => {
  it('text without {% is none', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        fc.pre(!s.includes('{%'));
        expect(detectDialect(s)).toBe('none');
      }),
      { numRuns: 1000 },
    );
  });

  it('templates made of Go actions are go; of eta tags, eta', () => {
    fc.assert(
      fc.property(template(goTag), (t) => {
        expect(detectDialect(t)).toBe('go');
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(template(etaTag), (t) => {
        expect(detectDialect(t)).toBe('eta');
      }),
      { numRuns: 1000 },
    );
  });

  it('a template mixing both is refused with a message that shows both tags', () => {
    fc.assert(
      fc.property(template(goTag), template(etaTag), fc.boolean(), (g, e, goFirst) => {
        const t = goFirst ? g + e : e + g;
        try {
          detectDialect(t);
          expect.unreachable(`mixed template accepted: ${t}`);
        } catch (err) {
          expect(err).toBeInstanceOf(TemplateError);
          expect((err as TemplateError).message).toMatch(/mixes the Go dialect .* and the eta dialect/);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('any text is classified or refused with a TemplateError, never another error', () => {
    const unit = fc.constantFrom(
      '{%',
      '%}',
      '-',
      '_',
      '=',
      '~',
      '.',
      '$',
      '|',
      '"',
      "'",
      '`',
      '(',
      ')',
      '{',
      '}',
      ' ',
      '\n',
      'a',
      'if',
      'end',
      'it',
      '/*',
      '*/',
      '\\',
    );
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 40 }), (s) => {
        try {
          expect(['none', 'go', 'eta']).toContain(detectDialect(s));
        } catch (err) {
          expect(err).toBeInstanceOf(TemplateError);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('classification is per tag: every tag of a one-dialect template agrees or is neutral', () => {
    fc.assert(
      fc.property(template(goTag), (t) => {
        for (const tag of analyzeTemplate(t).tags) expect(tag.dialect).not.toBe('eta');
      }),
    );
  });

  it('is linear: a huge template of many tags is analysed without blowing up', () => {
    // Tenant text reaches this on the operator's event loop, outside the sandbox.
    const big = '{% .a.b %}x'.repeat(50_000) + '{%'.repeat(50_000) + '%}'.repeat(50_000);
    expect(() => detectDialect(big)).not.toThrow(RangeError);
  });
});
