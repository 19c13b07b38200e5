// TemplateRenderer: the pool of sandbox workers and the public render API.
//
// Lifecycle: the constructor starts nothing; workers are spawned on the first render and replaced when they
// time out (terminate() at deadline + grace), crash, ask to retire (host-level fault) or reach `recycleAfter`
// renders (WebAssembly memory never shrinks). Renders queue FIFO while every worker is busy; a render's
// deadline counts from when a worker starts it. close() rejects what is queued or running and terminates every
// worker.
//
// Costly failures are remembered: a render that hit a limit (time, memory, stack, output size) is answered with
// the same failure, without a worker, when the same templates are rendered over the same data within
// FAILURE_MEMO_MS. A render over the same inputs ends the same way (seeded randomness, no I/O; only a template
// reading the clock could differ), and a failing owner is retried with backoff anyway: without the memo, a few dozen tenants' infinite loops retried every few seconds kept
// the pool busy for everyone (each costs the whole time limit and a worker restart).

import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { dataNeeds, pruneData } from './data-needs.ts';
import { analyzeTemplate, dialectProblem, type TemplateAnalysis } from './dialect.ts';
import { TemplateError, type TemplateErrorCode } from './errors.ts';
import { renderFieldsOnHost } from './host-fields.ts';
import { resolveTemplateLimits, type TemplateLimits } from './limits.ts';
import { loadSandboxBundle, type SandboxBundle } from './sandbox-sources.ts';
import {
  isWorkerMessage,
  type JobResult,
  type RenderRequest,
  type WireJob,
  type WorkerInit,
  type YamlRequest,
} from './wire.ts';
import { DEFAULT_MAX_ALIAS_COUNT, DEFAULT_MAX_DOCUMENTS, type YamlDocumentLimits } from './yaml-documents.ts';

export type { TemplateLimits } from './limits.ts';

/** Time a worker gets past the render deadline before it is terminated (QuickJS polls its interrupt handler only every ~10,000 operations). */
export const TERMINATE_GRACE_MS = 250;

/** How long a render that hit a limit is answered from memory (see above), and how many are kept. */
export const FAILURE_MEMO_MS = 60_000;
const FAILURE_MEMO_SIZE = 1_000;
const COSTLY_FAILURES: ReadonlySet<TemplateErrorCode> = new Set<TemplateErrorCode>([
  'TemplateTimeout',
  'TemplateMemory',
  'TemplateStackOverflow',
  'TemplateOutputTooLarge',
]);

type MemoOutcome =
  | { error: { code: TemplateErrorCode; message: string } }
  | { results: readonly JobResult[] };

export interface TemplateRendererOptions {
  /** Number of worker threads (default 2). */
  workers?: number;
  limits?: Partial<TemplateLimits>;
  /** Replace a worker after this many renders (default 1000). */
  recycleAfter?: number;
  /**
   * Native stack of each worker thread in MiB (default 16). QuickJS's C code runs on it; with the default
   * `stackBytes` (128 KiB) QuickJS stops first. A smaller value makes host-level stack overflows possible: the
   * worker is then retired (tests use that).
   */
  workerStackSizeMb?: number;
  /**
   * Answer Go-dialect templates that only print string fields (`{% .plug.metadata.name %}`) on the host,
   * without a round trip (host-fields.ts; default true). Tests of the sandbox itself turn it off.
   */
  hostFields?: boolean;
}

export interface RenderOptions {
  /** Seed for the Go dialect's random functions (so a render is reproducible); default ''. */
  seed?: string;
  /** The caller's name for the template, echoed in TemplateError.templateName. */
  name?: string;
  signal?: AbortSignal;
}

export interface RenderResult {
  output: string;
  /** Missing keys (`missing key .plugConfig.foo`) and the like: the render succeeded. */
  warnings: string[];
}

export type BatchItem = ({ ok: true } & RenderResult) | { ok: false; error: TemplateError };

export interface RendererStats {
  /** Workers alive (starting, idle or busy). */
  workers: number;
  busy: number;
  queued: number;
  /** Workers spawned since the renderer was created (replacements included). */
  spawned: number;
  /** Renders sent to a worker (one per render() or renderBatch() call that needed the sandbox). */
  roundTrips: number;
  /** Renders answered with a remembered costly failure (no worker used). */
  memoHits: number;
  /** Templates answered on the host because they only print string fields (host-fields.ts). */
  hostRenders: number;
}

