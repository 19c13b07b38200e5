// Go-dialect templates that only print string fields are answered on the host (src/templating/host-fields.ts).
// The guarantee is that nobody can tell: for any template and data, a renderer that answers on the host gives
// exactly the items (outputs, warnings, errors) of one that sends every template to the sandbox. Checked here
// over generated templates and data, plus the cases that must stay in the sandbox.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { goSampleSocket } from '../../../bench/go-sample.ts';
import { analyzeTemplate } from '../../../src/templating/dialect.ts';
import { renderFieldsOnHost } from '../../../src/templating/host-fields.ts';
import { type BatchItem, renderObjectTemplate, TemplateRenderer } from '../../../src/templating/index.ts';
import { DEFAULT_TEMPLATE_LIMITS } from '../../../src/templating/limits.ts';

const host = new TemplateRenderer({ workers: 1 });
const sandbox = new TemplateRenderer({ workers: 1, hostFields: false });
// Small caps, so that generated outputs and data reach them.
const small = { maxOutputBytes: 1024, maxDataBytes: 1024 };
const hostSmall = new TemplateRenderer({ workers: 1, limits: small });
const sandboxSmall = new TemplateRenderer({ workers: 1, hostFields: false, limits: small });
afterAll(async () => {
  await Promise.all([host, sandbox, hostSmall, sandboxSmall].map((r) => r.close()));
});

const plain = (items: BatchItem[]) =>
  items.map((i) =>
    i.ok
      ? { ok: true, output: i.output, warnings: i.warnings }
      : { ok: false, code: i.error.code, message: i.error.message },
  );
const settle = async (p: Promise<BatchItem[]>) => {
  try {
    return { items: plain(await p) };
  } catch (e) {
    return { failed: (e as { code?: string }).code, message: (e as Error).message };
  }
};

// Keys the templates name, including JavaScript internals and a non-ASCII letter.
const key = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('a', 'b') },
  { weight: 1, arbitrary: fc.constantFrom('x_1', '__proto__', 'constructor', 'toString', 'é') },
);
const path = fc.array(key, { minLength: 1, maxLength: 2 });
const leaf = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 8 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('%}', '{{ x }}', '"q"', '<a&b>', 'line\nbreak', '\u0000', '\ud800', ''),
  },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(300), 'é'.repeat(300)) },
  {
    weight: 1,
    arbitrary: fc.oneof(fc.integer(), fc.double({ noNaN: true }), fc.boolean(), fc.constant(null)),
  },
  { weight: 1, arbitrary: fc.constantFrom([], ['x'], {}, { a: 'x' }) },
);
const own = (o: Record<string, unknown>, k: string, v: unknown) =>
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
/** Data with values at `paths` (own properties, `__proto__` included), as JSON data. */
function dataAt(entries: readonly (readonly [readonly string[], unknown])[]): unknown {
  const root: Record<string, unknown> = {};
  for (const [p, v] of entries) {
    let o = root;
    for (const k of p.slice(0, -1)) {
      const next = Object.hasOwn(o, k) ? o[k] : undefined;
      if (typeof next === 'object' && next !== null && !Array.isArray(next))
        o = next as Record<string, unknown>;
      else o = own(o, k, {})[k] as Record<string, unknown>;
    }
    // A copy: the generator's constant objects are shared between runs.
    own(o, p[p.length - 1] as string, JSON.parse(JSON.stringify(v)));
  }
  return JSON.parse(JSON.stringify(root)) as unknown;
}
const FIELD_CHAIN = /(?:\.[\p{L}_][\p{L}\d_]*)+/gu;
/** Templates, and data that has values (mostly strings) at most of the paths they name. */
const batchAndData = (template: fc.Arbitrary<string>) =>
  fc.array(template, { minLength: 1, maxLength: 4 }).chain((templates) => {
    const named = templates.flatMap((t) => [...t.matchAll(FIELD_CHAIN)].map((m) => m[0].slice(1).split('.')));
    return fc
      .tuple(
        fc.tuple(...named.map((p) => fc.option(leaf, { freq: 4 }).map((v) => [p, v] as const))),
        fc.array(fc.tuple(path, leaf), { maxLength: 3 }),
      )
      .map(([at, noise]) => ({
        templates,
        data: dataAt([...noise, ...at.filter(([, v]) => v !== null)]),
      }));
  });

const goTag = fc.oneof(
  { weight: 6, arbitrary: path.map((p) => `{% .${p.join('.')} %}`) },
  { weight: 1, arbitrary: path.map((p) => `{%.${p.join('.')}%}`) },
  { weight: 1, arbitrary: path.map((p) => `{%- .${p.join('.')} -%}`) },
  { weight: 1, arbitrary: path.map((p) => `{% .${p.join(' .')} %}`) },
  { weight: 1, arbitrary: path.map((p) => `{% .${p.join('.')} | quote %}`) },
  { weight: 1, arbitrary: path.map((p) => `{% $.${p.join('.')} %}`) },
  { weight: 1, arbitrary: fc.constantFrom('{% . %}', '{%/* c */%}', '{% $_ := set .a "b" "set" %}') },
);
// eta may change the data in place: later templates of the batch see it.
const etaTag = fc.constantFrom('{%= it.a %}', '{% it.a = "changed" %}', '{% it.a = { b: "deep" } %}');
const text = fc.constantFrom('', 'createdb-', ' ', '\n  ', 'a %} b', '}}', 'x');
const templateOf = (tag: fc.Arbitrary<string>) =>
  fc
    .array(fc.tuple(text, tag), { minLength: 1, maxLength: 4 })
    .chain((parts) => text.map((tail) => parts.map(([t, g]) => t + g).join('') + tail));
