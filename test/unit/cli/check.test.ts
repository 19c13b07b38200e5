// `kubectl integration check`: manifests checked offline with the operator's own schemas and rules,
// problems named by file, line and column.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkManifests, formatProblem, type ManifestSource } from '../../../src/cli/check.ts';
import { repoRoot } from '../../support/operator.ts';

const samples = path.join(repoRoot, 'config', 'samples');

function check(text: string, file = 'm.yaml') {
  const report = checkManifests([{ file, text }]);
  return { ...report, lines: report.problems.map(formatProblem) };
}

/** A manifest: lines joined, so that tests can say which line a problem is on. */
const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;

const socketHead = [
  'apiVersion: integration.rock8s.com/v1beta1',
  'kind: Socket',
  'metadata:',
  '  name: db',
  '  namespace: data',
  'spec:',
];
const plugHead = [
  'apiVersion: integration.rock8s.com/v1beta1',
  'kind: Plug',
  'metadata:',
  '  name: app',
  '  namespace: shop',
  'spec:',
];

describe('check: the samples', () => {
  it('passes every sample and the example apparatus socket, skipping the other kinds', () => {
    const files = readdirSync(samples)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => path.join(samples, f));
    files.push(path.join(repoRoot, 'examples', 'apparatus', 'socket.yaml'));
    const sources: ManifestSource[] = files.map((file) => ({ file, text: readFileSync(file, 'utf8') }));
    const report = checkManifests(sources);
    expect(report.problems.map(formatProblem)).toEqual([]);
    expect(report.checked).toBeGreaterThanOrEqual(9);
    expect(report.skipped).toBeGreaterThan(10); // Namespaces, ServiceAccounts, Roles, a Deployment...
  });
});

describe('check: the CRD schemas', () => {
  it('refuses unknown fields (as kubectl does) at the field, and wrong types', () => {
    const r = check(yaml(...socketHead, '  limitt: 3', '  resources:', '    - when: coupled'));
    expect(r.lines).toEqual([
      'm.yaml:7:3: error: Socket data/db: unknown field "spec.limitt"',
      'm.yaml:9:13: error: Socket data/db: spec.resources[0].when: must be array, not a string',
    ]);
  });

  it('names a version that is not served, a missing name, and a kind of the group that does not exist', () => {
    const r = check(
      yaml(
        'apiVersion: integration.rock8s.com/v1alpha1',
        'kind: Plug',
        'metadata: {name: old}',
        '---',
        'apiVersion: integration.rock8s.com/v1beta1',
        'kind: Socket',
        'metadata: {namespace: x}',
        '---',
        'apiVersion: integration.rock8s.com/v1beta1',
        'kind: Plugg',
        'metadata: {name: typo}',
      ),
    );
    expect(r.lines).toEqual([
      'm.yaml:1:13: error: Plug default/old: apiVersion integration.rock8s.com/v1alpha1 is not served: use integration.rock8s.com/v1beta1',
      'm.yaml:7:11: error: Socket x/(no name): metadata.name is required',
      'm.yaml:10:7: error: Plugg default/typo: kind "Plugg" is not a kind of integration.rock8s.com (Plug, Socket, DeferredResource)',
    ]);
  });

  it('checks DeferredResources against their schema, and the items of a List', () => {
    const r = check(
      yaml(
        'apiVersion: v1',
        'kind: List',
        'items:',
        '  - apiVersion: integration.rock8s.com/v1beta1',
        '    kind: DeferredResource',
        '    metadata: {name: later}',
        '    spec:',
        '      timeout: soon',
        '  - apiVersion: v1',
        '    kind: ConfigMap',
        '    metadata: {name: other}',
      ),
    );
    expect(r.lines).toEqual([
      'm.yaml:8:16: error: DeferredResource default/later: spec.timeout: must be integer, not a string',
    ]);
    expect(r.checked).toBe(1);
    expect(r.skipped).toBe(1);
  });

  it('reports YAML syntax errors with their position and goes on with the other documents', () => {
    const r = check(yaml('a: [unclosed', '---', ...socketHead, '  limitt: 1'));
    expect(r.lines[0]).toMatch(/^m\.yaml:2:1: error: YAML: /);
    expect(r.lines[1]).toBe('m.yaml:9:3: error: Socket data/db: unknown field "spec.limitt"');
  });
});

