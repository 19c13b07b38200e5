// The hostile corpus: templates written to escape the sandbox, exhaust it, or poison later renders. Each must
// fail cleanly with the right TemplateError code in bounded time, leave the operator process untouched, and
// leave the sandbox able to render the next benign template correctly.
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TemplateError, type TemplateErrorCode, TemplateRenderer } from '../../../src/templating/index.ts';
import { TERMINATE_GRACE_MS } from '../../../src/templating/renderer.ts';

/**
 * Cases that must time out run with a short deadline; all others with a long one, so that a memory or stack
 * bomb on a loaded 2-core machine is not cut by the deadline before it hits its own limit.
 */
const SHORT_TIMEOUT_MS = 500;
const LONG_TIMEOUT_MS = 5000;
/** Deadline + the host's grace before terminate + slack for a loaded machine. */
const boundMs = (timeoutMs: number) => timeoutMs + TERMINATE_GRACE_MS + 3000;
const MARK = path.join(os.tmpdir(), `templating-hostile-${process.pid}`);
const DATA = { a: 'x', b: 1 };
const BENIGN = 'ok {%= it.b %} {%= it.a %}';

interface HostileCase {
  name: string;
  template: string;
  code: TemplateErrorCode;
  data?: unknown;
}

const write = `require('fs').writeFileSync(${JSON.stringify(MARK)}, 'x')`;

