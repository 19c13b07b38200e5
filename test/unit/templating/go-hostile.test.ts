// Hostile templates in the Go dialect: each must fail cleanly (a GoTemplateError with a stable code and a
// clear message) and quickly (well inside the test timeout), never hang, exhaust memory or reach the host.

import { describe, expect, it } from 'vitest';
import {
  GoTemplateError,
  type GoTemplateErrorCode,
  renderGoTemplate,
} from '../../../src/templating/go/engine.ts';

function failure(template: string, data: unknown = {}): GoTemplateError {
  try {
    renderGoTemplate(template, data, { seed: 'hostile' });
  } catch (e) {
    if (e instanceof GoTemplateError) return e;
    throw e;
  }
  throw new Error('template rendered, expected an error');
}

const recurse = '{% define "r" %}{% template "r" . %}{% end %}{% template "r" . %}';
const mutual =
  '{% define "a" %}{% template "b" . %}{% end %}{% define "b" %}x{% template "a" . %}{% end %}{% template "a" . %}';

const cases: Array<{ name: string; template: string; code: GoTemplateErrorCode; message: RegExp }> = [
  {
    name: 'env',
    template: '{% env "HOME" %}',
    code: 'GO_TEMPLATE_UNAVAILABLE',
    message: /"env" is not available.*environment/,
  },
  {
    name: 'expandenv',
    template: '{% expandenv "$HOME" %}',
    code: 'GO_TEMPLATE_UNAVAILABLE',
    message: /"expandenv" is not available/,
  },
  {
    name: 'getHostByName',
    template: '{% getHostByName "example.com" %}',
    code: 'GO_TEMPLATE_UNAVAILABLE',
    message: /network/,
  },
  {
    name: 'genPrivateKey',
    template: '{% genPrivateKey "rsa" %}',
    code: 'GO_TEMPLATE_UNAVAILABLE',
    message: /not available/,
  },
  { name: 'now', template: '{% now %}', code: 'GO_TEMPLATE_UNAVAILABLE', message: /deterministic/ },
  { name: 'call', template: '{% call . %}', code: 'GO_TEMPLATE_EXEC', message: /call is not supported/ },
  {
    name: 'until 1e8',
    template: '{% until 100000000 | len %}',
    code: 'GO_TEMPLATE_LIMIT',
    message: /list of 100000000 elements/,
  },
  {
    name: 'range over until 1e8',
    template: '{% range until 100000000 %}x{% end %}',
    code: 'GO_TEMPLATE_LIMIT',
    message: /elements exceeds/,
  },
  {
    name: 'untilStep 1e9',
    template: '{% untilStep 0 1000000000 1 | len %}',
    code: 'GO_TEMPLATE_LIMIT',
    message: /elements exceeds/,
  },
  {
    name: 'huge repeat',
    template: '{% repeat 100000000 "x" %}',
    code: 'GO_TEMPLATE_LIMIT',
    message: /repeat would build/,
  },
  {
    name: 'nested repeat',
    template: '{% repeat 1000 (repeat 1000 (repeat 1000 "x")) %}',
    code: 'GO_TEMPLATE_LIMIT',
    message: /limit/,
  },
  {
    name: 'huge indent',
    template: '{% indent 100000000 "x" %}',
    code: 'GO_TEMPLATE_LIMIT',
    message: /indent would build/,
  },
  {
    name: 'random string bomb',
    template: '{% randAlphaNum 100000000 %}',
    code: 'GO_TEMPLATE_LIMIT',
    message: /exceeds the limit/,
  },
  {
    name: 'recursion through template',
    template: recurse,
    code: 'GO_TEMPLATE_LIMIT',
    message: /nest deeper than 100/,
  },
  { name: 'mutual recursion', template: mutual, code: 'GO_TEMPLATE_LIMIT', message: /nest deeper than 100/ },
  {
    name: 'nested ranges',
    template: '{% range until 2000 %}{% range until 2000 %}{% end %}{% end %}',
    code: 'GO_TEMPLATE_LIMIT',
    message: /iterations/,
  },
  {
    name: 'output bomb',
    template: '{% range until 5000 %}{% repeat 1000 "x" %}{% end %}',
    code: 'GO_TEMPLATE_LIMIT',
    message: /output exceeds/,
  },
  {
    name: 'quadratic append',
    template: '{% $l := list %}{% range until 50000 %}{% $l = append $l . %}{% end %}',
    code: 'GO_TEMPLATE_LIMIT',
    message: /work limit/,
  },
  {
    name: 'printf width in range',
    template: '{% printf "%9999999d" 1 %}',
    code: 'GO_TEMPLATE_LIMIT',
    message: /format width/,
  },
  {
    name: 'printf precision',
    template: '{% printf "%.9999999f" 1.5 %}',
    code: 'GO_TEMPLATE_LIMIT',
    message: /precision/,
  },
  {
    name: 'printf star width',
    template: '{% printf "%*d" 999999 1 | repeat 100 %}',
    code: 'GO_TEMPLATE_LIMIT',
    message: /limit/,
  },
  {
    name: 'regex program too large',
    template: '{% regexMatch "((a{100}){100}){100}" "a" | not %}{% regexFind "((a{100}){100}){100}" "a" %}',
    code: 'GO_TEMPLATE_EXEC',
    message: /expression too large/,
  },
  {
    name: 'regex work bomb',
    template: '{% regexFind "(a{1,100}){1,50}b" (repeat 100000 "a") %}',
    code: 'GO_TEMPLATE_LIMIT',
    message: /work limit/,
  },
  {
    name: 'deeply nested parentheses',
    template: `{% ${'('.repeat(20000)}1${')'.repeat(20000)} %}`,
    code: 'GO_TEMPLATE_LIMIT',
    message: /too deep|depth/,
  },
  {
    name: 'deep if nesting',
    template: `${'{% if true %}'.repeat(20000)}x${'{% end %}'.repeat(20000)}`,
    code: 'GO_TEMPLATE_LIMIT',
    message: /too deep/,
  },
  {
    name: 'template too long',
    template: `${'x'.repeat(1 << 20)}y`,
    code: 'GO_TEMPLATE_LIMIT',
    message: /template longer than/,
  },
  {
    name: 'fail',
    template: '{% fail "stop here" %}',
    code: 'GO_TEMPLATE_EXEC',
    message: /error calling fail: stop here/,
  },
];

