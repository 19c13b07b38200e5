// A real apparatus (built with our SDK) that records every call, for tests that check which
// lifecycle events were delivered, in which order, with which bodies and Idempotency-Keys.
import { createApparatus, type RunningApparatus } from '../../src/apparatus/sdk/index.ts';

export interface RecordedCall {
  endpoint: string;
  key: string | undefined;
  /** metadata.name of the plug in the body (or of the own object for created/deleted). */
  plug: string | undefined;
  socket: string | undefined;
  body: Record<string, unknown>;
  at: number;
  /** False when the recorder answered an error (the call was not delivered). */
  ok: boolean;
}

export interface RecorderOptions {
  /** Delay before answering (to widen windows in restart tests); a function gets the endpoint. */
  delayMs?: number | ((endpoint: string) => number);
  /** Answer this status instead of 2xx while it returns a number. */
  failWith?: (endpoint: string) => number | undefined;
  /** Path the service is mounted at (the owner's apparatus.endpoint path). */
  basePath?: string;
  config?: (body: Record<string, unknown>) => Record<string, unknown>;
}

export interface ApparatusRecorder {
  url: string;
  calls: RecordedCall[];
  close(): Promise<void>;
}

function nameOf(o: unknown): string | undefined {
  return (o as { metadata?: { name?: string } } | undefined)?.metadata?.name;
}

export async function startRecorder(opts: RecorderOptions = {}): Promise<ApparatusRecorder> {
  const calls: RecordedCall[] = [];
  const handle = (endpoint: string) => async (body: unknown, ctx: { idempotencyKey: string | undefined }) => {
    const b = body as Record<string, unknown>;
    const call: RecordedCall = {
      endpoint,
      key: ctx.idempotencyKey,
      plug: nameOf(b.plug),
      socket: nameOf(b.socket),
      body: b,
      at: Date.now(),
      ok: true,
    };
    calls.push(call);
    const delay = typeof opts.delayMs === 'function' ? opts.delayMs(endpoint) : opts.delayMs;
    if (delay) await new Promise((r) => setTimeout(r, delay));
    const status = opts.failWith?.(endpoint);
    if (status !== undefined) {
      call.ok = false;
      const { ApparatusHttpError } = await import('../../src/apparatus/sdk/index.ts');
      throw new ApparatusHttpError(status, `test apparatus answers ${status}`);
    }
    if (endpoint === 'config') return opts.config?.(b) ?? {};
    return undefined;
  };
  const app = createApparatus(
    {
      config: handle('config') as never,
      created: handle('created') as never,
      coupled: handle('coupled') as never,
      updated: handle('updated') as never,
      decoupled: handle('decoupled') as never,
      deleted: handle('deleted') as never,
    },
    { idempotency: false, onError: () => {}, ...(opts.basePath ? { basePath: opts.basePath } : {}) },
  );
  const running: RunningApparatus = await app.listen(0, '127.0.0.1');
  return { url: `http://127.0.0.1:${running.port}`, calls, close: () => running.close() };
}
