// The socket's coupling Events: what changed since the last look, only what this operator did.
import { describe, expect, it } from 'vitest';
import { CouplingNewsTracker, newsMessage } from '../../../src/controllers/coupling-news.ts';
import type { KubeObject } from '../../../src/kube/types.ts';

const start = new Date('2026-11-23T10:00:00Z');
const secondsIn = (s: number) => new Date(start.getTime() + s * 1000).toISOString();

function plug(name: string, socket?: { event: string; at: string; hash?: string }): KubeObject {
  return {
    apiVersion: 'integration.rock8s.com/v1beta1',
    kind: 'Plug',
    metadata: { name, namespace: 'app', uid: `uid-${name}` },
    status: socket ? { lifecycle: { coupling: { socket: { hash: 'h', ...socket } } } } : {},
  };
}

describe('CouplingNewsTracker', () => {
  it('reports plugs coupled, updated and decoupled since the last look, each once', () => {
    const t = new CouplingNewsTracker(start);
    const a = plug('a', { event: 'coupled', at: secondsIn(1) });
    expect(t.look('s', [a])).toEqual({ coupled: ['app/a'], updated: [], decoupled: [] });
    expect(t.look('s', [a])).toEqual({ coupled: [], updated: [], decoupled: [] });
    const b = plug('b', { event: 'coupled', at: secondsIn(2) });
    const a2 = plug('a', { event: 'updated', at: secondsIn(3) });
    expect(t.look('s', [a2, b])).toEqual({ coupled: ['app/b'], updated: ['app/a'], decoupled: [] });
    expect(t.look('s', [b])).toEqual({ coupled: [], updated: [], decoupled: ['app/a'] });
    // Sockets are tracked apart.
    expect(t.look('other', [a])).toEqual({ coupled: ['app/a'], updated: [], decoupled: [] });
  });

  it('reports nothing on a first look at couplings performed before the operator started', () => {
    const t = new CouplingNewsTracker(start);
    const old = plug('old', { event: 'updated', at: secondsIn(-60) });
    const fresh = plug('fresh', { event: 'updated', at: secondsIn(5) });
    expect(t.look('s', [old, fresh])).toEqual({ coupled: [], updated: ['app/fresh'], decoupled: [] });
    // ... but a plug that leaves afterwards is news.
    expect(t.look('s', [fresh])).toEqual({ coupled: [], updated: [], decoupled: ['app/old'] });
  });

  it('never reports couplings adopted from the Go operator (no record, or one without an inputs hash)', () => {
    const t = new CouplingNewsTracker(start);
    t.look('s', []);
    const adopted = plug('adopted', { event: 'coupled', at: secondsIn(10), hash: '' });
    const goOnly = plug('go');
    expect(t.look('s', [adopted, goOnly])).toEqual({ coupled: [], updated: [], decoupled: [] });
  });

  it('forgets a socket', () => {
    const t = new CouplingNewsTracker(start);
    t.look('s', [plug('a', { event: 'coupled', at: secondsIn(1) })]);
    t.forget('s');
    expect(t.look('s', [])).toEqual({ coupled: [], updated: [], decoupled: [] });
  });
});

describe('newsMessage', () => {
  it('lists up to ten names, sorted, then how many more', () => {
    expect(newsMessage('coupled', ['app/b', 'app/a'])).toBe('coupled 2 plugs: app/a, app/b');
    expect(newsMessage('decoupled', ['x/y'])).toBe('decoupled 1 plug: x/y');
    const many = Array.from({ length: 12 }, (_, i) => `ns/p${String(i).padStart(2, '0')}`);
    expect(newsMessage('updated', many)).toBe(`updated 12 plugs: ${many.slice(0, 10).join(', ')} and 2 more`);
  });
});
