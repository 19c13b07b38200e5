// The render loop that runs INSIDE QuickJS, in a fresh context per render. Its module is evaluated before any
// tenant code, so the intrinsics it captures below are the genuine ones.
//
// Input: strings only (jobs as JSON built by the worker, the data as JSON). Output: one string in a
// length-prefixed format (wire.ts decodes it), built by concatenating primitive strings, so that a template
// which poisons prototypes (Object.prototype.toJSON, String.prototype.slice, ...) cannot forge or break the
// report of the renders that share its context. Errors are reduced to short {code, message} strings here:
// the host never reads a tenant value except that one string.
//
// Pure module: no Node built-ins, no host globals.

import { escapeSandboxText } from './text-escape.ts';

export type GoRenderer = (
  src: string,
  data: unknown,
  opts: { seed: string; reuseData?: boolean },
) => { output: string; missingKeys: string[] };

type Job = { d: 'eta'; b: string } | { d: 'go'; s: string };

const parseJson = JSON.parse;
const FunctionCtor = Function;
const call = Function.prototype.call;
const bind = Function.prototype.bind;
const uncurry = <A extends unknown[], R>(f: (...args: A) => R): ((self: unknown, ...args: A) => R) =>
  bind.call(call, f) as (self: unknown, ...args: A) => R;
/** invoke(fn, self, ...args): calls fn without looking up `fn.call` (which a template could replace). */
const invoke = bind.call(call, call) as (fn: unknown, self: unknown, ...args: unknown[]) => unknown;
const strSlice = uncurry(String.prototype.slice);
const strIndexOf = uncurry(String.prototype.indexOf);
const strLastIndexOf = uncurry(String.prototype.lastIndexOf);
const isArray = Array.isArray;
const ArrayBufferCtor = ArrayBuffer;

const MAX_WARNINGS = 100;
const MAX_WARNING_LENGTH = 300;

function isGoErrorCode(code: unknown): code is string {
  return code === 'TemplateSyntax' || code === 'TemplateRuntime' || code === 'TemplateUnsupported';
}

