// Object templates (values inserted as values, one round trip) and text templates (YAML documents).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  parseYamlDocuments,
  renderConfigTemplate,
  renderObjectTemplate,
  renderTextTemplateDocuments,
  TemplateError,
  TemplateRenderer,
} from '../../../src/templating/index.ts';

let r: TemplateRenderer;
beforeAll(() => {
  r = new TemplateRenderer({ workers: 2 });
});
afterAll(async () => {
  await r.close();
});

const data = {
  plug: { metadata: { name: 'app', namespace: 'team-a' } },
  plugConfig: {
    // Values that would break or inject structure if they were spliced into text.
    evil: 'x", "injected": "yes',
    multiline: 'line1\nline2: {a: 1}\n- item',
    colon: 'key: value',
    replicas: 3,
  },
};

describe('renderObjectTemplate', () => {
  it('inserts rendered strings as values: quotes, newlines and `: ` cannot change the structure', async () => {
    const template = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: '{%= it.plug.metadata.name %}-cfg', labels: { app: '{% .plug.metadata.name %}' } },
      data: {
        evil: '{%= it.plugConfig.evil %}',
        multiline: '{%= it.plugConfig.multiline %}',
        colon: 'prefix {%= it.plugConfig.colon %}',
        '{%= it.plug.metadata.name %}-key': 'templated key',
      },
      list: ['{%= it.plugConfig.colon %}', 7, true, null, ['{%= it.plug.metadata.namespace %}']],
    };
    const { value, warnings } = await renderObjectTemplate(r, template, data);
    expect(warnings).toEqual([]);
    expect(value).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'app-cfg', labels: { app: 'app' } },
      data: {
        evil: 'x", "injected": "yes',
        multiline: 'line1\nline2: {a: 1}\n- item',
        colon: 'prefix key: value',
        'app-key': 'templated key',
      },
      list: ['key: value', 7, true, null, ['team-a']],
    });
  });

  it('keeps a rendered leaf a string, even a single interpolation of a number', async () => {
    const { value } = await renderObjectTemplate(
      r,
      { spec: { replicas: '{%= it.plugConfig.replicas %}' } },
      data,
    );
    expect(value).toEqual({ spec: { replicas: '3' } });
  });

  it('renders every string of the object in ONE sandbox round trip', async () => {
    const template = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, `{%= ${i} %}`]));
    const before = r.stats().roundTrips;
    const { value } = await renderObjectTemplate(r, template, {});
    expect(r.stats().roundTrips).toBe(before + 1);
    expect((value as Record<string, string>).k29).toBe('29');
  });

  it('gives every Go string the data as it was: a map one of them changes in place (set, unset) is not changed for the next', async () => {
    const template = {
      a: '{% $_ := set .plug.metadata "name" "changed" %}{% .plug.metadata.name %}',
      b: '{% .plug.metadata.name %}',
      c: '{% $_ := unset .plugConfig "colon" %}[{% .plugConfig.colon %}]',
      d: '{% .plugConfig.colon %}',
    };
    const { value } = await renderObjectTemplate(r, template, data);
    expect(value).toEqual({ a: 'changed', b: 'app', c: '[]', d: 'key: value' });
  });

  it('makes no round trip for an object without tags', async () => {
    const before = r.stats().roundTrips;
    const template = { a: { b: ['c', 1] } };
    expect((await renderObjectTemplate(r, template, {})).value).toEqual(template);
    expect(r.stats().roundTrips).toBe(before);
  });

  it('reports missing keys with the path of the string', async () => {
    const { warnings } = await renderObjectTemplate(
      r,
      { a: { b: '{% .plugConfig.foo %}' }, c: ['{% .x.y %}'] },
      data,
    );
    // The Go engine names the first missing step of a path (.x is missing, so .x.y cannot be reached).
    expect(warnings).toEqual(['missing key .plugConfig.foo (at .a.b)', 'missing key .x (at .c[0])']);
  });

  it('names the failing string in the error', async () => {
    const e: TemplateError = await renderObjectTemplate(
      r,
      { spec: { 'app.kubernetes.io/x': '{%= it.a.b %}' } },
      {},
    ).then(
      () => {
        throw new Error('expected a failure');
      },
      (err: TemplateError) => err,
    );
    expect(e.code).toBe('TemplateRuntime');
    expect(e.path).toBe('.spec["app.kubernetes.io/x"]');
    expect(e.message).toMatch(/^at \.spec\["app\.kubernetes\.io\/x"\]: line 1: TypeError/);
  });

  it('refuses a Go action spanning two strings and suggests stringTemplate', async () => {
    const template = { a: '{% if .plugConfig.colon %}yes', b: 'no{% end %}' };
    await expect(renderObjectTemplate(r, template, data)).rejects.toMatchObject({
      code: 'TemplateSyntax',
      message: expect.stringMatching(/at \.a: line 1: a block opened here is not closed.*stringTemplate/),
    });
  });

  it('refuses an eta block spanning two strings and suggests stringTemplate', async () => {
    const template = { a: '{% if (it.x) { %}yes', b: 'no{% } %}' };
    await expect(renderObjectTemplate(r, template, data)).rejects.toMatchObject({
      code: 'TemplateSyntax',
      message: expect.stringMatching(/at \.a: .*`\{` `\}`.*stringTemplate.*\(and 1 more failing strings\)/),
    });
  });

  it('refuses two keys rendering to the same name', async () => {
    await expect(renderObjectTemplate(r, { '{%= "a" %}': 1, a: 2 }, {})).rejects.toMatchObject({
      code: 'TemplateOutputInvalid',
    });
  });

  it('keeps a key rendering to __proto__ an ordinary own property', async () => {
    const { value } = await renderObjectTemplate(r, { '{%= "__proto__" %}': { polluted: 'yes' } }, {});
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value as object)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.stringify(value)).toBe('{"__proto__":{"polluted":"yes"}}');
  });

  it('refuses values that are not JSON data, and objects nested too deep', async () => {
    await expect(renderObjectTemplate(r, { a: () => 1 }, {})).rejects.toMatchObject({
      code: 'TemplateInputInvalid',
    });
    await expect(renderObjectTemplate(r, { a: new Date() }, {})).rejects.toMatchObject({
      code: 'TemplateInputInvalid',
    });
    let deep: unknown = 'x';
    for (let i = 0; i < 150; i++) deep = { d: deep };
    await expect(renderObjectTemplate(r, deep, {})).rejects.toMatchObject({ code: 'TemplateInputInvalid' });
  });
});

