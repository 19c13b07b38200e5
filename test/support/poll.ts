// Polling with a deadline: the only way tests wait. Never a bare sleep.

export interface EventuallyOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Says what was awaited, for the failure message. */
  what?: string;
}

/**
 * Calls `check` until it returns a value other than undefined/false (and does not throw), then
 * returns that value. On timeout, fails with `what` and the last error or value seen.
 */
export async function eventually<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  opts: EventuallyOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const intervalMs = opts.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${opts.what ?? 'a condition'}; last: ${detail}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A process a test waits on: whether it still runs, and what it wrote. */
export interface WatchedProcess {
  running(): boolean;
  output(): string;
}

/**
 * `eventually` for a condition a running process must bring about (a server answering, a line
 * logged): fails at once if the process exits, and both that failure and a timeout carry what the
 * process wrote.
 */
export async function eventuallyWhileRunning<T>(
  process: WatchedProcess & { name: string },
  check: () => T | undefined | false | Promise<T | undefined | false>,
  opts: EventuallyOptions = {},
): Promise<T> {
  const exited = Symbol('exited');
  const r = await eventually<T | typeof exited>(() => (process.running() ? check() : exited), opts).catch(
    (err: Error) => {
      throw new Error(`${err.message}\n--- ${process.name} output\n${process.output()}`);
    },
  );
  if (r === exited) {
    throw new Error(
      `${process.name} exited while waiting for ${opts.what ?? 'a condition'}\n--- ${process.name} output\n${process.output()}`,
    );
  }
  return r;
}
