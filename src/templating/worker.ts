// One sandbox worker (a worker_thread). It owns a QuickJS WebAssembly instance whose memory is a capped
// WebAssembly.Memory, one long-lived COMPILER context (eta's parser, never runs tenant code) and creates a fresh
// runtime + context for every render. It answers one render at a time; the main thread enforces the hard
// deadline by terminating it.
//
// Boundary rules kept here:
// - strings in, strings out: no host function is ever passed into a context (the module loader is a runtime
//   hook that serves only the allow-list); the only value read out of a render context is the one string its
//   runner returns (or, when even that failed, the type of the exception);
// - any exception thrown by the QuickJS host API itself (a host RangeError or a WebAssembly RuntimeError out of
//   the WASM) means the instance may be corrupt: nothing more is disposed and the worker asks to be retired.

import { parentPort, workerData } from 'node:worker_threads';
import releaseSyncImport from '@jitl/quickjs-wasmfile-release-sync';
import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSRuntime,
  type QuickJSSyncVariant,
  type QuickJSWASMModule,
  shouldInterruptAfterDeadline,
} from 'quickjs-emscripten-core';
import { TemplateError, type TemplateErrorCode } from './errors.ts';
import { resolveSandboxModule, sandboxModuleName } from './sandbox-sources.ts';
import { webAssembly } from './wasm.ts';
import {
  decodeRunResult,
  type JobResult,
  type RenderRequest,
  unescapeSandboxText,
  type WorkerInit,
  type WorkerMessage,
} from './wire.ts';
import { parseYamlDocuments } from './yaml-documents.ts';

// The package's types are CommonJS-shaped; imported as ESM, its default export is the variant itself.
const releaseSync = releaseSyncImport as unknown as QuickJSSyncVariant;

const WASM_PAGE = 64 * 1024;
const INITIAL_PAGES = 256; // what the emscripten module declares (16 MiB)
const COMPILE_CACHE_ENTRIES = 256;
const COMPILE_CACHE_CHARS = 4 * 1024 * 1024;

type Failure = { code: TemplateErrorCode; message: string };
type CompileOutcome = { ok: true; body: string } | ({ ok: false; fatal: boolean } & Failure);

/** Thrown when the QuickJS host API itself failed: the instance is no longer trusted. */
class HostFault extends Error {
  override name = 'HostFault';
}

const init = workerData as WorkerInit;
const port = parentPort;
if (!port) throw new Error('worker.ts must run as a worker_thread');

function post(message: WorkerMessage): void {
  port?.postMessage(message);
}

function hostFailure(e: unknown): Failure {
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  if (e instanceof RangeError) {
    return {
      code: 'TemplateStackOverflow',
      message: `the sandbox exhausted its stack (${text}); it was replaced`,
    };
  }
  if (/\bOOM\b|out of memory|Cannot enlarge memory/i.test(text)) {
    return { code: 'TemplateMemory', message: `the sandbox ran out of memory (${text}); it was replaced` };
  }
  return { code: 'TemplateSandboxFailure', message: `the sandbox failed (${text}); it was replaced` };
}

/** Runs host-API calls; any exception they throw becomes a HostFault. */
function guarded<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof HostFault) throw e;
    throw new HostFault(e instanceof Error ? `${e.name}: ${e.message}` : String(e), { cause: e });
  }
}

function moduleLoaderFor(modules: Readonly<Record<string, string>>) {
  return {
    load: (name: string) =>
      Object.hasOwn(modules, name)
        ? (modules[name] as string)
        : { error: new Error(`module ${name} is not available`) },
    normalize: (base: string, requested: string) =>
      resolveSandboxModule(modules, base, requested) ?? {
        error: new Error(`module ${requested} is not available`),
      },
  };
}

/** Classifies an exception that escaped trusted sandbox code, reading at most a short `message` string. */
function escapedError(
  ctx: QuickJSContext,
  handle: QuickJSHandle,
  deadline: number,
  timeoutMs: number,
): Failure {
  if (Date.now() > deadline)
    return { code: 'TemplateTimeout', message: `the render took longer than ${timeoutMs} ms` };
  if (ctx.typeof(handle) === 'object') {
    if (ctx.sameValue(handle, ctx.null)) {
      return { code: 'TemplateMemory', message: 'the sandbox ran out of memory' };
    }
    const message = ctx.getProp(handle, 'message');
    try {
      if (ctx.typeof(message) === 'string' && (ctx.getLength(message) ?? 0) <= 200) {
        const text = ctx.getString(message);
        if (text === 'out of memory' || text === 'string too long') {
          return { code: 'TemplateMemory', message: 'the sandbox ran out of memory' };
        }
        if (text === 'stack overflow')
          return { code: 'TemplateStackOverflow', message: 'the sandbox stack overflowed' };
        if (text === 'interrupted')
          return { code: 'TemplateTimeout', message: `the render took longer than ${timeoutMs} ms` };
      }
    } finally {
      message.dispose();
    }
  }
  return { code: 'TemplateSandboxFailure', message: 'the sandbox code failed unexpectedly' };
}