describe('renderConfigTemplate', () => {
  it('renders a flat map of templates into strings', async () => {
    const { values, warnings } = await renderConfigTemplate(
      r,
      {
        HOST: '{%= it.plug.metadata.name %}.svc',
        PORT: 5432,
        TLS: true,
        EMPTY: null,
        USER: '{% .plugConfig.user %}',
      },
      data,
    );
    expect(values).toEqual({ HOST: 'app.svc', PORT: '5432', TLS: 'true', EMPTY: '', USER: '' });
    expect(warnings).toEqual(['missing key .plugConfig.user (at .USER)']);
  });
});

describe('renderTextTemplateDocuments', () => {
  it('turns every YAML document into a resource', async () => {
    const src = `apiVersion: v1
kind: ConfigMap
metadata:
  name: {%= it.plug.metadata.name %}-a
data:
  value: {%= JSON.stringify(it.plugConfig.evil) %}
---
# a comment-only document is no resource
---
apiVersion: v1
kind: Secret
metadata:
  name: {% .plug.metadata.name %}-b
`;
    const mixed = await renderTextTemplateDocuments(
      r,
      src.replace('{% .plug.metadata.name %}', '{%= it.plug.metadata.name %}'),
      data,
    );
    expect(mixed.documents).toEqual([
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'app-a' },
        data: { value: 'x", "injected": "yes' },
      },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app-b' } },
    ]);
  });

  it.each([
    ['', 'empty'],
    ['   \n\t\n', 'whitespace only'],
    ['# just a comment\n', 'comments only'],
    ['---\n---\n...\n', 'separators only'],
    ['{% if (false) { %}\nkind: X\n{% } %}\n', 'a template that renders nothing'],
    ['{%- .nothing -%}\n\n', 'a Go template that renders only whitespace'],
  ])('an empty result means no resource: %j (%s)', async (src) => {
    expect((await renderTextTemplateDocuments(r, src, {})).documents).toEqual([]);
  });

  it('refuses a document that is not a mapping', async () => {
    await expect(renderTextTemplateDocuments(r, 'kind: A\n---\n- a\n- b\n', {})).rejects.toMatchObject({
      code: 'TemplateOutputInvalid',
      message: 'YAML document 2 is a sequence, not a mapping',
    });
    await expect(renderTextTemplateDocuments(r, '{%= "just text" %}', {})).rejects.toMatchObject({
      code: 'TemplateOutputInvalid',
      message: 'YAML document 1 is a string, not a mapping',
    });
  });

  it('parses YAML in the worker, also for text without tags, within the render deadline', async () => {
    const before = r.stats().roundTrips;
    expect((await renderTextTemplateDocuments(r, 'kind: A\n---\nkind: B\n', {})).documents).toEqual([
      { kind: 'A' },
      { kind: 'B' },
    ]);
    expect(r.stats().roundTrips).toBe(before + 1);
    // YAML that takes seconds of CPU to parse (200,000 flow items) is cut at the deadline, and the operator's
    // event loop keeps turning meanwhile.
    const fast = new TemplateRenderer({
      workers: 1,
      limits: { timeoutMs: 200, maxOutputBytes: 2 * 1024 * 1024 },
    });
    try {
      await fast.render('{%= 1 %}', {});
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 10);
      const slow = `a: [${Array.from({ length: 200_000 }, () => '1').join(',')}]\n`;
      await expect(renderTextTemplateDocuments(fast, slow, {})).rejects.toMatchObject({
        code: 'TemplateTimeout',
      });
      clearInterval(ticker);
      expect(ticks).toBeGreaterThan(5);
    } finally {
      await fast.close();
    }
  });

  it('passes on missing-key warnings', async () => {
    const res = await renderTextTemplateDocuments(r, 'kind: X\nname: "{% .plugConfig.nope %}"\n', data);
    expect(res).toEqual({ documents: [{ kind: 'X', name: '' }], warnings: ['missing key .plugConfig.nope'] });
  });
});

