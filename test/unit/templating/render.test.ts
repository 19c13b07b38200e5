// Rendering through the sandbox: eta and the Go shorthand, limits, errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TemplateError, TemplateRenderer } from '../../../src/templating/index.ts';

let r: TemplateRenderer;
beforeAll(() => {
  r = new TemplateRenderer({ workers: 2, limits: { timeoutMs: 2000 } });
});
afterAll(async () => {
  await r.close();
});

const data = {
  plug: { metadata: { name: 'app', namespace: 'team-a' } },
  plugConfig: {
    hello: 'world',
    password: 'p"a:ss\nword & <more>',
    replicas: 3,
    big: 1000000,
    sslmode: 'require',
  },
  socketConfig: { host: 'db.svc', port: 5432 },
};

async function failure(template: string, d: unknown = data): Promise<TemplateError> {
  try {
    await r.render(template, d, { name: 'resources[0].stringTemplate' });
  } catch (e) {
    if (e instanceof TemplateError) return e;
    throw e;
  }
  throw new Error(`expected ${template} to fail`);
}

describe('eta', () => {
  it('renders a YAML-shaped Job template (no HTML escaping, newlines after tags kept)', async () => {
    const template = `apiVersion: batch/v1
kind: Job
metadata:
  name: {%= it.plug.metadata.name %}-migrate
  namespace: {%= it.plug.metadata.namespace %}
spec:
  backoffLimit: {%= it.plugConfig.replicas %}
  template:
    spec:
      containers:
        - name: migrate
          env:
            - name: PASSWORD
              value: {%= JSON.stringify(it.plugConfig.password) %}
            - name: PORT
              value: "{%= it.socketConfig.port %}"
{% if (it.plugConfig.sslmode) { %}
            - name: PGSSLMODE
              value: {%= it.plugConfig.sslmode %}
{% } %}
          args:
{% for (const a of ['up', 'now']) { %}
            - {%= a %}
{% } %}
`;
    const { output, warnings } = await r.render(template, data);
    expect(warnings).toEqual([]);
    expect(output).toBe(`apiVersion: batch/v1
kind: Job
metadata:
  name: app-migrate
  namespace: team-a
spec:
  backoffLimit: 3
  template:
    spec:
      containers:
        - name: migrate
          env:
            - name: PASSWORD
              value: "p\\"a:ss\\nword & <more>"
            - name: PORT
              value: "5432"

            - name: PGSSLMODE
              value: require

          args:

            - up

            - now

`);
  });

  it('renders numbers as JavaScript does (1000000, not 1e+06)', async () => {
    expect((await r.render('{%= it.plugConfig.big %}', data)).output).toBe('1000000');
  });

  it("keeps eta's trim markers: `_` trims all whitespace, `-` one newline", async () => {
    expect((await r.render('a  \n {%_ = "x" _%} \n b', {})).output).toBe('axb');
    expect((await r.render('a\n{%- = "x" -%}\n\nb', {})).output).toBe('ax\nb');
  });

  it('reports syntax errors with the template line', async () => {
    const e = await failure('line 1\nline 2\n{%= it.a + %}\n');
    expect(e.code).toBe('TemplateSyntax');
    expect(e.message).toMatch(/^bad template syntax: line 3: SyntaxError/);
    expect(e.templateName).toBe('resources[0].stringTemplate');
  });

  it("reports eta's own parse errors (unclosed tag)", async () => {
    const e = await failure('a\n{%= it.a ');
    expect(e.code).toBe('TemplateSyntax');
    expect(e.message).toMatch(/unclosed tag at line 2 col 1/);
  });

  it('reports runtime errors with the template line', async () => {
    const e = await failure('ok\n{%= it.nope.deeper %}');
    expect(e.code).toBe('TemplateRuntime');
    expect(e.message).toBe("line 2: TypeError: cannot read property 'deeper' of undefined");
  });

  it('refuses a template that produces something other than text', async () => {
    const e = await failure('{% return 5 %}');
    expect(e.code).toBe('TemplateRuntime');
    expect(e.message).toContain('produced number, not text');
  });

  it('refuses asynchronous code, which never completes in the sandbox', async () => {
    expect((await failure('{% Promise.resolve(1).then(() => 2) %}')).code).toBe('TemplateUnsupported');
  });

  it('maps `throw null` to TemplateMemory (QuickJS throws null when even its out-of-memory error cannot be allocated)', async () => {
    expect((await failure('{% throw null %}')).code).toBe('TemplateMemory');
  });
});

