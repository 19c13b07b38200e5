// The bookkeeping of References without a cluster (polling mode: no watch): one GET per object and
// identity however many couplings read it, values never shared across identities, a change
// requeues exactly the couplings that saw another version. Watching is proven against the real
// API server in test/integration/references.test.ts.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { References } from '../../../src/controllers/references.ts';
import type { Identity } from '../../../src/kube/client.ts';
import { ApiError } from '../../../src/kube/errors.ts';
import type { Kube } from '../../../src/kube/objects.ts';
import type { KubeObject, ObjectRef } from '../../../src/kube/types.ts';
import { silentLogger } from '../../../src/observe/log.ts';

const secrets = { group: '', version: 'v1', resource: 'secrets', kind: 'Secret', namespaced: true };
const sa = (name: string): Identity => ({ serviceAccount: { namespace: 'ns', name } });
const ref = (name: string) => ({ apiVersion: 'v1', kind: 'Secret', name, namespace: 'ns' });

/** Secrets by name, readable by the identities in `allowed` (all when unset); counts GETs. */
function world() {
  const objects = new Map<string, { rv: number; data: Record<string, string> }>();
  const gets: string[] = [];
  let allowed: Set<string> | undefined;
  let hold: Promise<void> | undefined;
  const kube = {
    mapping: async () => secrets,
    get: async (r: ObjectRef, opts: { as?: Identity }) => {
      const who = opts.as?.serviceAccount.name ?? 'operator';
      gets.push(`${r.name} as ${who}`);
      if (hold) await hold;
      if (allowed && !allowed.has(who))
        throw new ApiError(`secrets "${r.name}" is forbidden`, {
          status: 403,
          reason: 'Forbidden',
          method: 'GET',
          path: `/api/v1/namespaces/ns/secrets/${r.name}`,
        });
      const o = objects.get(r.name);
      return o
        ? ({
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name: r.name, namespace: 'ns', resourceVersion: String(o.rv) },
            data: { ...o.data },
          } as KubeObject)
        : undefined;
    },
  } as unknown as Kube;
  return {
    kube,
    gets,
    put(name: string, data: Record<string, string>) {
      const prev = objects.get(name);
      objects.set(name, { rv: (prev?.rv ?? 0) + 1, data });
    },
    remove: (name: string) => objects.delete(name),
    allow: (names: string[] | undefined) => {
      allowed = names ? new Set(names) : undefined;
    },
    holdGets() {
      let release!: () => void;
      hold = new Promise((r) => (release = r));
      return () => {
        hold = undefined;
        release();
      };
    },
  };
}

function tracker(w: ReturnType<typeof world>, ttlMs = 10_000) {
  const enqueued: string[] = [];
  const refs = new References({
    kube: w.kube,
    log: silentLogger,
    namespaces: ['ns'],
    watch: false,
    ttlMs,
    enqueue: (k) => enqueued.push(k),
  });
  return { refs, enqueued };
}

/** One resolution of `coupling` that reads `names` as `as`, recorded as the resolver does. */
async function resolve(refs: References, coupling: string, names: string[], as = sa('default')) {
  const reads = refs.session();
  try {
    return await Promise.all(names.map((n) => refs.read(ref(n), as, reads)));
  } finally {
    refs.track(coupling, 'coupling', reads);
  }
}

