import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PlugSchema } from '../../../src/api/plug.ts';
import { apiReference } from '../../../src/api/reference.ts';
import { SocketSchema } from '../../../src/api/socket.ts';
import { apiReferencePath, crdDirs, renderedCrds } from '../../../tools/generate.ts';

describe('CRDs', () => {
  it('committed CRDs match the schemas (run `npm run generate` after changing src/api)', () => {
    for (const dir of crdDirs) {
      for (const [file, text] of Object.entries(renderedCrds())) {
        expect(readFileSync(path.join(dir, file), 'utf8'), `${path.basename(dir)}/${file}`).toBe(text);
      }
    }
  });

  it('the committed API reference matches the schemas', () => {
    expect(readFileSync(apiReferencePath, 'utf8')).toBe(apiReference());
  });

  it('accept a manifest written for the Go operator unchanged', () => {
    const socket = {
      apiVersion: 'integration.rock8s.com/v1beta1',
      kind: 'Socket',
      metadata: { name: 'foo', namespace: 'foo-ns' },
      spec: {
        interface: {
          config: { plug: { hello: { default: 'world' } }, socket: { howdy: { required: true } } },
          result: { socket: { foo: { required: true } }, plug: { bar: {} } },
        },
        config: { howdy: 'partner' },
        vars: [
          {
            name: 'serviceAccountName',
            objref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'd', namespace: 'default' },
            fieldref: { fieldPath: 'spec.template.spec.serviceAccountName' },
          },
        ],
        resources: [
          {
            when: ['coupled', 'updated'],
            do: 'apply',
            template: {
              apiVersion: 'batch/v1',
              kind: 'Job',
              metadata: { name: 'j' },
              spec: { template: { spec: {} } },
            },
          },
        ],
        resultResources: [
          { do: 'apply', stringTemplate: '{%- if (eq .result.resultJob "1") %}\nkind: Job\n{%- endif %}' },
        ],
        apparatus: {
          endpoint: '/socket',
          containers: [
            { name: 'a', image: 'img', ports: [{ containerPort: 3000, name: 'container', protocol: 'TCP' }] },
          ],
        },
        validation: { namespaceWhitelist: ['app-.*'] },
        limit: 3,
        epoch: '1',
      },
    };
    const r = SocketSchema.safeParse(socket);
    expect(r.success, JSON.stringify(!r.success && r.error.issues)).toBe(true);
    const plug = {
      apiVersion: 'integration.rock8s.com/v1beta1',
      kind: 'Plug',
      metadata: { name: 'bar', namespace: 'bar-ns' },
      spec: {
        socket: { name: 'foo', namespace: 'foo-ns' },
        configSecretName: 'my-secret',
        configTemplate: { hostname: '{% .vars.ingressHost %}' },
        resources: [{ when: ['coupled'], preserveWhenDecoupled: true, templates: [{ kind: 'ConfigMap' }] }],
        apparatus: { endpoint: 'http://my-svc.ns.svc', containers: [] },
      },
      status: {
        conditions: [
          {
            type: 'Failed',
            status: 'False',
            reason: 'x',
            message: '',
            lastTransitionTime: '2024-01-01T00:00:00Z',
          },
        ],
        coupledSocket: {
          apiVersion: 'integration.rock8s.com/v1beta1',
          kind: 'Socket',
          name: 'foo',
          namespace: 'foo-ns',
          uid: 'u',
        },
        coupledResult: { plug: { a: '1' }, socket: {}, observedGeneration: 2 },
      },
    };
    const p = PlugSchema.safeParse(plug);
    expect(p.success, JSON.stringify(!p.success && p.error.issues)).toBe(true);
  });
});