const CORPUS: HostileCase[] = [
  // Host objects, modules, network.
  { name: 'process.env', template: '{%= process.env.HOME %}', code: 'TemplateRuntime' },
  { name: 'process.exit', template: '{% process.exit(3) %}', code: 'TemplateRuntime' },
  { name: 'require(fs) to write a file', template: `{% ${write} %}`, code: 'TemplateRuntime' },
  {
    name: 'require(child_process)',
    template: "{%= require('child_process').execSync('id') %}",
    code: 'TemplateRuntime',
  },
  {
    name: 'process.getBuiltinModule',
    template: "{%= process.getBuiltinModule('fs') %}",
    code: 'TemplateRuntime',
  },
  {
    name: 'import(fs)',
    template: `{% import('fs').then((fs) => fs.writeFileSync(${JSON.stringify(MARK)}, 'x')) %}`,
    code: 'TemplateUnsupported',
  },
  {
    name: 'import() of a sandbox module',
    template: "{% import('./runner.ts') %}",
    code: 'TemplateUnsupported',
  },
  {
    name: "QuickJS's os module",
    template: "{% import('os').then((o) => o.exec(['id'])) %}",
    code: 'TemplateUnsupported',
  },
  { name: 'globalThis.process', template: '{%= globalThis.process.env.HOME %}', code: 'TemplateRuntime' },
  {
    name: 'fetch to the metadata service',
    template: "{%= fetch('http://169.254.169.254/latest/meta-data/') %}",
    code: 'TemplateRuntime',
  },
  { name: 'WebAssembly', template: '{%= new WebAssembly.Memory({ initial: 1 }) %}', code: 'TemplateRuntime' },
  { name: 'setTimeout', template: '{% setTimeout(() => {}, 0) %}', code: 'TemplateRuntime' },
  {
    name: 'Atomics.wait',
    template: '{% Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0) %}',
    code: 'TemplateRuntime',
  },
  // Constructor chains.
  {
    name: 'it.constructor.constructor',
    template: "{%= it.constructor.constructor('return process')() %}",
    code: 'TemplateRuntime',
  },
  {
    name: 'Function returning the global object',
    template: "{%= it.constructor.constructor('return this')().process.env.HOME %}",
    code: 'TemplateRuntime',
  },
  {
    name: 'this.constructor.constructor',
    template: "{%= this.constructor.constructor('return process')() %}",
    code: 'TemplateRuntime',
  },
  {
    name: 'generator function constructor',
    template: "{%= (function* () {}).constructor('return process')().next().value %}",
    code: 'TemplateRuntime',
  },
  {
    name: 'async function constructor',
    template: "{%= (async () => {}).constructor('return process')().then((p) => p.env) %}",
    code: 'TemplateUnsupported',
  },
  { name: 'eval', template: "{%= eval('process') %}", code: 'TemplateRuntime' },
  {
    name: '__proto__ chain to require',
    template: "{%= it.__proto__.constructor.constructor('return require')()('fs') %}",
    code: 'TemplateRuntime',
  },
  // Prototype pollution (the benign render after each case checks it did not leak; see also the five ways below).
  {
    name: 'Object.prototype pollution',
    template:
      "{% Object.prototype.polluted = 'yes'; Object.prototype.toJSON = () => 'HACKED' %}{%= process %}",
    code: 'TemplateRuntime',
  },
  {
    name: 'String.prototype and JSON overrides',
    template:
      "{% String.prototype.replace = () => 'HACKED'; JSON.stringify = () => 'HACKED'; Array.prototype.join = () => 'HACKED' %}{%= require %}",
    code: 'TemplateRuntime',
  },
  {
    name: 'Error.prototype getters',
    template:
      "{% Object.defineProperty(Error.prototype, 'message', { get() { return 'x'.repeat(1e6) } }) %}{%= nope %}",
    code: 'TemplateRuntime',
  },
  // Time.
  { name: 'while (true) {}', template: '{% while (true) {} %}', code: 'TemplateTimeout' },
  { name: 'for (;;) "x".repeat(3e6)', template: '{% for (;;) "x".repeat(3e6) %}', code: 'TemplateTimeout' },
  {
    name: 'catastrophic regular expression',
    template: "{% const re = /(a+)+$/; re.test('a'.repeat(40) + 'b') %}",
    code: 'TemplateTimeout',
  },
  {
    name: "eta's tag scan made quadratic (compiler context)",
    template: `{%= "a" ${' '.repeat(300_000)}+ 1`,
    code: 'TemplateTimeout',
  },
  {
    name: 'getter looping on a thrown error',
    template: '{% throw { get message() { while (true) {} } } %}',
    code: 'TemplateTimeout',
  },
  {
    name: 'Proxy trap looping on a thrown error',
    template: '{% throw new Proxy({}, { get() { while (true) {} } }) %}',
    code: 'TemplateTimeout',
  },
  // Memory.
  {
    name: 'array push loop',
    template: '{% const a = []; for (;;) a.push({ x: 1 }) %}',
    code: 'TemplateMemory',
  },
  { name: 'string doubling', template: "{% let s = 'x'; for (;;) s += s %}", code: 'TemplateMemory' },
  {
    name: 'flat string doubling',
    template: "{% let s = 'ab'; for (;;) s = (s + s).slice(1) %}",
    code: 'TemplateMemory',
  },
  { name: 'huge array', template: '{% new Array(1e9).fill(0) %}', code: 'TemplateMemory' },
  { name: 'huge ArrayBuffer', template: '{% new ArrayBuffer(1e9) %}', code: 'TemplateMemory' },
  {
    name: 'many distinct 1 MiB strings',
    template:
      "{% const big = 'x'.repeat(1 << 20); const keep = []; for (let i = 0; i < 200; i++) keep.push(big.replace('x', String(i))) %}",
    code: 'TemplateMemory',
  },
  // Stack.
  {
    name: 'JSON.parse("[".repeat(1e5))',
    template: '{%= JSON.parse("[".repeat(1e5)) %}',
    code: 'TemplateStackOverflow',
  },
  {
    name: 'deep recursion',
    template: '{% function f() { return f() + 1 } f() %}',
    code: 'TemplateStackOverflow',
  },
  {
    name: 'toString recursion',
    template: '{% const o = {}; o.toString = () => String(o); String(o) %}',
    code: 'TemplateStackOverflow',
  },
  {
    name: 'deeply nested template code',
    template: `{%= ${'('.repeat(100_000)}1${')'.repeat(100_000)} %}`,
    code: 'TemplateStackOverflow',
  },
  {
    name: 'deep array stringified',
    template: '{% let a = []; for (let i = 0; i < 1e5; i++) a = [a]; JSON.stringify(a) %}',
    code: 'TemplateStackOverflow',
  },
  // Output.
  { name: 'huge output', template: "{%= 'x'.repeat(2 * 1024 * 1024) %}", code: 'TemplateOutputTooLarge' },
  {
    name: 'huge output from a loop',
    template: '{% for (let i = 0; i < 3e5; i++) { %}0123456789{% } %}',
    code: 'TemplateOutputTooLarge',
  },
  {
    name: 'an object instead of text',
    template: '{% return { toString() { while (true) {} } } %}',
    code: 'TemplateRuntime',
  },
  // Thrown values that try to reach the host.
  {
    name: 'getter throwing on the error name',
    template: "{% throw { get name() { throw new Error('nested') }, message: 'x' } %}",
    code: 'TemplateRuntime',
  },
  { name: 'huge error message', template: "{% throw new Error('m'.repeat(1e7)) %}", code: 'TemplateRuntime' },
  {
    name: 'Proxy as the thrown value',
    template: "{% throw new Proxy({}, { get: () => 'x'.repeat(1e6) }) %}",
    code: 'TemplateRuntime',
  },
  {
    name: 'toString/valueOf traps on the thrown value',
    template: '{% throw { toString() { while (true) {} }, valueOf() { while (true) {} } } %}',
    code: 'TemplateRuntime',
  },
  // Files and other templates.
  { name: 'include()', template: "{%= include('/etc/passwd') %}", code: 'TemplateUnsupported' },
  { name: 'includeFile()', template: "{%= includeFile('/etc/passwd') %}", code: 'TemplateRuntime' },
  { name: 'layout()', template: "{% layout('/etc/passwd') %}body", code: 'TemplateUnsupported' },
  { name: 'this.readFile', template: "{%= this.readFile('/etc/passwd') %}", code: 'TemplateRuntime' },
  // eta config tampering.
  {
    name: 'eta config tampering',
    template:
      "{% this.config.functionHeader = 'it = process;'; this.config.autoEscape = true; this.config.tags = ['<%', '%>'] %}{%= include('x') %}",
    code: 'TemplateUnsupported',
  },
  {
    name: "eta's error path replaced",
    template: '{% this.RuntimeErr = null %}{%= nope.x %}',
    code: 'TemplateRuntime',
  },
  // Go syntax.
  { name: 'Go env', template: '{% env "HOME" %}', code: 'TemplateUnsupported' },
  {
    name: 'Go expandenv in a pipeline',
    template: 'home: {% expandenv "$HOME" | quote %}',
    code: 'TemplateUnsupported',
  },
  {
    name: 'Go getHostByName',
    template: '{% getHostByName "metadata.google.internal" %}',
    code: 'TemplateUnsupported',
  },
  {
    // `template` only names templates defined in the same text: no file is ever read.
    name: 'Go template by file name',
    template: '{% template "/etc/passwd" . %}',
    code: 'TemplateRuntime',
  },
  { name: 'Go field on a string', template: '{% .a.length %}', code: 'TemplateRuntime' },
  { name: 'Go unclosed action', template: 'x: {% .a ', code: 'TemplateSyntax' },
  { name: 'both dialects', template: '{% .a %}{%= process %}', code: 'TemplateDialectMixed' },
];

