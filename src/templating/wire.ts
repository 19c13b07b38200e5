// Messages between the renderer (main thread) and its workers, and the decoder of the one string a render
// context returns. Both sides validate what they receive: the worker's QuickJS output is tenant-influenced,
// and the main thread checks the worker's messages again before trusting their shape.

import { isTemplateErrorCode, SANDBOX_ERROR_CODES, type TemplateErrorCode } from './errors.ts';
import type { WasmModule } from './wasm.ts';

export interface WorkerInit {
  readonly wasmModule: WasmModule;
  /** Module name → JavaScript source: the allow-list the QuickJS module loader serves. */
  readonly modules: Readonly<Record<string, string>>;
  readonly memoryBytes: number;
  readonly stackBytes: number;
}

export interface WireJob {
  /** 'none': text without tags, not rendered (sent only to have its YAML parsed in the worker). */
  readonly dialect: 'eta' | 'go' | 'none';
  readonly src: string;
}

/** Parse each rendered text as YAML documents, in the worker (see yaml-documents.ts). */
export interface YamlRequest {
  readonly maxDocuments: number;
  readonly maxAliasCount: number;
}

export interface RenderRequest {
  readonly type: 'render';
  readonly id: number;
  readonly jobs: readonly WireJob[];
  readonly dataJson: string;
  readonly seed: string;
  readonly timeoutMs: number;
  readonly maxOutputBytes: number;
  readonly maxErrorMessageLength: number;
  readonly yaml?: YamlRequest | undefined;
}

export type JobResult =
  | {
      readonly ok: true;
      readonly output: string;
      readonly warnings: readonly string[];
      /** When the request asked for YAML: the documents of `output`. */
      readonly documents?: readonly Record<string, unknown>[];
    }
  | { readonly ok: false; readonly code: TemplateErrorCode; readonly message: string };

export type WorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'init-failed'; readonly message: string }
  /** Per-template results. `retire`: the worker asks to be replaced (its sandbox may be unsound). */
  | {
      readonly type: 'result';
      readonly id: number;
      readonly results: readonly JobResult[];
      readonly retire: boolean;
    }
  /** The whole render failed (deadline inside the sandbox, memory, a host-level fault). */
  | {
      readonly type: 'failure';
      readonly id: number;
      readonly code: TemplateErrorCode;
      readonly message: string;
      readonly retire: boolean;
    };

function isJobResult(v: unknown): v is JobResult {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  if (r.ok === true) {
    return (
      typeof r.output === 'string' &&
      Array.isArray(r.warnings) &&
      r.warnings.every((w) => typeof w === 'string')
    );
  }
  return r.ok === false && isTemplateErrorCode(r.code) && typeof r.message === 'string';
}

/** Shape check of a message received from a worker. */
export function isWorkerMessage(v: unknown): v is WorkerMessage {
  if (typeof v !== 'object' || v === null) return false;
  const m = v as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
      return true;
    case 'init-failed':
      return typeof m.message === 'string';
    case 'result':
      return (
        typeof m.id === 'number' &&
        typeof m.retire === 'boolean' &&
        Array.isArray(m.results) &&
        m.results.every(isJobResult)
      );
    case 'failure':
      return (
        typeof m.id === 'number' &&
        typeof m.retire === 'boolean' &&
        isTemplateErrorCode(m.code) &&
        typeof m.message === 'string'
      );
    default:
      return false;
  }
}

/** Restores what sandbox/text-escape.ts escaped (NUL, unpaired surrogates, U+0001). */
export function unescapeSandboxText(s: string): string {
  if (!s.includes('\u0001')) return s;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: U+0001 is the escape character of text-escape.ts.
  return s.replace(/\u0001([0-9a-f]{4})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/**
 * Decodes what runner.ts returns: `<count>;` then per job `O<len>:<output><n>;<len>:<warning>...` or
 * `E<len>:<code><len>:<message>`. Returns null on any malformation (the caller reports a sandbox failure).
 */
export function decodeRunResult(encoded: string, expectedJobs: number): JobResult[] | null {
  let p = 0;
  const readInt = (terminator: string): number | null => {
    const end = encoded.indexOf(terminator, p);
    if (end <= p || end - p > 12) return null;
    const text = encoded.slice(p, end);
    if (!/^\d+$/.test(text)) return null;
    p = end + 1;
    return Number(text);
  };
  const readField = (): string | null => {
    const len = readInt(':');
    if (len === null || p + len > encoded.length) return null;
    const s = encoded.slice(p, p + len);
    p += len;
    return unescapeSandboxText(s);
  };
  const count = readInt(';');
  if (count !== expectedJobs) return null;
  const results: JobResult[] = [];
  for (let i = 0; i < count; i++) {
    const kind = encoded[p++];
    if (kind === 'O') {
      const output = readField();
      const n = readInt(';');
      if (output === null || n === null) return null;
      const warnings: string[] = [];
      for (let k = 0; k < n; k++) {
        const w = readField();
        if (w === null) return null;
        warnings.push(w);
      }
      results.push({ ok: true, output, warnings });
    } else if (kind === 'E') {
      const code = readField();
      const message = readField();
      if (code === null || message === null) return null;
      if (!isTemplateErrorCode(code) || !SANDBOX_ERROR_CODES.includes(code)) return null;
      results.push({ ok: false, code, message });
    } else {
      return null;
    }
  }
  return p === encoded.length ? results : null;
}