/**
 * A QuickJS runtime and context kept for the worker's life, with one sandbox module loaded and one of its
 * exports held. `deadline` bounds every call made into it (the interrupt handler reads it).
 */
class ResidentModule {
  readonly ctx: QuickJSContext;
  readonly fn: QuickJSHandle;
  readonly #rt: QuickJSRuntime;
  deadline = 0;

  constructor(
    qjs: QuickJSWASMModule,
    modules: Readonly<Record<string, string>>,
    module: string,
    exportName: string,
    limits: { stackBytes: number; memoryBytes?: number },
  ) {
    const entry = sandboxModuleName(modules, module);
    if (!entry) throw new Error(`sandbox/${module} is missing from the sandbox bundle`);
    const loader = moduleLoaderFor(modules);
    this.#rt = qjs.newRuntime();
    this.#rt.setMaxStackSize(limits.stackBytes);
    if (limits.memoryBytes !== undefined) this.#rt.setMemoryLimit(limits.memoryBytes);
    this.#rt.setInterruptHandler(() => Date.now() > this.deadline);
    this.#rt.setModuleLoader(loader.load, loader.normalize);
    this.ctx = this.#rt.newContext();
    this.deadline = Date.now() + 10_000;
    const ns = this.ctx.unwrapResult(this.ctx.evalCode(modules[entry] as string, entry, { type: 'module' }));
    this.fn = this.ctx.getProp(ns, exportName);
    ns.dispose();
  }

  dispose(): void {
    this.fn.dispose();
    this.ctx.dispose();
    this.#rt.dispose();
  }
}

/** The per-worker compiler context: eta's compileToString on tenant text, which never runs tenant code. */
class EtaCompiler {
  readonly #m: ResidentModule;

  constructor(qjs: QuickJSWASMModule, modules: Readonly<Record<string, string>>, stackBytes: number) {
    this.#m = new ResidentModule(qjs, modules, 'compile-entry', 'compile', { stackBytes });
  }

  compile(src: string, deadline: number, maxMessageLength: number, timeoutMs: number): CompileOutcome {
    const ctx = this.#m.ctx;
    this.#m.deadline = deadline;
    const arg = ctx.newString(JSON.stringify(src));
    const max = ctx.newNumber(maxMessageLength);
    const result = ctx.callFunction(this.#m.fn, ctx.undefined, arg, max);
    arg.dispose();
    max.dispose();
    if (result.error) {
      const failure = escapedError(ctx, result.error, deadline, timeoutMs);
      result.error.dispose();
      return { ok: false, fatal: true, ...failure };
    }
    const text = unescapeSandboxText(
      ctx.typeof(result.value) === 'string' ? ctx.getString(result.value) : '',
    );
    result.value.dispose();
    const kind = text[0];
    if (kind === 'O') return { ok: true, body: text.slice(1) };
    if (kind === 'E') return { ok: false, fatal: false, code: 'TemplateSyntax', message: text.slice(1) };
    const message = text.slice(1);
    if (message.endsWith('out of memory')) return { ok: false, fatal: true, code: 'TemplateMemory', message };
    if (message.endsWith('stack overflow'))
      return { ok: false, fatal: true, code: 'TemplateStackOverflow', message };
    return { ok: false, fatal: true, code: 'TemplateSandboxFailure', message: `eta failed: ${message}` };
  }

  dispose(): void {
    this.#m.dispose();
  }
}

/**
 * The per-worker Go context: the Go engine loaded ONCE and reused for every Go-only render. Loading the
 * engine (about 190 KB of source) costs ~20 ms, more than the render itself, so a fresh context per Go render
 * would cap a worker at ~50 renders/s. Reuse is safe for this dialect where it is not for eta: a Go template
 * cannot run JavaScript, only call the engine's functions, and those keep template values in Maps (no
 * prototype to pollute) and module state only in a bounded parse cache and a WeakMap from a render's data to
 * its converted Go value (each request parses its own data, so an entry never serves another request).
 * Any failure that may have left the context in a bad state (timeout, out of memory, stack overflow, an
 * exception escaping the runner) disposes it; the next Go render rebuilds it.
 */
class GoRunner {
  readonly #m: ResidentModule;