let short: TemplateRenderer;
let long: TemplateRenderer;
beforeAll(() => {
  short = new TemplateRenderer({ workers: 1, limits: { timeoutMs: SHORT_TIMEOUT_MS } });
  long = new TemplateRenderer({ workers: 1, limits: { timeoutMs: LONG_TIMEOUT_MS } });
});
afterAll(async () => {
  await Promise.all([short.close(), long.close()]);
});

describe('hostile corpus', () => {
  it('has at least 40 templates', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(40);
  });

  it.each(CORPUS)('$name → $code', async ({ template, code, data }) => {
    const r = code === 'TemplateTimeout' ? short : long;
    const envBefore = JSON.stringify(process.env);
    const protoBefore = Object.getOwnPropertyNames(Object.prototype).join();
    const t0 = performance.now();
    const error = await r.render(template, data ?? DATA).then(
      () => undefined,
      (e: unknown) => e,
    );
    const elapsed = performance.now() - t0;
    expect(error).toBeInstanceOf(TemplateError);
    const e = error as TemplateError;
    expect({ code: e.code, message: e.message }).toMatchObject({ code });
    expect(e.message.length).toBeLessThanOrEqual(1000);
    expect(elapsed).toBeLessThan(boundMs(r.limits.timeoutMs));
    // The operator's process is untouched.
    expect(JSON.stringify(process.env)).toBe(envBefore);
    expect(Object.getOwnPropertyNames(Object.prototype).join()).toBe(protoBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect('a'.replace('a', 'b')).toBe('b');
    expect(existsSync(MARK)).toBe(false);
    // The next benign render is correct.
    expect(await r.render(BENIGN, DATA)).toEqual({ output: 'ok 1 x', warnings: [] });
  });
});