interface PendingRender {
  readonly jobs: WireJob[];
  readonly dataJson: string;
  readonly seed: string;
  readonly name: string | undefined;
  readonly signal: AbortSignal | undefined;
  readonly yaml: YamlRequest | undefined;
  readonly resolve: (results: readonly JobResult[]) => void;
  readonly reject: (error: TemplateError) => void;
  onAbort?: () => void;
}

type SlotState = 'starting' | 'idle' | 'busy' | 'stopping';

interface WorkerSlot {
  readonly worker: Worker;
  state: SlotState;
  renders: number;
  current:
    | { readonly id: number; readonly render: PendingRender; readonly timer: NodeJS.Timeout }
    | undefined;
  readonly exited: Promise<void>;
}

const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);

function validateCount(name: string, value: number | undefined, fallback: number, max: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1 || v > max)
    throw new RangeError(`${name} must be an integer from 1 to ${max}, got ${v}`);
  return v;
}

export class TemplateRenderer {
  readonly limits: TemplateLimits;
  readonly #workers: number;
  readonly #recycleAfter: number;
  readonly #workerStackSizeMb: number;
  readonly #slots = new Set<WorkerSlot>();
  readonly #queue: PendingRender[] = [];
  #bundle: SandboxBundle | undefined;
  #closed = false;
  #nextId = 1;
  #spawned = 0;
  #roundTrips = 0;
  #initFailures = 0;
  readonly #failures = new Map<string, { until: number; outcome: MemoOutcome }>();
  #memoHits = 0;
  readonly #hostFields: boolean;
  #hostRenders = 0;

  constructor(opts: TemplateRendererOptions = {}) {
    this.limits = resolveTemplateLimits(opts.limits);
    this.#workers = validateCount('workers', opts.workers, 2, 64);
    this.#recycleAfter = validateCount('recycleAfter', opts.recycleAfter, 1000, 10_000_000);
    this.#workerStackSizeMb = validateCount('workerStackSizeMb', opts.workerStackSizeMb, 16, 256);
    this.#hostFields = opts.hostFields ?? true;
  }

  /** Renders one template (eta, Go dialect, or plain text returned as is without a sandbox round trip). */
  async render(template: string, data: unknown, opts: RenderOptions = {}): Promise<RenderResult> {
    const [item] = await this.renderBatch([template], data, opts);
    if (!item) throw new TemplateError('TemplateSandboxFailure', 'no result', { templateName: opts.name });
    if (!item.ok) throw item.error;
    return { output: item.output, warnings: item.warnings };
  }