describe("check: the operator's rules", () => {
  it('refuses unknown when and do values (at the value) and warns about resources without when', () => {
    const r = check(
      yaml(
        ...socketHead,
        '  resources:',
        '    - when: [coupled, coupeld]',
        '      do: aply',
        '      template: {apiVersion: v1, kind: ConfigMap, metadata: {name: x}}',
        '    - template: {apiVersion: v1, kind: ConfigMap, metadata: {name: y}}',
      ),
    );
    expect(r.lines).toEqual([
      'm.yaml:8:23: error: Socket data/db: spec.resources[0].when: unknown event "coupeld" (created, coupled, updated, decoupled, deleted)',
      'm.yaml:9:11: error: Socket data/db: spec.resources[0].do: unknown action "aply" (apply, delete, recreate)',
      'm.yaml:11:7: warning: Socket data/db: spec.resources[1] has no "when": it is never applied (add when: [coupled, updated], or the events you mean)',
    ]);
  });

  it('refuses invalid ServiceAccount names, namespace patterns and selector operators', () => {
    const r = check(
      yaml(
        ...socketHead,
        '  serviceAccountName: Not_A_Name',
        '  validation:',
        '    namespaceWhitelist: ["team-("]',
        '    namespaceSelector:',
        '      matchExpressions: [{key: tier, operator: Maybe}]',
      ),
    );
    expect(r.lines).toEqual([
      `m.yaml:7:23: error: Socket data/db: spec.serviceAccountName "Not_A_Name" is not a valid ServiceAccount name (lowercase letters, digits, '-' and '.')`,
      expect.stringMatching(
        /^m\.yaml:9:26: error: Socket data\/db: spec\.validation: invalid regular expression "team-\("/,
      ),
      'm.yaml:11:48: error: Socket data/db: spec.validation.namespaceSelector.matchExpressions[0]: invalid label selector operator "Maybe" (In, NotIn, Exists, DoesNotExist)',
    ]);
  });
});

describe('check: templates', () => {
  it('names the file line and column of a Go parse error inside a block stringTemplate', () => {
    const r = check(
      yaml(
        ...plugHead,
        '  resources:',
        '    - when: [coupled]',
        '      stringTemplate: |',
        '        apiVersion: v1',
        '        kind: ConfigMap',
        '        metadata:',
        '          name: conn',
        '        data:',
        '          url: {% .socketConfig.host | nosuch %}',
      ),
    );
    // Template line 6, column 32 ("nosuch") is file line 15, column 8 + 32.
    expect(r.lines).toEqual([
      'm.yaml:15:40: error: Plug shop/app: spec.resources[0].stringTemplate: function "nosuch" not defined (template line 6, column 32)',
    ]);
  });

  it('reports eta syntax, eta tags, mixed dialects and functions that reach the environment', () => {
    const r = check(
      yaml(
        ...plugHead,
        '  configTemplate:',
        '    a: "{%= it.plugData.x +* 2 %}"',
        '    b: "x {%= it.plugData.x"',
        '    c: "{% .plugData.x %} {%= it.plugData.y %}"',
        '    d: \'{% env "HOME" %}\'',
      ),
    );
    expect(r.lines).toEqual([
      "m.yaml:8:9: error: Plug shop/app: spec.configTemplate.a: bad template syntax: SyntaxError: Unexpected token '*' (template line 1)",
      'm.yaml:9:11: error: Plug shop/app: spec.configTemplate.b: unclosed tag (template line 1, column 3)',
      expect.stringMatching(
        /^m\.yaml:10:27: error: Plug shop\/app: spec\.configTemplate\.c: the template mixes the Go dialect \(line 1: \{% \.plugData\.x %\}\) and the eta dialect/,
      ),
      "m.yaml:11:9: error: Plug shop/app: spec.configTemplate.d: `env` does not exist here: templates cannot read the operator's environment, files or network (template line 1, column 1)",
    ]);
  });

  it('refuses a Go block spanning the strings of an object template, and checks keys too', () => {
    const r = check(
      yaml(
        ...socketHead,
        '  resources:',
        '    - when: [coupled]',
        '      template:',
        '        apiVersion: v1',
        '        kind: ConfigMap',
        '        metadata:',
        '          name: "{% if .plug %}a"',
        '          labels:',
        '            "{% .plug.metadata.name | nosuch %}": x',
      ),
    );
    expect(r.lines).toEqual([
      expect.stringMatching(
        /^m\.yaml:13:18: error: Socket data\/db: spec\.resources\[0\]\.template\.metadata\.name: a block opened here is not closed by `\{% end %\}` in the same string; each string of an object template is rendered on its own/,
      ),
      'm.yaml:15:39: error: Socket data/db: key spec.resources[0].template.metadata.labels["{% .plug.metadata.name | nosuch %}"]: function "nosuch" not defined (template line 1, column 26)',
    ]);
  });

  it('accepts both dialects as the samples write them', () => {
    const r = check(
      yaml(
        ...plugHead,
        '  configTemplate:',
        '    go: "{% .plugData.x | quote %}{%- if eq .plugData.a \\"1\\" %}y{%- end %}"',
        '    eta: "{%= JSON.stringify(it.plugData.x) %}{%_ if (it.plugData.a === \\"1\\") { _%}y{%_ } _%}"',
        '    none: plain',
      ),
    );
    expect(r.lines).toEqual([]);
  });
});