describe('context poisoning does not leak into the next render (the five ways of the note)', () => {
  let one: TemplateRenderer;
  beforeAll(() => {
    one = new TemplateRenderer({ workers: 1 });
  });
  afterAll(async () => {
    await one.close();
  });

  /** Renders `poison` then `probe` on the same worker (checked: no worker was spawned in between). */
  async function poisonThenProbe(poison: string, probe: string, data: unknown = DATA) {
    await one.render('{%= 1 %}', {});
    const spawned = one.stats().spawned;
    await one.render(poison, data).catch(() => undefined);
    const result = await one.render(probe, data);
    expect(one.stats().spawned).toBe(spawned);
    return result;
  }

  it('1. Object.prototype keys do not show up as values', async () => {
    const poison = "{% Object.prototype.x = 'injected'; Object.prototype.polluted = 'yes' %}";
    expect((await poisonThenProbe(poison, '{%= it.x %}|{%= ({}).polluted %}|{%= "x" in {} %}')).output).toBe(
      'undefined|undefined|false',
    );
    expect(await poisonThenProbe(poison, 'v: "{% .x %}{% .polluted %}"')).toEqual({
      output: 'v: ""',
      warnings: ['missing key .x', 'missing key .polluted'],
    });
  });

  it('2. overridden String methods (and JSON, Array) are back to the originals', async () => {
    const poison =
      "{% String.prototype.toUpperCase = () => 'HACKED'; String.prototype.replace = () => 'HACKED'; JSON.stringify = () => 'HACKED'; Array.prototype.map = () => ['HACKED'] %}";
    const probe =
      '{%= "a".toUpperCase() %}|{%= "a".replace("a", "b") %}|{%= JSON.stringify({ q: 1 }) %}|{%= [1].map((v) => v + 1) %}';
    expect((await poisonThenProbe(poison, probe)).output).toBe('A|b|{"q":1}|2');
  });

  it("3. a replaced eta config does not change the next template's compilation", async () => {
    const poison =
      "{% this.config.autoEscape = true; this.config.escapeFunction = () => 'HACKED'; this.config.tags = ['<%', '%>']; this.config.varName = 'x'; this.config.autoTrim = ['slurp', 'slurp']; this.parse = () => []; this.compileToString = () => 'return \"HACKED\"' %}";
    expect((await poisonThenProbe(poison, ' {%= "<&>" %} \n{%= it.b %}')).output).toBe(' <&> \n1');
  });

  it('4. an injected functionHeader does not run in later templates', async () => {
    const poison =
      "{% this.config.functionHeader = 'it = { hacked: true };'; Object.prototype.functionHeader = 'it = { hacked: 2 };' %}";
    expect((await poisonThenProbe(poison, '{%= JSON.stringify(it) %}')).output).toBe('{"a":"x","b":1}');
  });

  it('5. leftover globals are gone', async () => {
    const poison =
      "{% globalThis.leak = 'x'; var declared = 1; globalThis.output = null; globalThis.JSON = null %}";
    expect(
      (await poisonThenProbe(poison, '{%= typeof leak %}|{%= typeof declared %}|{%= typeof JSON %}')).output,
    ).toBe('undefined|undefined|object');
  });

  it('the strings of one object template share a context, but the next render does not', async () => {
    // Same owner, one round trip: a later string sees what an earlier one did (documented); the next render is clean.
    const items = await one.renderBatch(['{% Object.prototype.shared = "seen" %}', '{%= ({}).shared %}'], {});
    expect(items.map((i) => (i.ok ? i.output : i.error.code))).toEqual(['', 'seen']);
    expect((await one.render('{%= ({}).shared %}', {})).output).toBe('undefined');
  });
});
