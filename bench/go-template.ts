// Cost of the Go-template dialect in QuickJS (the sandbox) and in Node (for scale): WASM instantiation,
// fresh runtime + context + engine load, and parse + render of a 40-line Job template.
// Run: node_modules/.bin/node bench/go-template.ts

import { readdirSync, readFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import variant from '@jitl/quickjs-wasmfile-release-sync';
import {
  newQuickJSWASMModuleFromVariant,
  type QuickJSContext,
  type QuickJSSyncVariant,
} from 'quickjs-emscripten-core';
import { renderGoTemplate } from '../src/templating/go/engine.ts';

const JOB = `apiVersion: batch/v1
kind: Job
metadata:
  name: {% .plug.metadata.name %}-migrate
  namespace: {% .plug.metadata.namespace %}
  labels:
    app.kubernetes.io/name: {% .plug.metadata.name | trunc 63 | trimSuffix "-" %}
    app.kubernetes.io/instance: {% printf "%s-%s" .plug.metadata.name .socket.metadata.name | trunc 63 %}
    app.kubernetes.io/managed-by: integration-operator
  annotations:
    config-hash: {% toJson .plugConfig | sha256sum | trunc 16 %}
spec:
  backoffLimit: {% .plugConfig.backoffLimit | default 3 %}
  ttlSecondsAfterFinished: 300
  template:
    metadata:
      labels:
        job: {% .plug.metadata.name %}-migrate
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: {% .socketConfig.image | default "postgres:16" | quote %}
          command: ["psql", "-c", {% printf "CREATE DATABASE %s" .plugConfig.database | quote %}]
          env:
            - name: PGHOST
              value: {% .socketConfig.host | quote %}
            - name: PGPORT
              value: {% .socketConfig.port | default "5432" | quote %}
            - name: PGUSER
              value: {% .socketConfig.username | quote %}
            - name: PGPASSWORD
              valueFrom:
                secretKeyRef:
                  name: {% .socket.metadata.name %}-credentials
                  key: password
{%- range $k, $v := .plugConfig.extraEnv %}
            - name: {% $k | upper | replace "-" "_" %}
              value: {% $v | quote %}
{%- end %}
`;
const DATA = {
  plug: { metadata: { name: 'my-app', namespace: 'apps' } },
  socket: { metadata: { name: 'pg' } },
  plugConfig: { database: 'my_app', extraEnv: { 'log-level': 'debug', mode: 'fast' } },
  socketConfig: { host: 'pg.db.svc', username: 'admin' },
};

const engineDir = new URL('../src/templating/go/', import.meta.url);
const sources = new Map(
  readdirSync(engineDir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => [f, stripTypeScriptTypes(readFileSync(new URL(f, engineDir), 'utf8'))]),
);
const BOOT = `import { renderGoTemplate } from './engine.ts';
globalThis.render = (t, d) => renderGoTemplate(t, JSON.parse(d), { seed: 'bench' }).output;`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
const fmt = (ms: number) => `${ms.toFixed(2)} ms`;

function render(ctx: QuickJSContext): string {
  const fn = ctx.getProp(ctx.global, 'render');
  const t = ctx.newString(JOB);
  const d = ctx.newString(JSON.stringify(DATA));
  const out = ctx.getString(ctx.unwrapResult(ctx.callFunction(fn, ctx.undefined, t, d)));
  for (const h of [fn, t, d]) h.dispose();
  return out;
}

const t0 = performance.now();
const quickjs = await newQuickJSWASMModuleFromVariant(variant as unknown as QuickJSSyncVariant);
const wasmInit = performance.now() - t0;

const load: number[] = [];
const firstRender: number[] = [];
const total: number[] = [];
const reused: number[] = [];
for (let i = 0; i < 30; i++) {
  const a = performance.now();
  const runtime = quickjs.newRuntime();
  runtime.setModuleLoader(
    (name) => sources.get(name) ?? '',
    (_b, r) => r.slice(2),
  );
  const ctx = runtime.newContext();
  ctx.unwrapResult(ctx.evalCode(BOOT, 'boot.mjs', { type: 'module' })).dispose();
  const b = performance.now();
  const out = render(ctx);
  const c = performance.now();
  if (!out.includes('PGPASSWORD')) throw new Error('bad render');
  for (let k = 0; k < 5; k++) {
    const s = performance.now();
    render(ctx);
    reused.push(performance.now() - s);
  }
  load.push(b - a);
  firstRender.push(c - b);
  total.push(c - a);
  ctx.dispose();
  runtime.dispose();
}

for (let i = 0; i < 200; i++) renderGoTemplate(JOB, DATA, { seed: 'bench' });
const node: number[] = [];
for (let i = 0; i < 500; i++) {
  const s = performance.now();
  renderGoTemplate(JOB, DATA, { seed: 'bench' });
  node.push(performance.now() - s);
}

console.log(`Go-template dialect, ${JOB.split('\n').length - 1}-line Job template (medians)`);
console.log(`  QuickJS WASM instantiate (once per worker)        ${fmt(wasmInit)}`);
console.log(`  QuickJS fresh runtime + context + load engine     ${fmt(median(load))}`);
console.log(`  QuickJS parse + render, first in fresh context    ${fmt(median(firstRender))}`);
console.log(`  QuickJS fresh context + load + parse + render     ${fmt(median(total))}`);
console.log(`  QuickJS render again, engine loaded, parse cached ${fmt(median(reused))}`);
console.log(`  Node (V8) parse + render, for scale               ${fmt(median(node))}`);