  /**
   * Renders several templates over the same data in ONE sandbox round trip (one context: they should belong to
   * one owner). Per-template failures come back as items; failures of the whole render (timeout, memory, abort,
   * close, sandbox failure) reject. The output cap applies to all outputs together.
   */
  async renderBatch(
    templates: readonly string[],
    data: unknown,
    opts: RenderOptions = {},
  ): Promise<BatchItem[]> {
    const name = opts.name;
    this.#assertUsable(opts);
    const items: (BatchItem | undefined)[] = new Array(templates.length).fill(undefined);
    const jobs: WireJob[] = [];
    const jobIndex: number[] = [];
    const analyses: TemplateAnalysis[] = [];
    templates.forEach((src, i) => {
      const checked = this.#precheck(src, name);
      if ('error' in checked) items[i] = { ok: false, error: checked.error };
      else if (checked.dialect === 'none') items[i] = { ok: true, output: src, warnings: [] };
      else {
        jobs.push({ dialect: checked.dialect, src });
        jobIndex.push(i);
        analyses.push(checked.analysis);
      }
    });
    if (jobs.length > 0) {
      // Only what the templates can read is sent to the sandbox (data-needs.ts).
      const dataJson = this.#serialize(pruneData(data, dataNeeds(analyses)), name);
      const fill = (results: readonly JobResult[], indexes: readonly number[]) =>
        results.forEach((r, k) => {
          const i = indexes[k] as number;
          items[i] = r.ok
            ? { ok: true, output: r.output, warnings: [...r.warnings] }
            : { ok: false, error: new TemplateError(r.code, r.message, { templateName: name }) };
        });
      const onHost = this.#renderOnHost(jobs, analyses, data);
      if (!onHost) fill(await this.#enqueue(jobs, dataJson, opts, undefined), jobIndex);
      else {
        const rest: number[] = [];
        onHost.forEach((output, k) => {
          if (output === undefined) rest.push(k);
          else items[jobIndex[k] as number] = { ok: true, output, warnings: [] };
        });
        if (rest.length > 0) {
          const results = await this.#enqueue(
            rest.map((k) => jobs[k] as WireJob),
            dataJson,
            opts,
            undefined,
          );
          fill(
            results,
            rest.map((k) => jobIndex[k] as number),
          );
        }
        // The sandbox counts its output cap over the whole batch in order; near that cap, only the whole
        // batch in the sandbox gives its exact answer (which string fails, or whether the batch does).
        if (this.#nearOutputCap(items)) fill(await this.#enqueue(jobs, dataJson, opts, undefined), jobIndex);
        else this.#hostRenders += onHost.length - rest.length;
      }
    }
    // The sandbox capped what it rendered; text without tags counts toward the same cap.
    let bytes = 0;
    for (const item of items) if (item?.ok) bytes += Buffer.byteLength(item.output, 'utf8');
    if (bytes > this.limits.maxOutputBytes) {
      throw new TemplateError(
        'TemplateOutputTooLarge',
        `the rendered text is larger than ${this.limits.maxOutputBytes} bytes`,
        { templateName: name },
      );
    }
    return items.map(
      (item) => item ?? { ok: false, error: new TemplateError('TemplateSandboxFailure', 'no result') },
    );
  }

  /**
   * Renders a text template and parses the result as YAML documents, each a mapping (empty documents are
   * skipped; an empty result gives none). The parse runs in the worker within the render's deadline, also for
   * text without tags (hostile YAML costs seconds of CPU per MiB: never on the operator's main thread).
   */
  async renderDocuments(
    template: string,
    data: unknown,
    opts: RenderOptions & YamlDocumentLimits = {},
  ): Promise<{ documents: Record<string, unknown>[]; warnings: string[] }> {
    const name = opts.name;
    this.#assertUsable(opts);
    const checked = this.#precheck(template, name);
    if ('error' in checked) throw checked.error;
    if (checked.dialect === 'none' && template.trim() === '') return { documents: [], warnings: [] };
    const dataJson =
      checked.dialect === 'none'
        ? 'null'
        : this.#serialize(pruneData(data, dataNeeds([checked.analysis])), name);
    const yaml: YamlRequest = {
      maxDocuments: opts.maxDocuments ?? DEFAULT_MAX_DOCUMENTS,
      maxAliasCount: opts.maxAliasCount ?? DEFAULT_MAX_ALIAS_COUNT,
    };
    const [result] = await this.#enqueue([{ dialect: checked.dialect, src: template }], dataJson, opts, yaml);
    if (!result) throw new TemplateError('TemplateSandboxFailure', 'no result', { templateName: name });
    if (!result.ok) throw new TemplateError(result.code, result.message, { templateName: name });
    return { documents: result.documents ? [...result.documents] : [], warnings: [...result.warnings] };
  }

  /**
   * The outputs of the batch's templates that only print string fields (host-fields.ts; undefined for the
   * others), or undefined when none is answered on the host. Not when the batch has an eta template: eta
   * may change the data in place, and later templates of the batch see the change in the sandbox.
   */
  #renderOnHost(
    jobs: readonly WireJob[],
    analyses: readonly TemplateAnalysis[],
    data: unknown,
  ): (string | undefined)[] | undefined {
    if (!this.#hostFields || jobs.some((j) => j.dialect === 'eta')) return undefined;
    let answered = 0;
    const outputs = jobs.map((job, k) => {
      const output = renderFieldsOnHost(job.src, analyses[k] as TemplateAnalysis, data, this.limits);
      if (output !== undefined) answered++;
      return output;
    });
    return answered > 0 ? outputs : undefined;
  }

  /** The batch's outputs reach the output cap, or a string of it failed on that cap. */
  #nearOutputCap(items: readonly (BatchItem | undefined)[]): boolean {
    let bytes = 0;
    for (const item of items) {
      if (item?.ok) bytes += Buffer.byteLength(item.output, 'utf8');
      else if (item?.error.code === 'TemplateOutputTooLarge') return true;
    }
    return bytes > this.limits.maxOutputBytes;
  }

