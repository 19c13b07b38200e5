// The Go shorthand engine, called directly (it is a pure module); the same code runs inside the sandbox
// (render.test.ts checks it there too).
import { describe, expect, it } from 'vitest';
import { GoTemplateError, renderGoTemplate } from '../../../src/templating/sandbox/go-shorthand.ts';

const data = {
  plugConfig: {
    hello: 'world',
    quote: 'a "b": c',
    replicas: 3,
    big: 1000000,
    huge: 1e21,
    ratio: 0.5,
    on: true,
  },
  socketConfig: {
    nested: { deep: { value: 'x' } },
    list: [1, 'two', null],
    map: { b: 2, a: 'one' },
    nothing: null,
  },
  text: 'plain',
};

function render(src: string) {
  return renderGoTemplate(src, data, { seed: 's' });
}

function failure(src: string): GoTemplateError {
  try {
    render(src);
  } catch (e) {
    if (e instanceof GoTemplateError) return e;
    throw e;
  }
  throw new Error(`expected ${src} to fail`);
}

describe('Go shorthand: path lookups', () => {
  it('renders paths as Go printed them, integers as integers', () => {
    expect(
      render('a: {% .plugConfig.hello %}\nb: {% .plugConfig.replicas %}\nc: {% .plugConfig.big %}').output,
    ).toBe('a: world\nb: 3\nc: 1000000');
    expect(render('{% .plugConfig.ratio %} {% .plugConfig.on %} {% .plugConfig.huge %}').output).toBe(
      '0.5 true 1e+21',
    );
    expect(render('{% .socketConfig.nested.deep.value %}').output).toBe('x');
  });

  it('renders maps and slices with Go formatting (sorted keys, <nil>)', () => {
    expect(render('{% .socketConfig.map %}|{% .socketConfig.list %}').output).toBe(
      'map[a:one b:2]|[1 two <nil>]',
    );
  });

  it('renders a missing key as "" and reports its path; null renders as "" without a warning', () => {
    const r = render(
      'x: "{% .plugConfig.foo %}" y: "{% .nope.deeper %}" z: "{% .socketConfig.nothing %}" {% .plugConfig.foo %}',
    );
    expect(r.output).toBe('x: "" y: "" z: "" ');
    expect(r.missingKeys).toEqual(['.plugConfig.foo', '.nope.deeper']);
  });

  it('never reaches JavaScript internals through a path', () => {
    const r = render('{% .constructor %}|{% .plugConfig.__proto__ %}|{% .plugConfig.hasOwnProperty %}');
    expect(r.output).toBe('||');
    expect(r.missingKeys).toEqual(['.constructor', '.plugConfig.__proto__', '.plugConfig.hasOwnProperty']);
  });

  it('fails like Go on a field of a non-map value', () => {
    const e = failure('a\n{% .text.length %}');
    expect(e.code).toBe('TemplateRuntime');
    expect(e.message).toBe("line 2: can't evaluate field length in type string (at .text)");
  });

  it('renders the whole data for `.`', () => {
    expect(renderGoTemplate('{% . %}', { b: 1, a: [true] }, { seed: '' }).output).toBe('map[a:[true] b:1]');
  });
});

describe('Go shorthand: trim markers and comments', () => {
  it('trims all adjacent whitespace as Go does', () => {
    expect(render('a:  \n\t {%- .plugConfig.hello -%} \n\n  :b').output).toBe('a:world:b');
    expect(render('a {%- .plugConfig.hello %} b').output).toBe('aworld b');
    expect(render('a {% .plugConfig.hello -%} b').output).toBe('a worldb');
  });

  it('drops comments, with their trim markers', () => {
    expect(render('a {%/* note */%} b').output).toBe('a  b');
    expect(render('a \n {%- /* note */ -%} \n b').output).toBe('ab');
  });

  it('is not confused by %} inside a string', () => {
    expect(failure('{% "%}" %}').code).toBe('TemplateUnsupported');
  });
});

describe('Go shorthand: anything else fails with the eta spelling', () => {
  it.each([
    [
      '{% .x | quote %}',
      'line 1: Go pipelines are not supported yet; in eta write {%= JSON.stringify(it.x) %}',
    ],
    ['{% .a.b | default "z" %}', 'Go pipelines are not supported yet; in eta write {%= (it.a.b || "z") %}'],
    ['{% quote .x %}', 'Go function calls are not supported yet; in eta write {%= JSON.stringify(it.x) %}'],
    ['{% .x | upper | quote %}', '{%= JSON.stringify(String(it.x).toUpperCase()) %}'],
    ['{% .x | nindent 4 %}', 'String(it.x).replace(/^/gm, " ".repeat(4))'],
    [
      '{% if eq .a "1" %}x{% end %}',
      'Go `if` is not supported yet; in eta write {% if (it.a === "1") { %} … {% } %}',
    ],
    ['{% if .a %}x{% else %}y{% end %}', '{% if (it.a) { %}'],
    ['{% range .list %}x{% end %}', '{% for (const item of it.list) { %} … {% } %}'],
    ['{% range $k, $v := .map %}x{% end %}', '{% for (const [k, v] of Object.entries(it.map)) { %}'],
    ['{% with .a %}x{% end %}', 'Go `with` is not supported yet; in eta write {% if (it.a) { %} … {% } %}'],
    ['{% printf "%s-%s" .a .b %}', 'in eta write a template literal'],
    ['{% $.a.b %}', 'Go variables are not supported yet; in eta write {%= it.a.b %}'],
    ['{% $x := 1 %}', 'Go variables are not supported yet'],
    ['{% template "x" . %}', 'named templates'],
    ['{% env "HOME" %}', "`env` does not exist here: templates cannot read the operator's environment"],
    ['{% b64enc .a %}', 'Go function `b64enc` is not supported yet'],
  ])('%s', (src, message) => {
    const e = failure(src);
    expect(e.code).toBe('TemplateUnsupported');
    expect(e.message).toContain(message);
  });

  it('checks the whole template before rendering anything (as Go parses first)', () => {
    expect(failure('{% .plugConfig.hello %}\n{% .x | quote %}').message).toMatch(/^line 2: /);
  });

  it.each([
    ['{% %}', 'line 1: missing value for command'],
    ['{% .a', 'line 1: unclosed action'],
    ['{% "x %}', 'line 1: unterminated quoted string'],
    ['x\n{%/* open', 'line 2: unclosed comment'],
    ['{%/* c */ x %}', 'line 1: comment ends before closing delimiter'],
  ])('syntax error %j', (src, message) => {
    const e = failure(src);
    expect(e.code).toBe('TemplateSyntax');
    expect(e.message).toBe(message);
  });
});