describe('text crossing the sandbox boundary', () => {
  it('keeps NUL, U+0001, unpaired surrogates and astral characters intact, in templates, data and output', async () => {
    const odd = 'nul:\u0000 soh:\u0001 lone:\uD800 low:\uDC00 pair:😀 é';
    expect((await r.render(`${odd}|{%= it.v %}|{%= "\\u0000\\uDBFF" %}`, { v: odd })).output).toBe(
      `${odd}|${odd}|\u0000\uDBFF`,
    );
    expect((await r.render('{% .v %}', { v: odd })).output).toBe(odd);
    const e = await failure('{% throw new Error("bad \\u0000 \\uD800") %}');
    expect(e.message).toBe('line 1: Error: bad \u0000 \uD800');
  });
});

// Shorthand-specific expectations (unsupported constructs): update when the full Go engine lands.
describe('Go dialect in the sandbox', () => {
  it('renders paths, trims, and reports missing keys as warnings', async () => {
    const { output, warnings } = await r.render(
      'name: {% .plug.metadata.name %}\nreplicas: {% .plugConfig.big %}\nfoo: "{% .plugConfig.foo %}"\n  {%- /* gone */%}\nend',
      data,
    );
    expect(output).toBe('name: app\nreplicas: 1000000\nfoo: ""\nend');
    expect(warnings).toEqual(['missing key .plugConfig.foo']);
  });

  it('renders pipelines and sprig functions of the full Go dialect', async () => {
    expect(
      (await r.render('{% .plugConfig.hello | quote %} {% .plugConfig.hello | upper | b64enc %}', data))
        .output,
    ).toBe(`"world" ${Buffer.from('WORLD').toString('base64')}`);
    expect(
      (await r.render('{%- if eq .plugConfig.hello "world" %}yes{%- else %}no{%- end %}', data)).output,
    ).toBe('yes');
  });

  it('refuses functions that reach the environment before any sandbox round trip', async () => {
    const before = r.stats().roundTrips;
    const e = await failure('{% env "HOME" %}');
    expect(e.code).toBe('TemplateUnsupported');
    expect(e.message).toContain("cannot read the operator's environment");
    expect(r.stats().roundTrips).toBe(before);
  });
});

describe('input checks', () => {
  it('returns text without tags as is, without a sandbox round trip', async () => {
    const before = r.stats().roundTrips;
    expect(await r.render('kind: ConfigMap\n# 100%} done\n', data)).toEqual({
      output: 'kind: ConfigMap\n# 100%} done\n',
      warnings: [],
    });
    expect(r.stats().roundTrips).toBe(before);
  });

  it('refuses a mixed template', async () => {
    expect((await failure('{% .a %}{%= it.b %}')).code).toBe('TemplateDialectMixed');
  });

  it('refuses data that is not JSON', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(r.render('{%= it.self %}', cyclic)).rejects.toMatchObject({ code: 'TemplateInputInvalid' });
    await expect(r.render('{%= it.n %}', { n: 1n })).rejects.toMatchObject({ code: 'TemplateInputInvalid' });
    // Data the template does not name is not sent, so it need not be JSON.
    expect((await r.render('{%= it.ok %}', { ok: 1, n: 1n })).output).toBe('1');
  });

  it('refuses a template longer than the limit', async () => {
    const small = new TemplateRenderer({ workers: 1, limits: { maxTemplateLength: 1024 } });
    try {
      await expect(small.render(`{%= 1 %}${'x'.repeat(2000)}`, {})).rejects.toMatchObject({
        code: 'TemplateInputInvalid',
      });
    } finally {
      await small.close();
    }
  });
});

describe('output and message caps', () => {
  it('counts UTF-8 bytes, not characters', async () => {
    const small = new TemplateRenderer({ workers: 1, limits: { maxOutputBytes: 1024 } });
    try {
      expect((await small.render('{%= "€".repeat(341) %}', {})).output).toHaveLength(341);
      await expect(small.render('{%= "€".repeat(342) %}', {})).rejects.toMatchObject({
        code: 'TemplateOutputTooLarge',
      });
      await expect(small.render('{%= "x".repeat(5000) %}', {})).rejects.toMatchObject({
        code: 'TemplateOutputTooLarge',
      });
    } finally {
      await small.close();
    }
  });

  it('cuts long error messages', async () => {
    const e = await failure(`{% throw new Error('m'.repeat(100000)) %}`);
    expect(e.code).toBe('TemplateRuntime');
    expect(e.message.length).toBeLessThanOrEqual(1000);
  });

  it('applies the output cap to all strings of a batch together', async () => {
    const small = new TemplateRenderer({ workers: 1, limits: { maxOutputBytes: 1024 } });
    try {
      const items = await small.renderBatch(['{%= "a".repeat(600) %}', '{%= "b".repeat(600) %}'], {});
      expect(items[0]?.ok).toBe(true);
      expect(items[1]).toMatchObject({ ok: false, error: { code: 'TemplateOutputTooLarge' } });
    } finally {
      await small.close();
    }
  });
});
