// Only the data a template can read is sent to the sandbox (src/templating/data-needs.ts): what is kept
// for each kind of template, and that a pruned render is the same as a render over all the data.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_DATA, dataNeeds, pruneData } from '../../../src/templating/data-needs.ts';
import { analyzeTemplate } from '../../../src/templating/dialect.ts';
import { GoTemplateError, renderGoTemplate } from '../../../src/templating/go/engine.ts';
import { TemplateRenderer } from '../../../src/templating/index.ts';
import { readCorpus } from '../../../tools/gotemplate-oracle/oracle.ts';

const data = {
  plug: {
    metadata: {
      name: 'app',
      namespace: 'team-a',
      labels: { tier: 'web' },
      managedFields: [{ manager: 'x' }],
    },
    spec: { socket: { name: 'postgres' } },
  },
  socket: {
    metadata: { name: 'postgres', namespace: 'db' },
    status: { coupledPlugs: [{ name: 'app' }, { name: 'other' }] },
  },
  plugConfig: { database: 'app_db', list: ['a', 'b'], nested: { k: 'v' } },
  socketConfig: { host: 'pg.db.svc', port: '5432', password: 'p' },
  nothing: null,
};

const kept = (...templates: string[]) => pruneData(data, dataNeeds(templates.map(analyzeTemplate)));

describe('dataNeeds + pruneData', () => {
  it('keeps exactly the paths of a Go template whose dot is the root', () => {
    expect(kept('createdb-{% .plug.metadata.name %}', '{% .socketConfig.host | quote %}')).toEqual({
      plug: { metadata: { name: 'app' } },
      socketConfig: { host: 'pg.db.svc' },
    });
  });

  it('keeps the value at the end of a path whole, whatever the functions do with it', () => {
    expect(kept('{% toJson .plugConfig %}{% keys .plug.metadata.labels %}')).toEqual({
      plug: { metadata: { labels: { tier: 'web' } } },
      plugConfig: data.plugConfig,
    });
    // A shorter path wins over a longer one, in either order.
    expect(kept('{% .plug.metadata.name %}{% .plug.metadata %}')).toEqual({
      plug: { metadata: data.plug.metadata },
    });
  });

  it('keeps a field read on a computed value through the names that computed it', () => {
    expect(kept('{% (index .plugConfig.list 0).x %}')).toEqual({ plugConfig: { list: ['a', 'b'] } });
    expect(kept('{% (.plug.metadata).name %}{% print (.socketConfig.port) %}')).toEqual({
      plug: { metadata: data.plug.metadata },
      socketConfig: { port: '5432' },
    });
  });

  it('keeps the chains named inside with, range and define, and after $', () => {
    // Inside `with .plug`, `.metadata.name` reads the plug, which is kept whole; as a path from the
    // root it keeps nothing more (there is no top-level `metadata`).
    expect(kept('{% with .plug %}{% .metadata.name %}{% end %}')).toEqual({ plug: data.plug });
    expect(kept('{% with .plug.metadata %}{% .name %}{% end %}{% .nothing %}')).toEqual({
      plug: { metadata: data.plug.metadata },
      nothing: null,
    });
    expect(kept('{% range $i, $v := .plugConfig.list %}{% $v %}{% $v.x %}{% end %}')).toEqual({
      plugConfig: { list: ['a', 'b'] },
    });
    expect(kept('{% $.socket.metadata.name %}')).toEqual({ socket: { metadata: { name: 'postgres' } } });
    expect(kept('{% define "x" %}{% .port %}{% end %}{% template "x" .socketConfig %}')).toEqual({
      socketConfig: data.socketConfig,
    });
  });

  it('sends everything for a bare dot or $ (the whole data)', () => {
    for (const t of [
      '{% toJson . %}',
      '{% index . "socket" %}',
      '{% toJson $ %}',
      '{% range . %}x{% end %}',
    ]) {
      expect(dataNeeds([analyzeTemplate(t)])).toBe(ALL_DATA);
      expect(kept(t)).toBe(data);
    }
  });

  it('keeps the top-level keys an eta template names after `it.`', () => {
    expect(kept('{%= it.plug.metadata.name %}-{%= it.socketConfig?.host %}')).toEqual({
      plug: data.plug,
      socketConfig: data.socketConfig,
    });
    expect(kept('{% const c = it . plugConfig; %}{%= c.database %}')).toEqual({
      plugConfig: data.plugConfig,
    });
  });

  it('sends everything when eta reaches the data another way', () => {
    for (const t of [
      '{%= JSON.stringify(it) %}',
      '{%= it["socket"].metadata.name %}',
      '{%= Object.keys(it).join(",") %}',
      '{%= arguments[0].socket %}',
      '{%= eval("it.socket") %}',
    ]) {
      expect(dataNeeds([analyzeTemplate(t)])).toBe(ALL_DATA);
    }
  });

  it('needs nothing for text without tags, and unions the needs of a batch', () => {
    expect(kept('plain text')).toEqual({});
    expect(kept('plain', '{% .nothing %}', '{%= it.plugConfig.database %}')).toEqual({
      nothing: null,
      plugConfig: data.plugConfig,
    });
    expect(kept('{% .plugConfig.database %}', '{% toJson . %}')).toBe(data);
  });

  it('leaves data that is not an object as it is', () => {
    const needs = dataNeeds([analyzeTemplate('{% .a.b %}')]);
    expect(pruneData(null, needs)).toBeNull();
    expect(pruneData(['x'], needs)).toEqual(['x']);
    expect(pruneData({ a: 'text' }, needs)).toEqual({ a: 'text' });
  });
});