/** An error this runner raises itself, with its final code. Private fields: tenant code cannot forge one. */
class SandboxError {
  readonly #code: string;
  readonly #message: string;
  constructor(code: string, message: string) {
    this.#code = code;
    this.#message = message;
  }
  static read(e: unknown): [string, string] | null {
    if (typeof e === 'object' && e !== null && #code in e) {
      const s = e as SandboxError;
      return [s.#code, s.#message];
    }
    return null;
  }
}

/** A runtime error of an eta template, with the template line eta's debug mode tracked. */
class EtaFailure {
  readonly #cause: unknown;
  readonly #line: number;
  constructor(cause: unknown, line: number) {
    this.#cause = cause;
    this.#line = line;
  }
  static read(e: unknown): { cause: unknown; line: number } | null {
    if (typeof e === 'object' && e !== null && #line in e) {
      const f = e as EtaFailure;
      return { cause: f.#cause, line: f.#line };
    }
    return null;
  }
}

function field(text: string): string {
  const s = escapeSandboxText(text);
  return `${s.length}:${s}`;
}

function cut(s: string, max: number): string {
  return s.length > max ? `${strSlice(s, 0, max - 1)}…` : s;
}

/** Name and message of a thrown value, read once and only when they are strings (getters may run, bounded by the deadline). */
function describe(e: unknown): { name: string; message: string } {
  const t = typeof e;
  if (t === 'string') return { name: '', message: e as string };
  if (t === 'number' || t === 'boolean' || t === 'bigint') return { name: '', message: `${e as number}` };
  if (t === 'undefined') return { name: '', message: 'undefined was thrown' };
  if (t === 'symbol') return { name: '', message: 'a symbol was thrown' };
  let name = '';
  let message = '';
  try {
    const n = (e as { name?: unknown }).name;
    if (typeof n === 'string') name = n;
  } catch {
    name = '';
  }
  try {
    const m = (e as { message?: unknown }).message;
    if (typeof m === 'string') message = m;
  } catch {
    message = '(the error could not be read)';
  }
  return { name, message };
}

function classify(e: unknown, phase: 'compile' | 'run', dialect: 'eta' | 'go'): [string, string] {
  if (e === null) {
    // QuickJS throws null when it cannot even allocate the "out of memory" error.
    return ['TemplateMemory', 'the template ran out of memory (or threw null)'];
  }
  const own = SandboxError.read(e);
  if (own) return own;
  let cause: unknown = e;
  let line = 0;
  const failure = EtaFailure.read(e);
  if (failure) {
    cause = failure.cause;
    line = failure.line;
    if (cause === null) return ['TemplateMemory', 'the template ran out of memory (or threw null)'];
    const inner = SandboxError.read(cause);
    if (inner) return [inner[0], `line ${line}: ${inner[1]}`];
  }
  const { name, message } = describe(cause);
  const at = line > 0 ? `line ${line}: ` : '';
  const text = `${at}${name && name !== 'GoTemplateError' ? `${name}: ` : ''}${message}`;
  const engine = name === 'InternalError' || name === 'RangeError' || name === 'SyntaxError';
  if (engine && (message === 'out of memory' || message === 'string too long'))
    return ['TemplateMemory', text];
  if (engine && message === 'stack overflow') return ['TemplateStackOverflow', text];
  if (name === 'InternalError' && message === 'interrupted') return ['TemplateTimeout', text];
  if (dialect === 'go') {
    let code: unknown;
    try {
      code = (cause as { code?: unknown }).code;
    } catch {
      code = undefined;
    }
    if (isGoErrorCode(code)) return [code, text];
    return ['TemplateRuntime', text];
  }
  if (phase === 'compile') return ['TemplateSyntax', `bad template syntax: ${text}`];
  return ['TemplateRuntime', text];
}

/** The template line of line `bodyLine` (1-based) of eta's compiled function body (debug mode writes `__eta.line=N`). */
export function templateLine(body: string, bodyLine: number): number {
  let end = 0;
  for (let i = 1; i < bodyLine + 1; i++) {
    const next = strIndexOf(body, '\n', end);
    if (next < 0) {
      end = body.length;
      break;
    }
    end = next + 1;
  }
  const mark = strLastIndexOf(body, '__eta.line=', end);
  if (mark < 0) return 0;
  let n = 0;
  for (let i = mark + 11; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (c < 48 || c > 57) break;
    n = n * 10 + (c - 48);
  }
  return n;
}

function xmlEscape(value: unknown): string {
  const s = String(value);
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    out +=
      c === '&'
        ? '&amp;'
        : c === '<'
          ? '&lt;'
          : c === '>'
            ? '&gt;'
            : c === '"'
              ? '&quot;'
              : c === "'"
                ? '&#39;'
                : c;
  }
  return out;
}

/** `this` of a compiled eta template: the few members its body uses. include()/layout() are refused. */
function etaThis(): object {
  const refuse = (): never => {
    throw new SandboxError(
      'TemplateUnsupported',
      'include() and layout() are not available: a template cannot load other templates or files',
    );
  };
  return {
    config: { escapeFunction: xmlEscape, filterFunction: String, customTags: {} },
    render: refuse,
    renderAsync: refuse,
    RuntimeErr(e: unknown, _source: string, line: unknown): never {
      throw new EtaFailure(e, typeof line === 'number' ? line : 0);
    },
  };
}

function compileEta(body: string): (it: unknown, options: object) => unknown {
  try {
    return new FunctionCtor('it', 'options', body) as (it: unknown, options: object) => unknown;
  } catch (e) {
    // QuickJS numbers the lines of `(function anonymous(it,options\n) {\n<body>`: body line = lineNumber - 2.
    let lineNumber = 0;
    try {
      const n = (e as { lineNumber?: unknown }).lineNumber;
      if (typeof n === 'number') lineNumber = n;
    } catch {
      lineNumber = 0;
    }
    const line = lineNumber > 2 ? templateLine(body, lineNumber - 2) : 0;
    throw line > 0 ? new EtaFailure(e, line) : e;
  }
}

/**
 * Builds the `run` function of an entry module. `goRender` is the Go-dialect engine, or null in contexts that
 * only have eta templates.
 */
export function createRunner(goRender: GoRenderer | null) {
  return function run(
    jobsJson: string,
    dataJson: string,
    seedJson: string,
    maxOutputLength: number,
    maxMessageLength: number,
  ): string {
    // Kept until an error is reported: freeing it leaves room to build the report after an out-of-memory.
    const reserve: { ballast: ArrayBuffer | null } = { ballast: new ArrayBufferCtor(256 * 1024) };
    const jobs = parseJson(jobsJson) as Job[];
    const seed = parseJson(seedJson) as string;
    const count = jobs.length;
    const errorRecord = (code: string, message: string): string => {
      reserve.ballast = null;
      return `E${field(code)}${field(cut(message, maxMessageLength))}`;
    };
    let data: unknown;
    let dataError: [string, string] | null = null;
    try {
      data = parseJson(dataJson);
    } catch (e) {
      dataError = classify(e, 'run', 'eta');
      if (dataError[0] === 'TemplateRuntime')
        dataError = ['TemplateInputInvalid', `the data is not valid JSON`];
    }
    let out = `${count};`;
    let total = 0;
    // An eta template gets the data as plain objects and may change them; the Go engine then converts
    // them afresh. Between Go templates the converted data is shared (the engine's reuseData).
    let dataChanged = true;
    for (let i = 0; i < count; i++) {
      const job = jobs[i] as Job;
      if (dataError) {
        out += errorRecord(dataError[0], dataError[1]);
        continue;
      }
      let phase: 'compile' | 'run' = 'compile';
      try {
        let output: unknown;
        let warnings = '0;';
        if (job.d === 'eta') {
          const fn = compileEta(job.b);
          phase = 'run';
          dataChanged = true;
          output = invoke(fn, etaThis(), data, {});
        } else {
          if (goRender === null) throw new SandboxError('TemplateRuntime', 'the Go engine is not loaded');
          phase = 'run';
          const result = goRender(job.s, data, { seed, reuseData: !dataChanged });
          dataChanged = false;
          output = result.output;
          const missing = result.missingKeys;
          let n = 0;
          let w = '';
          if (isArray(missing)) {
            for (let k = 0; k < missing.length && n < MAX_WARNINGS; k++) {
              const key = missing[k];
              if (typeof key !== 'string') continue;
              w += field(cut(`missing key ${key}`, MAX_WARNING_LENGTH));
              n++;
            }
          }
          warnings = `${n};${w}`;
        }
        if (typeof output !== 'string') {
          throw new SandboxError('TemplateRuntime', `the template produced ${typeof output}, not text`);
        }
        total += output.length;
        // UTF-16 length <= UTF-8 bytes, so this only refuses what is certainly too large; the host checks bytes.
        if (total > maxOutputLength) {
          throw new SandboxError(
            'TemplateOutputTooLarge',
            `the rendered text is larger than ${maxOutputLength} bytes`,
          );
        }
        out += `O${field(output)}${warnings}`;
      } catch (e) {
        reserve.ballast = null;
        const [code, message] = classify(e, phase, job.d);
        out += errorRecord(code, message);
      }
    }
    reserve.ballast = null;
    return out;
  };
}