  constructor(
    qjs: QuickJSWASMModule,
    modules: Readonly<Record<string, string>>,
    stackBytes: number,
    memoryBytes: number,
  ) {
    this.#m = new ResidentModule(qjs, modules, 'exec-go', 'run', { stackBytes, memoryBytes });
  }

  /** Runs Go jobs; `undefined` result means the context must be discarded (the failure says why). */
  run(
    jobs: readonly { d: 'go'; s: string }[],
    req: RenderRequest,
    deadline: number,
  ): { results: JobResult[]; discard: boolean } | { failure: Failure; discard: boolean } {
    const c = this.#m.ctx;
    this.#m.deadline = deadline;
    const args = [
      c.newString(JSON.stringify(jobs)),
      c.newString(req.dataJson),
      c.newString(JSON.stringify(req.seed)),
      c.newNumber(req.maxOutputBytes),
      c.newNumber(req.maxErrorMessageLength),
    ];
    const result = c.callFunction(this.#m.fn, c.undefined, ...args);
    for (const a of args) a.dispose();
    if (result.error) {
      const failure = escapedError(c, result.error, deadline, req.timeoutMs);
      result.error.dispose();
      return { failure, discard: true };
    }
    try {
      if (c.typeof(result.value) !== 'string') {
        return {
          failure: { code: 'TemplateSandboxFailure', message: 'the sandbox returned no text' },
          discard: true,
        };
      }
      const limit =
        5 * (req.maxOutputBytes + jobs.length * (req.maxErrorMessageLength + 64 + 100 * 400) + 64);
      if ((c.getLength(result.value) ?? 0) > limit) {
        return {
          failure: {
            code: 'TemplateOutputTooLarge',
            message: `the rendered text is larger than ${req.maxOutputBytes} bytes`,
          },
          discard: false,
        };
      }
      const decoded = decodeRunResult(c.getString(result.value), jobs.length);
      if (!decoded) {
        return {
          failure: { code: 'TemplateSandboxFailure', message: 'the sandbox returned a malformed result' },
          discard: true,
        };
      }
      // A limit hit inside the engine (memory, time) leaves no trace we trust: start the next render clean.
      const bad = decoded.some(
        (r) =>
          !r.ok &&
          (r.code === 'TemplateMemory' || r.code === 'TemplateTimeout' || r.code === 'TemplateStackOverflow'),
      );
      return { results: decoded, discard: bad };
    } finally {
      result.value.dispose();
    }
  }

  dispose(): void {
    this.#m.dispose();
  }
}

/** Compiled bodies by template source (compilation is a pure function of the source). */
class CompileCache {
  readonly #entries = new Map<string, CompileOutcome>();
  #chars = 0;

  get(src: string): CompileOutcome | undefined {
    const hit = this.#entries.get(src);
    if (hit) {
      this.#entries.delete(src);
      this.#entries.set(src, hit);
    }
    return hit;
  }

  set(src: string, outcome: CompileOutcome): void {
    const size = src.length + (outcome.ok ? outcome.body.length : outcome.message.length);
    if (size > COMPILE_CACHE_CHARS / 4) return;
    this.#entries.set(src, outcome);
    this.#chars += size;
    while (this.#entries.size > COMPILE_CACHE_ENTRIES || this.#chars > COMPILE_CACHE_CHARS) {
      const [oldest, value] = this.#entries.entries().next().value as [string, CompileOutcome];
      this.#entries.delete(oldest);
      this.#chars -= oldest.length + (value.ok ? value.body.length : value.message.length);
    }
  }
}

class Sandbox {
  readonly #qjs: QuickJSWASMModule;
  readonly #modules: Readonly<Record<string, string>>;
  readonly #stackBytes: number;
  readonly #memoryBytes: number;
  readonly #cache = new CompileCache();
  #compiler: EtaCompiler | undefined;
  #go: GoRunner | undefined;

  constructor(qjs: QuickJSWASMModule, init: WorkerInit) {
    this.#qjs = qjs;
    this.#modules = init.modules;
    this.#stackBytes = init.stackBytes;
    this.#memoryBytes = init.memoryBytes;
    this.#compiler = new EtaCompiler(qjs, init.modules, init.stackBytes);
  }