describe('a pruned render is the render over all the data', () => {
  let r: TemplateRenderer;
  beforeAll(() => {
    r = new TemplateRenderer({ workers: 1 });
  });
  afterAll(async () => {
    await r.close();
  });

  // The suffix renders nothing but names the whole data, so the same template is rendered unpruned.
  const goAll = '{% if false %}{% toJson . %}{% end %}';
  const etaAll = '{% if (false) { %}{%= JSON.stringify(it) %}{% } %}';
  const cases: Array<[string, string]> = [
    ['{% .plug.metadata.name %}-{% .socketConfig.host %}:{% .socketConfig.port %}', goAll],
    ['{% .plugConfig.missing %}|{% .socket.metadata.nope.deeper %}|{% .nothing %}', goAll],
    ['{% toJson .plug.metadata %}|{% .plugConfig.list | join "," %}', goAll],
    ['{% if hasKey .plug.metadata "labels" %}{% .plug.metadata.labels.tier %}{% end %}', goAll],
    ['{% with .socket %}{% .metadata.name %}{% len .status.coupledPlugs %}{% end %}', goAll],
    ['{% range $k, $v := .plugConfig.nested %}{% $k %}={% $v %}{% end %}', goAll],
    ['{% with .plug.metadata %}{% .name %}/{% .labels.tier %}{% end %}{% $.socket.metadata.name %}', goAll],
    ['{% range .socket.status.coupledPlugs %}{% .name %},{% end %}', goAll],
    ['{% $m := .plug.metadata %}{% $m.name %}{% $m.labels %}', goAll],
    ['{% .plug.metadata.name.toolong %}', goAll],
    ['{% (.plug.metadata).name %}-{% len (.socket.status.coupledPlugs) %}', goAll],
    ['{%= it.plug.metadata.name %}/{%= it.socket.status.coupledPlugs.length %}', etaAll],
    ['{%= it.plugConfig.missing %}|{%= JSON.stringify(it.socketConfig) %}', etaAll],
  ];

  it.each(cases)('%s', async (template, suffix) => {
    const pruned = await r.renderBatch([template], data, { seed: 's' });
    const whole = await r.renderBatch([template + suffix], data, { seed: 's' });
    const view = (items: typeof pruned) =>
      items.map((i) => (i.ok ? { output: i.output, warnings: i.warnings } : { error: i.error.message }));
    expect(view(pruned)).toEqual(view(whole));
  });
});

describe('the Go-template corpus renders the same over the data it names', () => {
  const corpus = readCorpus();
  const render = (template: string, d: unknown) => {
    try {
      return { output: renderGoTemplate(template, d, { seed: 'corpus' }).output };
    } catch (e) {
      if (!(e instanceof GoTemplateError)) throw e;
      return { error: e.message };
    }
  };

  it('for every case (output or error, byte for byte)', () => {
    const differences: string[] = [];
    let pruned = 0;
    // `now` reads the clock: two renders may fall in different seconds.
    for (const c of corpus.filter((x) => !/\bnow\b/.test(x.template))) {
      const analysis = analyzeTemplate(c.template);
      if (analysis.dialect !== 'go' || analysis.mixed) continue;
      const needs = dataNeeds([analysis]);
      if (needs !== ALL_DATA) pruned++;
      const whole = render(c.template, c.data);
      const part = render(c.template, pruneData(c.data, needs));
      if (JSON.stringify(whole) !== JSON.stringify(part))
        differences.push(`${c.name}: ${JSON.stringify(whole)} vs ${JSON.stringify(part)}`);
    }
    expect(differences).toEqual([]);
    // Most cases name their data by paths: the test is not vacuous.
    expect(pruned).toBeGreaterThan(200);
  });
});