describe('check: a plug against its socket in the same run', () => {
  const socket = [
    ...socketHead,
    '  validation:',
    '    namespaceSelector: {matchLabels: {tenant: "true"}}',
    '  interface:',
    '    config:',
    '      plug:',
    '        database: {required: true, pattern: "^[a-z_]+$"}',
    '        owner: {required: true}',
    '        port: {required: true, default: "5432"}',
    '---',
  ];

  it('names the interface keys the plug config does not provide and literal values that break the schema', () => {
    const r = check(
      yaml(
        ...socket,
        ...plugHead,
        '  socket: {name: db, namespace: data}',
        '  config:',
        '    database: Not-Valid',
      ),
    );
    expect(r.lines).toEqual([
      'm.yaml:23:3: error: Plug shop/app: plug config is missing required key owner (interface of Socket data/db)',
      'm.yaml:24:15: error: Plug shop/app: spec.config.database: must match pattern "^[a-z_]+$" (interface of Socket data/db)',
    ]);
  });

  it('counts templated keys as provided, and checks nothing that a ConfigMap or an apparatus may still provide', () => {
    const templated = check(
      yaml(
        ...socket,
        ...plugHead,
        '  socket: {name: db, namespace: data}',
        '  configTemplate:',
        '    database: "{% .plugData.db %}"',
        '    owner: me',
      ),
    );
    expect(templated.lines).toEqual([]);
    const external = check(
      yaml(
        ...socket,
        ...plugHead,
        '  socket: {name: db, namespace: data}',
        '  configConfigMapName: db-config',
        '  config: {database: Not-Valid}',
      ),
    );
    expect(external.lines).toEqual([]);
  });

  it("warns when the socket's rules will refuse the plug's namespace, when its labels are in the run", () => {
    const ns = [
      'apiVersion: v1',
      'kind: Namespace',
      'metadata:',
      '  name: shop',
      '  labels: {tenant: "false"}',
      '---',
    ];
    const plug = [
      ...plugHead,
      '  socket: {name: db, namespace: data}',
      '  config: {database: orders, owner: me}',
    ];
    expect(check(yaml(...socket, ...plug)).lines).toEqual([]); // the Namespace's labels are unknown
    expect(check(yaml(...ns, ...socket, ...plug)).lines).toEqual([
      "m.yaml:28:3: warning: Plug shop/app: will not couple to Socket data/db (NamespaceNotAllowed): namespace shop does not match the socket's namespaceSelector (tenant=true)",
    ]);
  });
});