const template = fc.oneof(
  { weight: 8, arbitrary: templateOf(goTag) },
  { weight: 1, arbitrary: templateOf(etaTag) },
  { weight: 1, arbitrary: text },
);

describe('Go templates that only print string fields, answered on the host', () => {
  it('renders exactly what the sandbox renders, for any batch and data, also at the size limits', async () => {
    await fc.assert(
      fc.asyncProperty(batchAndData(template), async ({ templates, data: d }) => {
        const [a, b] = await Promise.all([
          settle(host.renderBatch(templates, d)),
          settle(sandbox.renderBatch(templates, d)),
        ]);
        expect(a).toEqual(b);
        const [c, e] = await Promise.all([
          settle(hostSmall.renderBatch(templates, d)),
          settle(sandboxSmall.renderBatch(templates, d)),
        ]);
        expect(c).toEqual(e);
      }),
      { numRuns: 400 },
    );
    // The generator reaches both paths.
    expect(host.stats().hostRenders).toBeGreaterThan(40);
    expect(host.stats().roundTrips).toBeGreaterThan(40);
  }, 180_000);

  it('answers the Go sample socket’s Job template without a sandbox round trip', async () => {
    const r = new TemplateRenderer({ workers: 1 });
    try {
      const socket = goSampleSocket('team');
      const template = (socket.spec as { resources: { template: unknown }[] }).resources[0]?.template;
      const d = {
        plug: { metadata: { name: 'app', namespace: 'apps' } },
        socket,
        plugConfig: { database: 'app_db' },
        socketConfig: { host: 'pg', port: '5432', username: 'postgres', password: 's3cret"\n' },
      };
      const onHost = await renderObjectTemplate(r, template, d);
      expect(r.stats()).toMatchObject({ roundTrips: 0, hostRenders: 6, spawned: 0 });
      expect(await renderObjectTemplate(sandbox, template, d)).toEqual(onHost);
      const job = onHost.value as { metadata: { name: string }; spec: unknown };
      expect(job.metadata.name).toBe('createdb-app');
      expect(JSON.stringify(job.spec)).toContain('"name":"PGPASSWORD","value":"s3cret\\"\\n"');
    } finally {
      await r.close();
    }
  });

  it('leaves to the sandbox what needs it: missing keys, non-strings, internals, limits', () => {
    const limits = DEFAULT_TEMPLATE_LIMITS;
    const on = (src: string, d: unknown, l = limits) => renderFieldsOnHost(src, analyzeTemplate(src), d, l);
    expect(on('db-{% .a.b %}!', { a: { b: 'x' } })).toBe('db-x!');
    expect(on('{% .a.b %}', { a: {} })).toBeUndefined(); // missing: the sandbox warns
    expect(on('{% .a %}', { a: 5 })).toBeUndefined(); // Go formats numbers
    expect(on('{% .a %}', { a: null })).toBeUndefined();
    expect(on('{% .a.b %}', { a: ['x'] })).toBeUndefined();
    expect(on('{% .constructor %}', {})).toBeUndefined();
    expect(on('{% .toString %}', { a: 'x' })).toBeUndefined();
    expect(on('{% .a | quote %}', { a: 'x' })).toBeUndefined();
    expect(on('{%- .a %}', { a: 'x' })).toBeUndefined();
    expect(on('{% .a %}', { a: 'x'.repeat(2000) }, { ...limits, maxOutputBytes: 1024 })).toBeUndefined();
    // A getter is not data: never called.
    let called = false;
    const tricky = Object.defineProperty({}, 'a', {
      get: () => {
        called = true;
        return 'x';
      },
      enumerable: true,
    });
    expect(on('{% .a %}', tricky)).toBeUndefined();
    expect(called).toBe(false);
  });

  it('gives the sandbox’s answer when the printed values reach the output cap', async () => {
    const d = { a: 'é'.repeat(400) }; // 800 bytes in UTF-8, 400 characters
    const expected = [
      { ok: true, output: d.a, warnings: [] },
      { ok: false, code: 'TemplateOutputTooLarge', message: 'the rendered text is larger than 1024 bytes' },
    ];
    const before = hostSmall.stats().roundTrips;
    expect(plain(await hostSmall.renderBatch(['{% .a %}', '{% .a %}'], d))).toEqual(expected);
    expect(plain(await sandboxSmall.renderBatch(['{% .a %}', '{% .a %}'], d))).toEqual(expected);
    expect(hostSmall.stats().roundTrips).toBe(before + 1);
  });
});