describe('parseYamlDocuments', () => {
  it('refuses an alias bomb', () => {
    const bomb = [
      'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
      'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
      'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
      'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
      'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
      'g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]',
      'h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]',
      'i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]',
    ].join('\n');
    const t0 = performance.now();
    expect(() => parseYamlDocuments(bomb)).toThrow(
      expect.objectContaining({ code: 'TemplateOutputInvalid', message: expect.stringMatching(/alias/i) }),
    );
    expect(performance.now() - t0).toBeLessThan(2000);
    // A few aliases are fine.
    expect(parseYamlDocuments('a: &x 1\nb: *x\n')).toEqual([{ a: 1, b: 1 }]);
  });

  it('refuses more documents than the cap, while streaming', () => {
    const many = 'a: 1\n---\n'.repeat(200_000);
    const t0 = performance.now();
    expect(() => parseYamlDocuments(many)).toThrow(
      expect.objectContaining({
        code: 'TemplateOutputInvalid',
        message: 'the rendered text has more than 100 YAML documents',
      }),
    );
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(parseYamlDocuments('a: 1\n---\nb: 2\n', { maxDocuments: 2 })).toHaveLength(2);
  });

  it('names the line of invalid YAML without quoting the text', () => {
    let caught: unknown;
    try {
      parseYamlDocuments('kind: X\nsecret: s3cr3t\n  bad: [unclosed\n');
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(TemplateError);
    const e = caught as TemplateError;
    expect(e.code).toBe('TemplateOutputInvalid');
    expect(e.message).toMatch(/document 1, line \d+, column \d+/);
    expect(e.message).not.toContain('s3cr3t');
  });

  it('refuses duplicate keys (in linear time) and keeps a __proto__ key an own property', () => {
    expect(() => parseYamlDocuments('a: 1\nb:\n  c: 1\n  c: 2\n')).toThrow(
      expect.objectContaining({
        code: 'TemplateOutputInvalid',
        message: 'YAML document 1: the key "c" is repeated (line 4)',
      }),
    );
    expect(() => parseYamlDocuments('a: 1\n"a": 2\n')).toThrow(
      expect.objectContaining({ code: 'TemplateOutputInvalid' }),
    );
    expect(() => parseYamlDocuments('? [a]\n: 1\n')).toThrow(
      expect.objectContaining({ code: 'TemplateOutputInvalid' }),
    );
    const manyKeys = Array.from({ length: 60_000 }, (_, i) => `k${i}: v`).join('\n');
    const t0 = performance.now();
    expect(Object.keys(parseYamlDocuments(manyKeys)[0] ?? {})).toHaveLength(60_000);
    // yaml's own uniqueKeys check took 44 s on this text (pairwise); the linear walk keeps it to parsing time.
    expect(performance.now() - t0).toBeLessThan(15_000);
    const [doc] = parseYamlDocuments('__proto__:\n  polluted: yes\n');
    expect(Object.getPrototypeOf(doc)).toBe(Object.prototype);
    expect(Object.keys(doc as object)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('does not crash on deeply nested YAML', () => {
    const deep = `${'['.repeat(50_000)}${']'.repeat(50_000)}`;
    expect(() => parseYamlDocuments(`a: ${deep}`)).toThrow(
      expect.objectContaining({ code: 'TemplateOutputInvalid' }),
    );
  });
});
