// The Go-template engine runs inside a bare QuickJS context: its sources, type-stripped by Node, are served
// by a module loader that knows only src/templating/go/*.ts; no polyfills, no host functions. A sample of
// the corpus must render there exactly as in Node, and hostile templates must fail there too.

import { readdirSync, readFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import variant from '@jitl/quickjs-wasmfile-release-sync';
import {
  newQuickJSWASMModuleFromVariant,
  type QuickJSContext,
  type QuickJSRuntime,
  type QuickJSSyncVariant,
} from 'quickjs-emscripten-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GoTemplateError, renderGoTemplate } from '../../../src/templating/go/engine.ts';
import { readCorpus } from '../../../tools/gotemplate-oracle/oracle.ts';

const engineDir = new URL('../../../src/templating/go/', import.meta.url);
const sources = new Map(
  readdirSync(engineDir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => [f, stripTypeScriptTypes(readFileSync(new URL(f, engineDir), 'utf8'))]),
);

interface Rendered {
  output?: string;
  missingKeys?: string[];
  error?: { name: string; code: string; message: string };
}

const BOOT = `import { renderGoTemplate } from './engine.ts';
globalThis.render = (template, data, seed) => {
  try {
    return JSON.stringify(renderGoTemplate(template, JSON.parse(data), { seed }));
  } catch (e) {
    return JSON.stringify({ error: { name: String(e && e.name), code: String(e && e.code), message: String(e && e.message).slice(0, 500) } });
  }
};`;

function newEngineContext(runtime: QuickJSRuntime): QuickJSContext {
  runtime.setModuleLoader(
    (name) => {
      const src = sources.get(name);
      if (src === undefined) throw new Error(`module ${name} is not part of the engine`);
      return src;
    },
    (_base, requested) => {
      if (!/^\.\/[a-z0-9-]+\.ts$/.test(requested)) throw new Error(`import ${requested} refused`);
      return requested.slice(2);
    },
  );
  const ctx = runtime.newContext();
  const loaded = ctx.evalCode(BOOT, 'boot.mjs', { type: 'module' });
  if (loaded.error) {
    const err = ctx.dump(loaded.error);
    loaded.error.dispose();
    throw new Error(`engine failed to load in QuickJS: ${JSON.stringify(err)}`);
  }
  loaded.value.dispose();
  return ctx;
}

function renderIn(ctx: QuickJSContext, template: string, data: unknown, seed = 'seed'): Rendered {
  const fn = ctx.getProp(ctx.global, 'render');
  const args = [ctx.newString(template), ctx.newString(JSON.stringify(data)), ctx.newString(seed)];
  const result = ctx.callFunction(fn, ctx.undefined, ...args);
  for (const a of args) a.dispose();
  fn.dispose();
  if (result.error) {
    const err = ctx.dump(result.error);
    result.error.dispose();
    throw new Error(`render threw across the boundary: ${JSON.stringify(err)}`);
  }
  const text = ctx.getString(result.value);
  result.value.dispose();
  return JSON.parse(text) as Rendered;
}

function renderInNode(template: string, data: unknown, seed = 'seed'): Rendered {
  try {
    return renderGoTemplate(template, data, { seed });
  } catch (e) {
    if (!(e instanceof GoTemplateError)) throw e;
    return { error: { name: e.name, code: e.code, message: e.message } };
  }
}

const corpus = readCorpus();

describe('Go-template engine inside QuickJS', () => {
  let runtime: QuickJSRuntime;
  let ctx: QuickJSContext;

  beforeAll(async () => {
    // The package's CommonJS typings describe the namespace; at run time the ESM default is the variant.
    const quickjs = await newQuickJSWASMModuleFromVariant(variant as unknown as QuickJSSyncVariant);
    runtime = quickjs.newRuntime();
    runtime.setMaxStackSize(1024 * 1024);
    ctx = newEngineContext(runtime);
  });

  afterAll(() => {
    ctx?.dispose();
    runtime?.dispose();
  });

  it('loads with no host globals: no require, process, Buffer, TextEncoder', () => {
    const probe = ctx.evalCode(
      '[typeof require, typeof process, typeof Buffer, typeof TextEncoder, typeof atob, typeof fetch].join(",")',
    );
    const value = ctx.unwrapResult(probe);
    expect(ctx.dump(value)).toBe('undefined,undefined,undefined,undefined,undefined,undefined');
    value.dispose();
  });

  it('renders corpus cases exactly as in Node', () => {
    const sample = corpus.filter((_, i) => i % 4 === 0);
    const differences = sample
      .map((c) => ({
        name: c.name,
        node: renderInNode(c.template, c.data),
        quickjs: renderIn(ctx, c.template, c.data),
      }))
      .filter((r) => JSON.stringify(r.node) !== JSON.stringify(r.quickjs));
    expect(sample.length).toBeGreaterThan(50);
    expect(differences).toEqual([]);
  });

  it('renders the README and Job templates, with hashes, base64, regex and seeded random values', () => {
    for (const name of [
      'readme-job-env',
      'op-job-template',
      'op-secret',
      'enc-hashes',
      're-replace',
      'str-case',
    ]) {
      const c = corpus.find((x) => x.name === name)!;
      expect(renderIn(ctx, c.template, c.data)).toEqual(renderInNode(c.template, c.data));
    }
    const random = '{% randAlphaNum 24 %} {% uuidv4 %} {% shuffle "abcdefgh" %}';
    expect(renderIn(ctx, random, {}, 'owner-uid/coupling')).toEqual(
      renderInNode(random, {}, 'owner-uid/coupling'),
    );
  });

  it('fails hostile templates cleanly inside QuickJS too', () => {
    for (const t of [
      '{% env "HOME" %}',
      '{% range until 100000000 %}x{% end %}',
      '{% repeat 100000000 "x" %}',
      '{% define "r" %}{% template "r" . %}{% end %}{% template "r" . %}',
      `{% ${'('.repeat(5000)}1${')'.repeat(5000)} %}`,
      '{% printf "%9999999d" 1 %}',
    ]) {
      const r = renderIn(ctx, t, {});
      expect(r.error?.name).toBe('GoTemplateError');
      expect(r.error?.code).toMatch(/^GO_TEMPLATE_(LIMIT|UNAVAILABLE)$/);
    }
  });

  it('keeps working in the same context after errors (no state leaks between renders)', () => {
    renderIn(ctx, '{% fail "x" %}', {});
    const a = renderIn(ctx, '{% $d := dict "a" 1 %}{% $_ := set $d "b" 2 %}{% $d %}', {});
    const b = renderIn(ctx, '{% $d := dict "a" 1 %}{% $d %}', {});
    expect(a.output).toBe('map[a:1 b:2]');
    expect(b.output).toBe('map[a:1]');
  });
});