describe('References (polling mode)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reads one object once for many concurrent couplings of one identity, and apart per identity', async () => {
    const w = world();
    w.put('shared', { password: 'a' });
    const { refs } = tracker(w);
    const release = w.holdGets();
    const reads = Array.from({ length: 100 }, (_, i) => resolve(refs, `ns/p-${i}`, ['shared']));
    const other = resolve(refs, 'ns/q', ['shared'], sa('other'));
    release();
    const values = await Promise.all(reads);
    expect(values.every(([o]) => (o?.data as { password?: string } | undefined)?.password === 'a')).toBe(
      true,
    );
    await other;
    expect(w.gets.sort()).toEqual(['shared as default', 'shared as other']);
    // Still current: served from the cache.
    await resolve(refs, 'ns/p-0', ['shared']);
    expect(w.gets).toHaveLength(2);
    expect(refs.stats()).toMatchObject({ readings: 2, couplings: 101, cachedValues: 2 });
  });

  it('never gives one identity a value read with another identity', async () => {
    const w = world();
    w.put('shared', { password: 'a' });
    w.allow(['reader']);
    const { refs } = tracker(w);
    const [got] = await resolve(refs, 'ns/a', ['shared'], sa('reader'));
    expect(got).toBeDefined();
    await expect(resolve(refs, 'ns/b', ['shared'], sa('stranger'))).rejects.toThrow(/forbidden/);
    expect(w.gets).toEqual(['shared as reader', 'shared as stranger']);
  });

  it('reuses a value for at most the period, then reads it again', async () => {
    const w = world();
    w.put('s', { k: '1' });
    const { refs } = tracker(w, 10_000);
    await resolve(refs, 'ns/p', ['s']);
    vi.advanceTimersByTime(9_000);
    await resolve(refs, 'ns/p', ['s']);
    expect(w.gets).toHaveLength(1);
    vi.advanceTimersByTime(1_000);
    await resolve(refs, 'ns/p', ['s']);
    expect(w.gets).toHaveLength(2);
  });

  it('polls each object once per period, not each coupling, and requeues exactly the couplings that saw another version', async () => {
    const w = world();
    w.put('shared', { k: '1' });
    w.put('own-1', { k: '1' });
    w.put('own-2', { k: '1' });
    const { refs, enqueued } = tracker(w, 10_000);
    const stop = new AbortController();
    const running = refs.start(stop.signal);
    for (let i = 1; i <= 2; i++) await resolve(refs, `ns/p-${i}`, ['shared', `own-${i}`]);
    for (let i = 3; i <= 20; i++) await resolve(refs, `ns/p-${i}`, ['shared']);
    w.gets.length = 0;
    // Three periods, nothing changes: 3 objects polled about 3 times each, nobody requeued.
    await vi.advanceTimersByTimeAsync(36_000);
    expect(w.gets.length).toBeGreaterThanOrEqual(6);
    expect(w.gets.length).toBeLessThanOrEqual(12);
    expect(enqueued).toEqual([]);
    // One plug's own Secret changes: that plug only.
    // (Until it resolves again, each poll requeues it: the work queue holds a key once.)
    w.put('own-2', { k: '2' });
    await vi.advanceTimersByTimeAsync(13_000);
    expect(new Set(enqueued)).toEqual(new Set(['ns/p-2']));
    // The shared one changes: every plug, at the first poll after the change (within a period
    // and a sweep).
    enqueued.length = 0;
    w.put('shared', { k: '2' });
    for (let s = 0; s < 13 && !enqueued.some((k) => k !== 'ns/p-2'); s++)
      await vi.advanceTimersByTimeAsync(1_000);
    expect([...new Set(enqueued)].sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => `ns/p-${i + 1}`).sort(),
    );
    // The plugs re-read it at once, as requeued couplings do (from the value the poll brought: no
    // GET; a value is reused for at most the period, so the read must follow the poll, not come up
    // to 13 s later), and are quiet again.
    enqueued.length = 0;
    const before = w.gets.length;
    for (let i = 3; i <= 20; i++) await resolve(refs, `ns/p-${i}`, ['shared']);
    expect(w.gets.length).toBe(before);
    for (let i = 1; i <= 2; i++) await resolve(refs, `ns/p-${i}`, ['shared', `own-${i}`]);
    await vi.advanceTimersByTimeAsync(13_000);
    expect(enqueued).toEqual([]);
    stop.abort();
    await running;
  });

  it('requeues a coupling when its object goes, and when a right to read it is taken away (once)', async () => {
    const w = world();
    w.put('a', { k: '1' });
    w.put('b', { k: '1' });
    const { refs, enqueued } = tracker(w, 10_000);
    const stop = new AbortController();
    const running = refs.start(stop.signal);
    await resolve(refs, 'ns/pa', ['a']);
    await resolve(refs, 'ns/pb', ['b'], sa('b'));
    w.remove('a');
    w.allow(['default']);
    await vi.advanceTimersByTimeAsync(13_000);
    expect([...new Set(enqueued)].sort()).toEqual(['ns/pa', 'ns/pb']);
    // They resolve again: a is missing, b is forbidden; further polls change nothing for them.
    expect((await resolve(refs, 'ns/pa', ['a']))[0]).toBeUndefined();
    await expect(resolve(refs, 'ns/pb', ['b'], sa('b'))).rejects.toThrow(/forbidden/);
    enqueued.length = 0;
    await vi.advanceTimersByTimeAsync(26_000);
    expect(enqueued).toEqual([]);
    // a is created again: pa is requeued.
    w.put('a', { k: '2' });
    await vi.advanceTimersByTimeAsync(13_000);
    expect(new Set(enqueued)).toEqual(new Set(['ns/pa']));
    stop.abort();
    await running;
  });

  it('forgets couplings that are gone or stopped reading an object, and drops unused readings', async () => {
    const w = world();
    w.put('x', { k: '1' });
    w.put('y', { k: '1' });
    const { refs, enqueued } = tracker(w, 10_000);
    const stop = new AbortController();
    const running = refs.start(stop.signal);
    await resolve(refs, 'ns/p', ['x', 'y']);
    await resolve(refs, 'ns/q', ['x']);
    await resolve(refs, 'ns/p', ['y']); // p no longer reads x
    refs.forget('ns/q');
    w.put('x', { k: '2' });
    w.put('y', { k: '2' });
    await vi.advanceTimersByTimeAsync(13_000);
    expect(new Set(enqueued)).toEqual(new Set(['ns/p']));
    // x is read by nobody: no more polls of it, and it is dropped after a while.
    await vi.advanceTimersByTimeAsync(120_000);
    expect(refs.stats().readings).toBe(1);
    stop.abort();
    await running;
  });
});
