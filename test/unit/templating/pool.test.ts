// The worker pool: replacement after a timeout, queueing, concurrency, abort, recycling, close.
import { describe, expect, it } from 'vitest';
import { TemplateRenderer } from '../../../src/templating/index.ts';
import { eventually } from '../../support/poll.ts';

/** A template that keeps the sandbox busy for `ms` milliseconds, then renders `tag`. */
const busy = (ms: number, tag: string) =>
  `{% const t = Date.now(); while (Date.now() - t < ${ms}) {} %}${tag}`;

describe('TemplateRenderer pool', () => {
  it('starts nothing in its constructor', async () => {
    const r = new TemplateRenderer({ workers: 2 });
    expect(r.stats()).toEqual({
      workers: 0,
      busy: 0,
      queued: 0,
      spawned: 0,
      roundTrips: 0,
      memoHits: 0,
      hostRenders: 0,
    });
    await r.close();
  });

  it('replaces a timed-out worker, and the renders queued behind it still complete', async () => {
    const r = new TemplateRenderer({ workers: 1, limits: { timeoutMs: 300 } });
    try {
      const hung = r.render('{% for (;;) "x".repeat(3e6) %}', {});
      const queued = [r.render('a{%= it.n %}', { n: 1 }), r.render('b{% .n %}', { n: 2 }), r.render('c', {})];
      await expect(hung).rejects.toMatchObject({ code: 'TemplateTimeout' });
      expect((await Promise.all(queued)).map((x) => x.output)).toEqual(['a1', 'b2', 'c']);
      expect(r.stats().spawned).toBe(2);
    } finally {
      await r.close();
    }
  });

  it('answers a render that hit a limit from memory when the same templates and data come again', async () => {
    const r = new TemplateRenderer({ workers: 1, limits: { timeoutMs: 200 } });
    try {
      // The loop names the data (only data a template names is sent: data-needs.ts).
      const loop = '{% for (;;) { it.n; } %}';
      await expect(r.render(loop, { n: 1 }, { name: 'first' })).rejects.toMatchObject({
        code: 'TemplateTimeout',
      });
      const trips = r.stats().roundTrips;
      // Same inputs: the same failure, named for this caller, without a worker.
      await expect(r.render(loop, { n: 1 }, { name: 'again' })).rejects.toMatchObject({
        code: 'TemplateTimeout',
        templateName: 'again',
        message: 'the render took longer than 200 ms',
      });
      expect(r.stats()).toMatchObject({ roundTrips: trips, memoHits: 1 });
      // Other data, another seed or another template: rendered for real.
      await expect(r.render(loop, { n: 2 })).rejects.toMatchObject({ code: 'TemplateTimeout' });
      await expect(r.render(loop, { n: 1 }, { seed: 's' })).rejects.toMatchObject({
        code: 'TemplateTimeout',
      });
      expect(r.stats()).toMatchObject({ roundTrips: trips + 2, memoHits: 1 });
      // Ordinary failures and successes are not remembered.
      await expect(r.render('{% throw new Error("no") %}', {})).rejects.toMatchObject({
        code: 'TemplateRuntime',
      });
      await expect(r.render('{% throw new Error("no") %}', {})).rejects.toMatchObject({
        code: 'TemplateRuntime',
      });
      expect((await r.render('{%= it.n %}', { n: 3 })).output).toBe('3');
      expect((await r.render('{%= it.n %}', { n: 3 })).output).toBe('3');
      expect(r.stats()).toMatchObject({ roundTrips: trips + 6, memoHits: 1 });
    } finally {
      await r.close();
    }
  });

  it("counts a render's deadline from when it starts executing, not from when it was queued", async () => {
    const r = new TemplateRenderer({ workers: 1, limits: { timeoutMs: 1500 } });
    try {
      await r.render('{%= 1 %}', {}); // worker started
      // Three renders of ~600 ms each: the last waits ~1200 ms in the queue, yet all fit their own deadline.
      const results = await Promise.all([1, 2, 3].map((i) => r.render(busy(600, `{%= ${i} %}`), {})));
      expect(results.map((x) => x.output)).toEqual(['1', '2', '3']);
      expect(r.stats().spawned).toBe(1);
    } finally {
      await r.close();
    }
  });

  it('renders concurrently on every worker and routes each result to its caller', async () => {
    const r = new TemplateRenderer({ workers: 2 });
    try {
      const n = 40;
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) => r.render(i % 2 ? 'go {% .i %}' : 'eta {%= it.i %}', { i })),
      );
      expect(results.map((x) => x.output)).toEqual(
        Array.from({ length: n }, (_, i) => `${i % 2 ? 'go' : 'eta'} ${i}`),
      );
      expect(r.stats().spawned).toBe(2);
      // Both workers run at once.
      const slow = [r.render(busy(500, 'x'), {}), r.render(busy(500, 'y'), {})];
      await eventually(() => r.stats().busy === 2, {
        what: 'both workers busy',
        timeoutMs: 5000,
        intervalMs: 10,
      });
      expect((await Promise.all(slow)).map((x) => x.output)).toEqual(['x', 'y']);
    } finally {
      await r.close();
    }
  });

  it('aborts a queued render, and a running one by replacing its worker', async () => {
    const r = new TemplateRenderer({ workers: 1, limits: { timeoutMs: 5000 } });
    try {
      await r.render('{%= 1 %}', {});
      const running = new AbortController();
      const queued = new AbortController();
      const first = r.render('{% while (true) {} %}', {}, { signal: running.signal });
      const second = r.render('{%= 2 %}', {}, { signal: queued.signal });
      const third = r.render('{%= 3 %}', {});
      await eventually(() => r.stats().busy === 1, {
        what: 'the first render to run',
        timeoutMs: 5000,
        intervalMs: 10,
      });
      queued.abort();
      await expect(second).rejects.toMatchObject({ code: 'TemplateAborted' });
      running.abort();
      await expect(first).rejects.toMatchObject({ code: 'TemplateAborted' });
      expect((await third).output).toBe('3');
      expect(r.stats().spawned).toBe(2);
      const already = new AbortController();
      already.abort();
      await expect(r.render('{%= 4 %}', {}, { signal: already.signal })).rejects.toMatchObject({
        code: 'TemplateAborted',
      });
    } finally {
      await r.close();
    }
  });

  it('retires a worker after a host-level stack overflow out of the WebAssembly', async () => {
    // A 2 MiB native stack is too small for QuickJS's parser at a 256 KiB QuickJS limit: V8 throws a RangeError
    // out of the WASM. That instance is no longer trusted: the render fails cleanly and the worker is replaced.
    const r = new TemplateRenderer({ workers: 1, workerStackSizeMb: 2, limits: { stackBytes: 256 * 1024 } });
    try {
      await expect(
        r.render(`{%= ${'('.repeat(100_000)}1${')'.repeat(100_000)} %}`, {}),
      ).rejects.toMatchObject({
        code: 'TemplateStackOverflow',
        message: expect.stringContaining('RangeError'),
      });
      expect((await r.render('{%= "next" %}', {})).output).toBe('next');
      expect(r.stats().spawned).toBe(2);
    } finally {
      await r.close();
    }
  });

  it('recycles a worker after `recycleAfter` renders', async () => {
    const r = new TemplateRenderer({ workers: 1, recycleAfter: 3 });
    try {
      for (let i = 0; i < 7; i++) expect((await r.render('{%= it.i %}', { i })).output).toBe(String(i));
      expect(r.stats().spawned).toBe(3);
    } finally {
      await r.close();
    }
  });

  it('close() rejects running and queued renders and leaves no worker', async () => {
    const r = new TemplateRenderer({ workers: 2 });
    await Promise.all([r.render('{%= 1 %}', {}), r.render('{%= 2 %}', {})]);
    expect(r.stats().workers).toBe(2);
    const pending = [0, 1, 2, 3].map(() => r.render('{% while (true) {} %}', {}).catch((e: unknown) => e));
    await eventually(() => r.stats().busy === 2, {
      what: 'both workers busy',
      timeoutMs: 5000,
      intervalMs: 10,
    });
    await r.close();
    for (const e of await Promise.all(pending)) expect(e).toMatchObject({ code: 'TemplateRendererClosed' });
    expect(r.stats()).toMatchObject({ workers: 0, busy: 0, queued: 0 });
    await expect(r.render('{%= 1 %}', {})).rejects.toMatchObject({ code: 'TemplateRendererClosed' });
    // Text without tags needs no sandbox, but a closed renderer refuses it too.
    await expect(r.render('plain', {})).rejects.toMatchObject({ code: 'TemplateRendererClosed' });
  });

  it('validates its options', () => {
    expect(() => new TemplateRenderer({ workers: 0 })).toThrow(RangeError);
    expect(() => new TemplateRenderer({ recycleAfter: 1.5 })).toThrow(RangeError);
    expect(() => new TemplateRenderer({ limits: { memoryBytes: 1024 } })).toThrow();
    expect(() => new TemplateRenderer({ limits: { stackBytes: 8 * 1024 * 1024 } })).toThrow();
  });
});
