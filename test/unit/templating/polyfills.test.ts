// The polyfills the full Go engine needs inside QuickJS (not loaded by the shorthand): checked against Node's
// own implementations, and installed in a real QuickJS context.
import releaseSyncImport from '@jitl/quickjs-wasmfile-release-sync';
import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type QuickJSSyncVariant,
} from 'quickjs-emscripten-core';
import { describe, expect, it } from 'vitest';
import {
  atobPolyfill,
  btoaPolyfill,
  TextDecoderPolyfill,
  TextEncoderPolyfill,
} from '../../../src/templating/sandbox/polyfills.ts';
import { readSandboxModules, resolveSandboxModule } from '../../../src/templating/sandbox-sources.ts';

const SAMPLES = [
  '',
  'plain',
  'é ü ß',
  'straße',
  '😀 astral',
  'a\u0000b',
  'lone \uD800 surrogate',
  '\uFFFF\u0080\u07FF\u0800',
];

describe('polyfills', () => {
  it.each(SAMPLES)('TextEncoder/TextDecoder agree with Node on %j', (s) => {
    const ours = new TextEncoderPolyfill().encode(s);
    expect([...ours]).toEqual([...new TextEncoder().encode(s)]);
    expect(new TextDecoderPolyfill().decode(ours)).toBe(new TextDecoder().decode(ours));
  });

  it('decodes invalid UTF-8 like Node (replacement characters), or throws when fatal', () => {
    const bad = new Uint8Array([
      0x61, 0xff, 0xc3, 0x28, 0xe2, 0x82, 0xf0, 0x9f, 0x98, 0x80, 0xed, 0xa0, 0x80,
    ]);
    expect(new TextDecoderPolyfill().decode(bad)).toBe(new TextDecoder().decode(bad));
    expect(() => new TextDecoderPolyfill('utf-8', { fatal: true }).decode(bad)).toThrow(TypeError);
  });

  it.each(['', 'a', 'ab', 'abc', 'hello world', '\u00ff\u0000\u0080'])(
    'btoa/atob agree with Node on %j',
    (s) => {
      expect(btoaPolyfill(s)).toBe(btoa(s));
      expect(atobPolyfill(btoa(s))).toBe(s);
    },
  );

  it('refuses what Node refuses', () => {
    expect(() => btoaPolyfill('€')).toThrow();
    expect(() => atobPolyfill('a')).toThrow();
    expect(() => atobPolyfill('ab$c')).toThrow();
  });

  it('installs the four globals in a bare QuickJS context', async () => {
    const modules = readSandboxModules();
    const qjs = await newQuickJSWASMModuleFromVariant(
      newVariant(releaseSyncImport as unknown as QuickJSSyncVariant, {}),
    );
    const rt = qjs.newRuntime();
    rt.setModuleLoader(
      (name) => modules[name] ?? { error: new Error(name) },
      (base, requested) => resolveSandboxModule(modules, base, requested) ?? { error: new Error(requested) },
    );
    const ctx = rt.newContext();
    try {
      const before = ctx.unwrapResult(
        ctx.evalCode('typeof TextEncoder + typeof atob', 'probe.js', { type: 'global' }),
      );
      expect(ctx.getString(before)).toBe('undefinedundefined');
      before.dispose();
      const probe = `import './polyfills.ts';
        export const out = [new TextDecoder().decode(new TextEncoder().encode('héllo 😀')), atob(btoa('ok'))].join('|');`;
      const ns = ctx.unwrapResult(ctx.evalCode(probe, 'sandbox/probe.ts', { type: 'module' }));
      const out = ctx.getProp(ns, 'out');
      expect(ctx.getString(out)).toBe('héllo 😀|ok');
      out.dispose();
      ns.dispose();
    } finally {
      ctx.dispose();
      rt.dispose();
    }
  });
});
