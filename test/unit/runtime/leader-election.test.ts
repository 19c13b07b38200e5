import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/kube/errors.ts';
import { silentLogger } from '../../../src/observe/log.ts';
import {
  LeaderElector,
  type LeaseRecord,
  type LeaseStore,
  validateTimings,
} from '../../../src/runtime/leader-election.ts';
import { FakeClock } from '../../support/fake-clock.ts';

/** An in-memory Lease with resourceVersion semantics, shared by several electors. */
class MemoryLease implements LeaseStore {
  record: LeaseRecord | undefined;
  rv = 0;
  failing = false;
  async get() {
    if (this.failing) throw new Error('API server unreachable');
    return this.record ? { record: { ...this.record }, resourceVersion: String(this.rv) } : undefined;
  }
  async create(record: LeaseRecord) {
    if (this.failing) throw new Error('API server unreachable');
    if (this.record)
      throw new ApiError('exists', { status: 409, reason: 'AlreadyExists', method: 'POST', path: '' });
    this.record = { ...record };
    this.rv++;
  }
  async update(record: LeaseRecord, rv: string) {
    if (this.failing) throw new Error('API server unreachable');
    if (rv !== String(this.rv))
      throw new ApiError('conflict', { status: 409, reason: 'Conflict', method: 'PUT', path: '' });
    this.record = { ...record };
    this.rv++;
  }
}

function elector(identity: string, store: LeaseStore, clock: FakeClock) {
  return new LeaderElector({
    identity,
    store,
    clock,
    log: silentLogger,
    wallNow: () => new Date(clock.now()),
  });
}

describe('LeaderElector', () => {
  it('checks the timing rules', () => {
    expect(() => validateTimings(15_000, 10_000, 2_000)).not.toThrow();
    expect(() => validateTimings(10_000, 10_000, 2_000)).toThrow(/leaseDuration/);
    expect(() => validateTimings(15_000, 2_000, 2_000)).toThrow(/retryPeriod/);
  });

  it('creates the lease when none exists and renews it', async () => {
    const store = new MemoryLease();
    const clock = new FakeClock();
    const a = elector('a', store, clock);
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(store.record?.holderIdentity).toBe('a');
    expect(store.record?.leaseTransitions).toBe(0);
    const acquired = store.record?.acquireTime;
    clock.advance(2_000);
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(store.record?.acquireTime).toBe(acquired);
    expect(store.record?.leaseTransitions).toBe(0);
  });

  it('refuses a lease another holder keeps renewing, and takes it once the record stops changing for leaseDuration', async () => {
    const store = new MemoryLease();
    const clock = new FakeClock();
    const a = elector('a', store, clock);
    const b = elector('b', store, clock);
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    // a keeps renewing: b never sees it expire
    for (let i = 0; i < 20; i++) {
      clock.advance(2_000);
      expect(await a.tryAcquireOrRenew()).toBe(true);
      expect(await b.tryAcquireOrRenew()).toBe(false);
    }
    // a dies: the record stops changing; b waits a full leaseDuration by its own clock
    clock.advance(14_999);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    clock.advance(2);
    expect(await b.tryAcquireOrRenew()).toBe(true);
    expect(store.record?.holderIdentity).toBe('b');
    expect(store.record?.leaseTransitions).toBe(1);
  });

  it('judges expiry by its own observation time, not the timestamps in the record', async () => {
    const store = new MemoryLease();
    const clock = new FakeClock();
    // a record written long ago by a clock far in the past
    store.record = {
      holderIdentity: 'old',
      leaseDurationSeconds: 15,
      renewTime: '2000-01-01T00:00:00.000000Z',
    };
    const b = elector('b', store, clock);
    expect(await b.tryAcquireOrRenew()).toBe(false); // first sight starts the observation window
    clock.advance(15_001);
    expect(await b.tryAcquireOrRenew()).toBe(true);
  });

  it('takes a released lease (empty holder) at once', async () => {
    const store = new MemoryLease();
    const clock = new FakeClock();
    const a = elector('a', store, clock);
    const b = elector('b', store, clock);
    const ctl = new AbortController();
    expect(await a.acquire(ctl.signal)).toBe(true);
    await a.release();
    expect(store.record?.holderIdentity).toBe('');
    expect(await b.tryAcquireOrRenew()).toBe(true);
  });

  it('loses a write race on a stale resourceVersion without throwing', async () => {
    const store = new MemoryLease();
    const clock = new FakeClock();
    store.record = { holderIdentity: '', leaseDurationSeconds: 15 };
    const a = elector('a', store, clock);
    const realGet = store.get.bind(store);
    // b writes between a's read and a's write
    store.get = async () => {
      const r = await realGet();
      store.rv++;
      return r;
    };
    expect(await a.tryAcquireOrRenew()).toBe(false);
  });

  it('steps down when it cannot renew within the renew deadline', async () => {
    const store = new MemoryLease();
    const clock = new FakeClock();
    const sleeps: number[] = [];
    const a = new LeaderElector({
      identity: 'a',
      store,
      clock,
      log: silentLogger,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock.advance(ms);
      },
    });
    const ctl = new AbortController();
    expect(await a.acquire(ctl.signal)).toBe(true);
    let renewals = 0;
    const realUpdate = store.update.bind(store);
    store.update = async (r, rv) => {
      renewals++;
      if (renewals > 3) store.failing = true;
      return realUpdate(r, rv);
    };
    const outcome = await a.hold(ctl.signal);
    expect(outcome).toBe('lost');
    expect(a.isLeader()).toBe(false);
    // it kept trying every retryPeriod for renewDeadline before giving up
    expect(sleeps.filter((s) => s === 2_000).length).toBeGreaterThanOrEqual(5);
  });
});
