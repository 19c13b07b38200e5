import { describe, expect, it } from 'vitest';
import {
  analyzeTemplate,
  detectDialect,
  etaBraceBalance,
  unbalancedGoBlock,
} from '../../../src/templating/dialect.ts';
import { TemplateError } from '../../../src/templating/errors.ts';
import { lexGoAction, significantTokens } from '../../../src/templating/sandbox/go-lexer.ts';
import { scanTags } from '../../../src/templating/tags.ts';

describe('detectDialect', () => {
  it.each([
    // no tags
    ['plain: text\nwith: lines\n', 'none'],
    ['closing only %} here', 'none'],
    ['', 'none'],
    // Go actions
    ['name: {% .plugConfig.hello %}', 'go'],
    ['{%- .a -%}', 'go'],
    ['{% . %}', 'go'],
    ['{% $x := .a %}{% $x %}', 'go'],
    ['{% $.a %}', 'go'],
    ['{%- if eq .a "1" %}yes{%- end %}', 'go'],
    ['{% if .a %}x{% else %}y{% end %}', 'go'],
    ['{% range $i, $v := .list %}{% $v %}{% end %}', 'go'],
    ['{% with .a %}{% .b %}{% end %}', 'go'],
    ['{% define "x" %}a{% end %}{% template "x" . %}', 'go'],
    ['{% block "x" . %}a{% end %}', 'go'],
    ['{% .x | quote %}', 'go'],
    ['{% quote .x %}', 'go'],
    ['{% printf "%s-%d" .a 3 %}', 'go'],
    ['{% default "a" .b %}', 'go'],
    ['{% env "HOME" %}', 'go'],
    ['{% now %}', 'go'],
    ['{% "literal" %}', 'go'],
    ['{%/* a comment */%}text', 'go'],
    ['{%- /* a comment */ -%}text', 'go'],
    ['{% (.a) | upper %}', 'go'],
    // eta
    ['{%= it.a %}', 'eta'],
    ['{%~ it.html %}', 'eta'],
    ['{% if (it.a) { %}x{% } %}', 'eta'],
    ['{% } else { %}', 'eta'],
    ['{% for (const x of it.list) { %}{%= x %}{% } %}', 'eta'],
    ['{% const x = 1 %}', 'eta'],
    ['{% let y = it.b; %}', 'eta'],
    ['{% it.a.push(1) %}', 'eta'],
    ['{% x = 3 %}', 'eta'],
    ['{% x++ %}', 'eta'],
    ['{% /* js comment */ %}', 'eta'],
    ['{%_ it.a _%}', 'eta'],
    ['{% layout("x") %}', 'eta'],
    ['{% JSON.stringify(it) %}', 'eta'],
    ['{% while (true) {} %}', 'eta'],
    // neutral tags alone, or with eta
    ['{% %}', 'eta'],
    ['{% for (const x of it.l) { %}{% break %}{% } %}', 'eta'],
    // comments lean to Go only when nothing else decides
    ['{%/* note */%}{%= it.a %}', 'eta'],
    ['{%/* note */%}{% .a %}', 'go'],
  ])('%j is %s', (src, dialect) => {
    expect(detectDialect(src)).toBe(dialect);
  });

  it.each([
    ['{% .a %} and {%= it.b %}', 'line 1: {% .a %}', 'line 1: {%= it.b %}'],
    ['{% if (it.x) { %}\n{% .y %}\n{% } %}', 'line 2: {% .y %}', 'line 1: {% if (it.x) { %}'],
    ['{% range .l %}\n{%= it.x %}\n{% end %}', 'line 1: {% range .l %}', 'line 2: {%= it.x %}'],
  ])('a template mixing both dialects is an error that says so: %j', (src, goPart, etaPart) => {
    let caught: unknown;
    try {
      detectDialect(src);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(TemplateError);
    const err = caught as TemplateError;
    expect(err.code).toBe('TemplateDialectMixed');
    expect(err.message).toContain('mixes the Go dialect');
    expect(err.message).toContain(goPart);
    expect(err.message).toContain(etaPart);
  });

  it('scans a huge tag in linear time (a whitespace run is examined once)', () => {
    const src = `{% ${' '.repeat(2_000_000)}.a %}${'{%= it.x %}'.repeat(10_000)}`;
    const t0 = performance.now();
    const tags = scanTags(src);
    expect(tags).toHaveLength(10_001);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});

describe('scanTags', () => {
  it('finds tags as eta does: prefixes, trim markers, strings and comments holding %}', () => {
    const src = 'a {%- = it.x _%} b\n{% "%}" + \'%}\' + `%}` /* %} */ %}\n{%~ y %}';
    const tags = scanTags(src);
    expect(tags.map((t) => [t.openTrim, t.prefix, t.content, t.closeTrim, t.line])).toEqual([
      ['-', '=', 'it.x', '_', 1],
      ['', '', '"%}" + \'%}\' + `%}` /* %} */', '', 2],
      ['', '~', 'y', '', 3],
    ]);
  });

  it('stops at an unclosed tag', () => {
    const tags = scanTags('x {% .a %} y {% .b');
    expect(tags).toHaveLength(2);
    expect(tags[1]?.closed).toBe(false);
  });
});

describe('lexGoAction', () => {
  const kinds = (src: string) =>
    significantTokens(lexGoAction(src, 0, false).tokens).map((t) => `${t.kind}:${t.text}`);

  it('lexes fields, variables, keywords, strings, numbers, pipes', () => {
    expect(kinds('if eq .a.b "x" | not')).toEqual([
      'keyword:if',
      'identifier:eq',
      'field:.a',
      'field:.b',
      'string:"x"',
      'pipe:|',
      'identifier:not',
    ]);
    expect(kinds('$v := index $.list 0')).toEqual([
      'variable:$v',
      'declare::=',
      'identifier:index',
      'variable:$',
      'field:.list',
      'number:0',
    ]);
    expect(kinds('printf `%d` -1.5e3 true nil')).toEqual([
      'identifier:printf',
      'rawString:`%d`',
      'number:-1.5e3',
      'bool:true',
      'nil:nil',
    ]);
  });

  it('reports lexing errors', () => {
    expect(lexGoAction('"unterminated', 0, false).error).toBe('unterminated quoted string');
    expect(lexGoAction('a :b', 0, false).error).toBe('expected :=');
    expect(lexGoAction(')', 0, false).error).toBe('unexpected right paren');
    expect(lexGoAction('3x', 0, false).error).toMatch(/bad number syntax/);
  });

  it('stops at the Go right delimiter, with or without trim marker', () => {
    const src = '{% .a -%}   rest';
    const lexed = lexGoAction(src, 2, true);
    expect(lexed.rightTrim).toBe(true);
    expect(src.slice(lexed.end)).toBe('   rest');
    const plain = lexGoAction('{% "%}" %}x', 2, true);
    expect(plain.rightTrim).toBe(false);
    expect(plain.end).toBe(10);
  });
});

describe('block balance (object template strings)', () => {
  it('finds a Go block left open or closed without opening', () => {
    expect(unbalancedGoBlock(analyzeTemplate('{% if .a %}x'))?.problem).toMatch(/not closed/);
    expect(unbalancedGoBlock(analyzeTemplate('x{% end %}'))?.problem).toMatch(/did not open/);
    expect(unbalancedGoBlock(analyzeTemplate('{% if .a %}{% range .b %}{% end %}{% end %}'))).toBeUndefined();
  });

  it('counts eta braces outside strings and comments', () => {
    expect(etaBraceBalance(analyzeTemplate('{% if (it.a) { %}'))).toBe(1);
    expect(etaBraceBalance(analyzeTemplate('{% } %}'))).toBe(-1);
    expect(etaBraceBalance(analyzeTemplate('{% const s = "{"; /* { */ %}{% if (x) { %}{% } %}'))).toBe(0);
  });
});