  #compileEta(src: string, req: RenderRequest, deadline: number): CompileOutcome {
    const cached = this.#cache.get(src);
    if (cached) return cached;
    this.#compiler ??= guarded(() => new EtaCompiler(this.#qjs, this.#modules, this.#stackBytes));
    const compiler = this.#compiler;
    const outcome = guarded(() => compiler.compile(src, deadline, req.maxErrorMessageLength, req.timeoutMs));
    if (!outcome.ok && outcome.fatal) {
      // Interrupted or out of memory mid-compile: rebuild the compiler context before its next use.
      this.#compiler = undefined;
      guarded(() => compiler.dispose());
      return outcome;
    }
    this.#cache.set(src, outcome);
    return outcome;
  }

  render(req: RenderRequest): WorkerMessage {
    const deadline = Date.now() + req.timeoutMs;
    const results: (JobResult | undefined)[] = new Array(req.jobs.length).fill(undefined);
    const toRun: { index: number; job: { d: 'eta'; b: string } | { d: 'go'; s: string } }[] = [];
    for (let i = 0; i < req.jobs.length; i++) {
      const job = req.jobs[i];
      if (!job) continue;
      if (job.dialect === 'none') {
        results[i] = { ok: true, output: job.src, warnings: [] };
        continue;
      }
      if (job.dialect === 'go') {
        toRun.push({ index: i, job: { d: 'go', s: job.src } });
        continue;
      }
      const compiled = this.#compileEta(job.src, req, deadline);
      if (compiled.ok) toRun.push({ index: i, job: { d: 'eta', b: compiled.body } });
      else if (compiled.fatal)
        return { type: 'failure', id: req.id, code: compiled.code, message: compiled.message, retire: false };
      else results[i] = { ok: false, code: compiled.code, message: compiled.message };
    }
    if (toRun.length > 0 && toRun.every((t) => t.job.d === 'go')) {
      const run = this.#executeGo(
        toRun.map((t) => t.job as { d: 'go'; s: string }),
        req,
        deadline,
      );
      if ('failure' in run) return { type: 'failure', id: req.id, ...run.failure, retire: false };
      run.results.forEach((r, k) => {
        results[(toRun[k] as { index: number }).index] = r;
      });
    } else if (toRun.length > 0) {
      const run = this.#execute(
        toRun.map((t) => t.job),
        req,
        deadline,
      );
      if ('failure' in run) return { type: 'failure', id: req.id, ...run.failure, retire: false };
      run.results.forEach((r, k) => {
        results[(toRun[k] as { index: number }).index] = r;
      });
    }
    let bytes = 0;
    const final = results.map((r): JobResult => {
      if (!r) return { ok: false, code: 'TemplateRuntime', message: 'no result' };
      if (!r.ok) return r;
      bytes += Buffer.byteLength(r.output, 'utf8');
      return bytes > req.maxOutputBytes
        ? {
            ok: false,
            code: 'TemplateOutputTooLarge',
            message: `the rendered text is larger than ${req.maxOutputBytes} bytes`,
          }
        : r;
    });
    const yaml = req.yaml;
    if (!yaml) return { type: 'result', id: req.id, results: final, retire: false };
    // YAML of rendered text is parsed here, not on the operator's main thread: the host's deadline timer bounds it.
    const parsed = final.map((r): JobResult => {
      if (!r.ok) return r;
      try {
        const documents = parseYamlDocuments(r.output, yaml);
        return { ok: true, output: r.output, warnings: r.warnings, documents };
      } catch (e) {
        if (e instanceof TemplateError) return { ok: false, code: e.code, message: e.message };
        throw e;
      }
    });
    return { type: 'result', id: req.id, results: parsed, retire: false };
  }

  /** Go-only jobs run in the worker's long-lived Go context (see GoRunner). */
  #executeGo(
    jobs: readonly { d: 'go'; s: string }[],
    req: RenderRequest,
    deadline: number,
  ): { results: JobResult[] } | { failure: Failure } {
    this.#go ??= guarded(() => new GoRunner(this.#qjs, this.#modules, this.#stackBytes, this.#memoryBytes));
    const go = this.#go;
    const out = guarded(() => go.run(jobs, req, deadline));
    if (out.discard) {
      this.#go = undefined;
      guarded(() => go.dispose());
    }
    return 'failure' in out ? { failure: out.failure } : { results: out.results };
  }

  /** One fresh runtime + context: load the entry module, call run() with strings, read one string back. */
  #execute(
    jobs: readonly ({ d: 'eta'; b: string } | { d: 'go'; s: string })[],
    req: RenderRequest,
    deadline: number,
  ): { results: JobResult[] } | { failure: Failure } {
    const entry = sandboxModuleName(this.#modules, jobs.some((j) => j.d === 'go') ? 'exec-go' : 'exec-eta');
    if (!entry)
      return { failure: { code: 'TemplateSandboxFailure', message: 'sandbox entry module missing' } };
    const loader = moduleLoaderFor(this.#modules);
    const rt = guarded(() => this.#qjs.newRuntime());
    let ctx: QuickJSContext | undefined;
    const handles: QuickJSHandle[] = [];
    let faulted = false;
    try {
      return guarded(() => {
        rt.setMaxStackSize(this.#stackBytes);
        // Does not hold on its own in 0.32 (the WebAssembly.Memory cap does); kept as an early, cheap stop.
        rt.setMemoryLimit(this.#memoryBytes);
        rt.setInterruptHandler(shouldInterruptAfterDeadline(deadline));
        rt.setModuleLoader(loader.load, loader.normalize);
        const c = rt.newContext();
        ctx = c;
        const ns = c.evalCode(this.#modules[entry] as string, entry, { type: 'module' });
        if (ns.error) {
          handles.push(ns.error);
          return { failure: escapedError(c, ns.error, deadline, req.timeoutMs) };
        }
        handles.push(ns.value);
        const run = c.getProp(ns.value, 'run');
        handles.push(run);
        const args = [
          c.newString(JSON.stringify(jobs)),
          c.newString(req.dataJson),
          c.newString(JSON.stringify(req.seed)),
          c.newNumber(req.maxOutputBytes),
          c.newNumber(req.maxErrorMessageLength),
        ];
        handles.push(...args);
        const result = c.callFunction(run, c.undefined, ...args);
        if (result.error) {
          handles.push(result.error);
          return { failure: escapedError(c, result.error, deadline, req.timeoutMs) };
        }
        handles.push(result.value);
        if (rt.hasPendingJob()) {
          // Templates are synchronous: promise callbacks, await and import() would only run if jobs were
          // executed, which never happens here. Say so rather than render a half-done result.
          return {
            failure: {
              code: 'TemplateUnsupported',
              message:
                'templates are synchronous: Promise callbacks, await and import() never run in the sandbox',
            },
          };
        }
        if (c.typeof(result.value) !== 'string') {
          return { failure: { code: 'TemplateSandboxFailure', message: 'the sandbox returned no text' } };
        }
        // Everything the runner returns is bounded by the output cap plus capped messages and warnings, times 5
        // for the escapes of text-escape.ts (one character becomes five).
        const limit =
          5 * (req.maxOutputBytes + jobs.length * (req.maxErrorMessageLength + 64 + 100 * 400) + 64);
        if ((c.getLength(result.value) ?? 0) > limit) {
          return {
            failure: {
              code: 'TemplateOutputTooLarge',
              message: `the rendered text is larger than ${req.maxOutputBytes} bytes`,
            },
          };
        }
        const decoded = decodeRunResult(c.getString(result.value), jobs.length);
        if (!decoded)
          return {
            failure: { code: 'TemplateSandboxFailure', message: 'the sandbox returned a malformed result' },
          };
        return { results: decoded };
      });
    } catch (e) {
      faulted = true;
      throw e;
    } finally {
      if (!faulted) {
        guarded(() => {
          for (const h of handles) if (h.alive) h.dispose();
          ctx?.dispose();
          rt.dispose();
        });
      }
    }
  }
}

async function main(): Promise<void> {
  let sandbox: Sandbox;
  try {
    const memory = new webAssembly.Memory({
      initial: INITIAL_PAGES,
      maximum: Math.max(INITIAL_PAGES, Math.floor(init.memoryBytes / WASM_PAGE)),
    });
    const qjs = await newQuickJSWASMModuleFromVariant(
      newVariant(releaseSync, { wasmModule: init.wasmModule, wasmMemory: memory }),
    );
    sandbox = new Sandbox(qjs, init);
  } catch (e) {
    post({ type: 'init-failed', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    return;
  }
  port?.on('message', (req: RenderRequest) => {
    let reply: WorkerMessage;
    try {
      reply = sandbox.render(req);
    } catch (e) {
      const cause = e instanceof HostFault && e.cause !== undefined ? e.cause : e;
      reply = { type: 'failure', id: req.id, ...hostFailure(cause), retire: true };
    }
    post(reply);
  });
  post({ type: 'ready' });
}

void main();