describe('hostile Go templates', () => {
  for (const c of cases) {
    it(`${c.name} fails cleanly`, { timeout: 10_000 }, () => {
      const e = failure(c.template);
      expect(e.code).toBe(c.code);
      expect(e.message).toMatch(c.message);
      expect(e.message.length).toBeLessThan(300);
    });
  }

  it("printf width bombs beyond Go's own cap render as Go does (%!(NOVERB))", () => {
    expect(renderGoTemplate('{% printf "%999999999d" 1 %}', {}, { seed: 's' }).output).toBe(
      '%!(NOVERB)%!(EXTRA int=1)',
    );
  });

  it('catastrophic backtracking patterns run in linear time and give RE2 answers', {
    timeout: 10_000,
  }, () => {
    const t = '{% regexMatch "^(a+)+$" .s %} {% regexMatch "^(a|aa)*$" .s %} {% regexMatch "(x+x+)+y" .x %}';
    const out = renderGoTemplate(t, { s: `${'a'.repeat(5000)}b`, x: 'x'.repeat(5000) }, { seed: 's' }).output;
    expect(out).toBe('false false false');
  });

  it('data nested too deeply is refused', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 500; i++) deep = { a: deep };
    expect(() => renderGoTemplate('{% .a %}', deep, { seed: 's' })).toThrow(/nested too deeply/);
  });

  it('templates cannot touch prototypes or host objects', () => {
    const t =
      '{% .constructor %}|{% index . "__proto__" %}|{% $d := dict "__proto__" "x" "toString" "y" %}{% $d.__proto__ %}{% $d.toString %}|{% .toString %}';
    const data = JSON.parse('{"__proto__": {"polluted": true}}');
    const r = renderGoTemplate(t, data, { seed: 's' });
    expect(r.output).toBe('|map[polluted:true]|xy|');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(r.missingKeys).toEqual(['.constructor', '.toString']);
  });
});