  stats(): RendererStats {
    let busy = 0;
    for (const s of this.#slots) if (s.state === 'busy') busy++;
    return {
      workers: this.#slots.size,
      busy,
      queued: this.#queue.length,
      spawned: this.#spawned,
      roundTrips: this.#roundTrips,
      memoHits: this.#memoHits,
      hostRenders: this.#hostRenders,
    };
  }

  /** Rejects queued and running renders with TemplateRendererClosed and terminates every worker. */
  async close(): Promise<void> {
    this.#closed = true;
    const closed = (r: PendingRender) =>
      this.#settle(
        r,
        new TemplateError('TemplateRendererClosed', 'the template renderer was closed', {
          templateName: r.name,
        }),
      );
    for (const r of this.#queue.splice(0)) closed(r);
    const exits: Promise<void>[] = [];
    for (const slot of [...this.#slots]) {
      const current = slot.current;
      slot.current = undefined;
      if (current) {
        clearTimeout(current.timer);
        closed(current.render);
      }
      exits.push(this.#stop(slot));
    }
    await Promise.all(exits);
  }

  #assertUsable(opts: RenderOptions): void {
    if (this.#closed) {
      throw new TemplateError('TemplateRendererClosed', 'the template renderer is closed', {
        templateName: opts.name,
      });
    }
    if (opts.signal?.aborted) {
      throw new TemplateError('TemplateAborted', 'the render was aborted', { templateName: opts.name });
    }
  }

  #precheck(
    src: string,
    name: string | undefined,
  ): { dialect: 'eta' | 'go' | 'none'; analysis: TemplateAnalysis } | { error: TemplateError } {
    const fail = (code: TemplateErrorCode, message: string) => ({
      error: new TemplateError(code, message, { templateName: name }),
    });
    if (typeof src !== 'string') return fail('TemplateInputInvalid', 'the template is not a string');
    if (src.length > this.limits.maxTemplateLength) {
      return fail(
        'TemplateInputInvalid',
        `the template is longer than ${this.limits.maxTemplateLength} characters`,
      );
    }
    let analysis: TemplateAnalysis;
    try {
      analysis = analyzeTemplate(src);
    } catch (e) {
      return fail(
        'TemplateInputInvalid',
        `the template could not be scanned: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    const problem = dialectProblem(src, analysis);
    if (problem) return fail(problem.code, problem.message);
    return { dialect: analysis.dialect, analysis };
  }

  #serialize(data: unknown, name: string | undefined): string {
    let json: string | undefined;
    try {
      json = JSON.stringify(data);
    } catch (e) {
      throw new TemplateError(
        'TemplateInputInvalid',
        `the data is not JSON-serialisable: ${e instanceof Error ? e.message : String(e)}`,
        {
          templateName: name,
          cause: e,
        },
      );
    }
    json ??= 'null';
    if (json.length > this.limits.maxDataBytes) {
      throw new TemplateError(
        'TemplateInputInvalid',
        `the data is larger than ${this.limits.maxDataBytes} bytes`,
        { templateName: name },
      );
    }
    return json;
  }

  async #enqueue(
    jobs: WireJob[],
    dataJson: string,
    opts: RenderOptions,
    yaml: YamlRequest | undefined,
  ): Promise<readonly JobResult[]> {
    // Hashed only when a failure is remembered or is to be: not on the path of ordinary renders.
    let key: string | undefined;
    const keyOf = () =>
      (key ??= createHash('sha256')
        .update(JSON.stringify([jobs, opts.seed ?? '', yaml ?? null]))
        .update('\0')
        .update(dataJson)
        .digest('base64'));
    const memo = this.#failures.size > 0 ? this.#failures.get(keyOf()) : undefined;
    if (memo && memo.until > Date.now()) {
      this.#memoHits++;
      if ('results' in memo.outcome) return memo.outcome.results;
      const { code, message } = memo.outcome.error;
      throw new TemplateError(code, message, { templateName: opts.name });
    }
    if (memo) this.#failures.delete(keyOf());
    const remember = (outcome: MemoOutcome) => {
      if (this.#failures.size >= FAILURE_MEMO_SIZE) {
        const oldest = this.#failures.keys().next().value;
        if (oldest !== undefined) this.#failures.delete(oldest);
      }
      this.#failures.set(keyOf(), { until: Date.now() + FAILURE_MEMO_MS, outcome });
    };
    try {
      const results = await this.#submit(jobs, dataJson, opts, yaml);
      if (results.some((r) => !r.ok && COSTLY_FAILURES.has(r.code))) remember({ results });
      return results;
    } catch (e) {
      if (e instanceof TemplateError && COSTLY_FAILURES.has(e.code))
        remember({ error: { code: e.code, message: e.message } });
      throw e;
    }
  }

  #submit(
    jobs: WireJob[],
    dataJson: string,
    opts: RenderOptions,
    yaml: YamlRequest | undefined,
  ): Promise<readonly JobResult[]> {
    return new Promise((resolve, reject) => {
      const render: PendingRender = {
        jobs,
        dataJson,
        seed: opts.seed ?? '',
        name: opts.name,
        signal: opts.signal,
        yaml,
        resolve,
        reject,
      };
      if (opts.signal) {
        const onAbort = () => this.#abort(render);
        render.onAbort = onAbort;
        opts.signal.addEventListener('abort', onAbort, { once: true });
      }
      this.#queue.push(render);
      this.#pump();
    });
  }

  #settle(render: PendingRender, outcome: TemplateError | readonly JobResult[]): void {
    if (render.onAbort) render.signal?.removeEventListener('abort', render.onAbort);
    if (outcome instanceof TemplateError) render.reject(outcome);
    else render.resolve(outcome);
  }

  #abort(render: PendingRender): void {
    const error = new TemplateError('TemplateAborted', 'the render was aborted', {
      templateName: render.name,
    });
    const queued = this.#queue.indexOf(render);
    if (queued >= 0) {
      this.#queue.splice(queued, 1);
      this.#settle(render, error);
      return;
    }
    for (const slot of this.#slots) {
      if (slot.current?.render === render) {
        // The worker is busy in WebAssembly; stopping it is the only way to interrupt the render now.
        clearTimeout(slot.current.timer);
        slot.current = undefined;
        this.#settle(render, error);
        void this.#stop(slot);
        this.#pump();
        return;
      }
    }
  }

  /** Dispatches queued renders to idle workers and spawns workers up to the pool size. */
  #pump(): void {
    if (this.#closed) return;
    for (const slot of this.#slots) {
      if (this.#queue.length === 0) break;
      if (slot.state === 'idle') this.#dispatch(slot, this.#queue.shift() as PendingRender);
    }
    let live = 0;
    let starting = 0;
    for (const slot of this.#slots) {
      if (slot.state !== 'stopping') live++;
      if (slot.state === 'starting') starting++;
    }
    while (this.#queue.length > starting && live < this.#workers) {
      this.#spawn();
      live++;
      starting++;
    }
  }

  #spawn(): void {
    if (!this.#bundle) {
      loadSandboxBundle().then(
        (bundle) => {
          this.#bundle = bundle;
          this.#pump();
        },
        (e: unknown) =>
          this.#failQueue(`the sandbox could not be prepared: ${e instanceof Error ? e.message : String(e)}`),
      );
      return;
    }
    const init: WorkerInit = {
      wasmModule: this.#bundle.wasmModule,
      modules: this.#bundle.modules,
      memoryBytes: this.limits.memoryBytes,
      stackBytes: this.limits.stackBytes,
    };
    let worker: Worker;
    try {
      worker = new Worker(WORKER_URL, {
        workerData: init,
        // The sandbox needs no environment: the worker gets an empty one, not a copy of the operator's.
        env: {},
        argv: [],
        execArgv: [],
        stdout: false,
        stderr: false,
        resourceLimits: {
          stackSizeMb: this.#workerStackSizeMb,
          maxOldGenerationSizeMb: 128,
          maxYoungGenerationSizeMb: 32,
        },
      });
    } catch (e) {
      this.#failQueue(
        `the sandbox worker could not be created: ${e instanceof Error ? e.message : String(e)}`,
      );
      return;
    }
    this.#spawned++;
    let markExited: () => void = () => {};
    const exited = new Promise<void>((resolve) => {
      markExited = resolve;
    });
    const slot: WorkerSlot = { worker, state: 'starting', renders: 0, current: undefined, exited };
    this.#slots.add(slot);
    worker.on('message', (msg: unknown) => this.#onMessage(slot, msg));
    worker.on('error', (err: Error) => this.#onCrash(slot, err));
    worker.on('exit', () => {
      this.#slots.delete(slot);
      markExited();
      if (slot.state !== 'stopping') this.#onCrash(slot, new Error('the sandbox worker exited'));
      this.#pump();
    });
  }

  #onMessage(slot: WorkerSlot, msg: unknown): void {
    if (!isWorkerMessage(msg)) {
      this.#onCrash(slot, new Error('the sandbox worker sent a malformed message'));
      return;
    }
    switch (msg.type) {
      case 'ready':
        this.#initFailures = 0;
        if (slot.state === 'starting') slot.state = 'idle';
        slot.worker.unref();
        this.#pump();
        return;
      case 'init-failed':
        void this.#stop(slot);
        this.#startFailed(msg.message);
        return;
      default: {
        const current = slot.current;
        if (!current || current.id !== msg.id) return;
        clearTimeout(current.timer);
        slot.current = undefined;
        slot.renders++;
        if (msg.type === 'result') this.#settle(current.render, msg.results);
        else
          this.#settle(
            current.render,
            new TemplateError(msg.code, msg.message, { templateName: current.render.name }),
          );
        if (msg.retire || slot.renders >= this.#recycleAfter) {
          void this.#stop(slot);
        } else {
          slot.state = 'idle';
          slot.worker.unref();
        }
        this.#pump();
      }
    }
  }

  /** A worker died before it was ready. Three in a row fail the queue instead of respawning in a loop. */
  #startFailed(reason: string): void {
    this.#initFailures++;
    if (this.#initFailures >= 3) {
      this.#initFailures = 0;
      this.#failQueue(`the sandbox worker could not start: ${reason}`);
    }
    this.#pump();
  }

  #onCrash(slot: WorkerSlot, err: Error): void {
    if (slot.state === 'starting') {
      void this.#stop(slot);
      this.#startFailed(err.message);
      return;
    }
    const current = slot.current;
    slot.current = undefined;
    if (current) {
      clearTimeout(current.timer);
      const outOfMemory = (err as { code?: unknown }).code === 'ERR_WORKER_OUT_OF_MEMORY';
      this.#settle(
        current.render,
        new TemplateError(
          outOfMemory ? 'TemplateMemory' : 'TemplateSandboxFailure',
          outOfMemory
            ? 'the sandbox worker ran out of memory; it was replaced'
            : `${err.message}; it was replaced`,
          { templateName: current.render.name, cause: err },
        ),
      );
    }
    if (slot.state !== 'stopping') void this.#stop(slot);
    this.#pump();
  }

  #dispatch(slot: WorkerSlot, render: PendingRender): void {
    const id = this.#nextId++;
    const timeoutMs = this.limits.timeoutMs;
    const request: RenderRequest = {
      type: 'render',
      id,
      jobs: render.jobs,
      dataJson: render.dataJson,
      seed: render.seed,
      timeoutMs,
      maxOutputBytes: this.limits.maxOutputBytes,
      maxErrorMessageLength: this.limits.maxErrorMessageLength,
      yaml: render.yaml,
    };
    const timer = setTimeout(() => {
      if (slot.current?.id !== id) return;
      slot.current = undefined;
      this.#settle(
        render,
        new TemplateError('TemplateTimeout', `the render took longer than ${timeoutMs} ms`, {
          templateName: render.name,
        }),
      );
      void this.#stop(slot);
      this.#pump();
    }, timeoutMs + TERMINATE_GRACE_MS);
    timer.unref();
    slot.current = { id, render, timer };
    slot.state = 'busy';
    this.#roundTrips++;
    slot.worker.ref();
    slot.worker.postMessage(request);
  }

  #stop(slot: WorkerSlot): Promise<void> {
    if (slot.state !== 'stopping') {
      slot.state = 'stopping';
      void slot.worker.terminate();
    }
    return slot.exited;
  }

  #failQueue(message: string): void {
    for (const r of this.#queue.splice(0)) {
      this.#settle(r, new TemplateError('TemplateSandboxFailure', message, { templateName: r.name }));
    }
  }
}
