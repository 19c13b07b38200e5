// The engine's own contract, beyond Go compatibility: missing-key reporting, seeded randomness, errors with
// positions, delimiters and limits.

import { describe, expect, it } from 'vitest';
import { GoTemplateError, renderGoTemplate } from '../../../src/templating/go/engine.ts';

const render = (t: string, data: unknown = {}, seed = 'seed') => renderGoTemplate(t, data, { seed });

function errorOf(f: () => unknown): GoTemplateError {
  try {
    f();
  } catch (e) {
    if (e instanceof GoTemplateError) return e;
    throw e;
  }
  throw new Error('expected a GoTemplateError');
}

describe('renderGoTemplate', () => {
  it('renders the Go operator README examples', () => {
    const data = { plugConfig: { hello: 'world' }, vars: { ingressHost: 'app.example.com' } };
    expect(render('value: "{% .plugConfig.hello %}"', data).output).toBe('value: "world"');
    expect(render('{% .vars.ingressHost %}', data).output).toBe('app.example.com');
    const job = '{%- if (eq .result.resultJob "1") %}\nkind: Job\n{%- endif %}\n';
    expect(render(job, { result: { resultJob: '1' } }).output).toBe('\nkind: Job\n');
    expect(render(job, { result: { resultJob: '0' } }).output).toBe('\n');
  });

  it('reuses the converted data between templates of one render (reuseData), and converts afresh after a map was changed in place', () => {
    const data = { a: { b: 'one' } };
    const go = (t: string, reuseData: boolean) => renderGoTemplate(t, data, { seed: 's', reuseData }).output;
    expect(go('{% .a.b %}', false)).toBe('one');
    // The caller breaks its promise on purpose here, to show that the converted value is reused.
    data.a.b = 'two';
    expect(go('{% .a.b %}', true)).toBe('one');
    expect(go('{% .a.b %}', false)).toBe('two');
    // set, unset and merge change a map in place: the next template gets the data as it was.
    expect(go('{% $_ := set .a "b" "three" %}{% .a.b %}', true)).toBe('three');
    expect(go('{% .a.b %}', true)).toBe('two');
    expect(go('{% $_ := unset .a "b" %}{% .a.b %}', true)).toBe('');
    expect(go('{% .a.b %}', true)).toBe('two');
    expect(go('{% $_ := merge .a (dict "c" "x") %}{% .a.c %}', true)).toBe('x');
    expect(go('{% .a.c %}|{% .a.b %}', true)).toBe('|two');
  });

  it('renders a missing key as empty and reports its path once, in order', () => {
    const r = render(
      '{% .plugConfig.foo %}|{% .plugConfig.foo %}|{% $c := .plugConfig %}{% $c.bar %}|{% .nope.deeper %}|{% (dict).x %}',
      { plugConfig: { hello: 'world' } },
    );
    expect(r.output).toBe('||||');
    expect(r.missingKeys).toEqual(['.plugConfig.foo', '$c.bar', '.nope', '(dict).x']);
  });

  it('does not report keys that are only tested or defaulted', () => {
    const r = render('{% if .a %}x{% end %}{% .b | default "d" %}{% with .c %}y{% end %}{% hasKey . "e" %}');
    expect(r.output).toBe('dfalse');
    expect(r.missingKeys).toEqual([]);
  });

  it('prints integral numbers from JSON as integers', () => {
    expect(
      render('{% .n %} {% .m %} {% .f %} {% toJson . %}', { n: 1000000, m: 1e15, f: 1.5e-7 }).output,
    ).toBe('1000000 1000000000000000 1.5e-07 {"f":1.5e-7,"m":1000000000000000,"n":1000000}');
  });

  it('gives random functions values that are stable for a seed and differ between seeds', () => {
    const t = '{% randAlphaNum 16 %} {% uuidv4 %} {% randNumeric 4 %} {% shuffle "abcdefghij" %}';
    const a = render(t, {}, 'plug-uid/socket-uid').output;
    expect(render(t, {}, 'plug-uid/socket-uid').output).toBe(a);
    expect(render(t, {}, 'other-seed').output).not.toBe(a);
    expect(a).toMatch(
      /^[A-Za-z0-9]{16} [0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12} \d{4} \w{10}$/,
    );
  });

  it('throws GoTemplateError with a code, line and column', () => {
    const parse = errorOf(() => render('line one\n  {% .x | nosuch %}'));
    expect(parse).toMatchObject({ name: 'GoTemplateError', code: 'GO_TEMPLATE_PARSE', line: 2, column: 11 });
    expect(parse.message).toBe('line 2, column 11: function "nosuch" not defined');

    const exec = errorOf(() => render('a\nb {% upper .n %}', { n: 1 }));
    expect(exec).toMatchObject({ code: 'GO_TEMPLATE_EXEC', line: 2 });
    expect(exec.message).toMatch(/wrong type for value; expected string; got float64/);

    const call = errorOf(() => render('{% fail "boom" %}'));
    expect(call.message).toBe('line 1, column 4: error calling fail: boom');
  });

  it('accepts other delimiters', () => {
    expect(
      renderGoTemplate('{{ .a }} {% .a %}', { a: 1 }, { seed: 's', leftDelim: '{{', rightDelim: '}}' })
        .output,
    ).toBe('1 {% .a %}');
  });

  it('lets the caller tighten limits', () => {
    const e = errorOf(() =>
      renderGoTemplate('{% range until 20 %}x{% end %}', {}, { seed: 's', limits: { maxIterations: 10 } }),
    );
    expect(e.code).toBe('GO_TEMPLATE_LIMIT');
    const o = errorOf(() =>
      renderGoTemplate('{% repeat 50 "x" %}', {}, { seed: 's', limits: { maxOutput: 10 } }),
    );
    expect(o.message).toMatch(/output exceeds the limit of 10 characters/);
  });

  it('does not alias or modify the caller data', () => {
    const data = { m: { a: 1 }, l: [1] };
    render('{% $_ := set .m "b" 2 %}{% $_ := append .l 2 %}{% .m %}', data);
    expect(data).toEqual({ m: { a: 1 }, l: [1] });
  });
});
