import { describe, expect, it } from 'vitest';
import { FieldPathError, readFieldPath } from '../../../src/integration/field-path.ts';

const obj = {
  metadata: { name: 'web', labels: { 'app.kubernetes.io/name': 'web', tier: 'front' } },
  spec: {
    replicas: 3,
    paused: false,
    template: {
      spec: {
        serviceAccountName: 'sa',
        containers: [
          { name: 'a', image: 'img:1' },
          { name: 'b', image: 'img:2' },
        ],
      },
    },
  },
  status: {
    successful: 1,
    ratio: 0.5,
    empty: null,
    conditions: [
      { type: 'Available', status: 'True' },
      { type: 'Ready', status: 'False', reason: 'Waiting' },
    ],
  },
};

describe('field paths (gjson syntax)', () => {
  it.each([
    ['spec.template.spec.serviceAccountName', 'sa'],
    ['status.successful', '1'],
    ['status.ratio', '0.5'],
    ['spec.paused', 'false'],
    ['status.empty', ''],
    ['spec.template.spec.containers.1.image', 'img:2'],
    ['metadata.labels.app\\.kubernetes\\.io/name', 'web'],
    ['spec.template.spec.containers.#', '2'],
    ['spec.template.spec.containers.#.name', '["a","b"]'],
    ['status.conditions.#(type=="Ready").status', 'False'],
    ['status.conditions.#(type=="Ready").reason', 'Waiting'],
    ['status.conditions.#(status!="True")#.type', '["Ready"]'],
    ['status.conditions.#(type%"Av*").status', 'True'],
    ['spec.template.spec.containers.0', '{"name":"a","image":"img:1"}'],
    ['metadata.labels', '{"app.kubernetes.io/name":"web","tier":"front"}'],
  ])('%s -> %s', (path, want) => {
    expect(readFieldPath(obj, path)).toBe(want);
  });

  it('fails with the path named when it does not resolve', () => {
    for (const p of [
      'spec.nope',
      'spec.template.spec.containers.5.image',
      'status.conditions.#(type=="Gone").status',
      'spec.replicas.x',
    ]) {
      expect(() => readFieldPath(obj, p)).toThrow(FieldPathError);
      expect(() => readFieldPath(obj, p)).toThrow(p);
    }
  });

  it('compares numbers in queries', () => {
    const o = {
      items: [
        { n: 1, v: 'a' },
        { n: 5, v: 'b' },
      ],
    };
    expect(readFieldPath(o, 'items.#(n>2).v')).toBe('b');
    expect(readFieldPath(o, 'items.#(n<=1).v')).toBe('a');
  });
});
