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
