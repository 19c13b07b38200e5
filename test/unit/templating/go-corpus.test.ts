// Renders the Go-template corpus with our engine and compares with what Go rendered (the committed oracle
// fixture), byte for byte; an error on both sides counts as a match. Cases that differ on purpose carry
// `differs` (the reason) and `expect` (our intended result) in the corpus.

import { describe, expect, it } from 'vitest';
import { GoTemplateError, renderGoTemplate } from '../../../src/templating/go/engine.ts';
import {
  type CorpusCase,
  corpusSha256,
  readCorpus,
  readFixture,
} from '../../../tools/gotemplate-oracle/oracle.ts';

const corpus = readCorpus();
const fixture = readFixture();
const goResults = new Map(fixture.results.map((r) => [r.name, r]));

function ours(c: CorpusCase): { output?: string; error?: string } {
  try {
    return { output: renderGoTemplate(c.template, c.data, { seed: 'corpus' }).output };
  } catch (e) {
    if (!(e instanceof GoTemplateError)) throw e;
    return { error: e.message };
  }
}

describe('Go-template corpus against real Go', () => {
  it('has a fixture generated from this very corpus', () => {
    expect(fixture.corpusSha256).toBe(corpusSha256());
    expect(corpus.map((c) => c.name)).toEqual(fixture.results.map((r) => r.name));
    expect(corpus.length).toBeGreaterThanOrEqual(150);
  });

  it('renders every case Go rendered, byte for byte (errors match errors)', () => {
    const differences: string[] = [];
    let matched = 0;
    const compared = corpus.filter((c) => c.differs === undefined);
    for (const c of compared) {
      const go = goResults.get(c.name)!;
      const mine = ours(c);
      const same = go.error !== undefined ? mine.error !== undefined : mine.output === go.output;
      if (same) matched++;
      else differences.push(`${c.name}\n    go:   ${JSON.stringify(go)}\n    ours: ${JSON.stringify(mine)}`);
    }
    expect(differences, `${matched}/${compared.length} match`).toEqual([]);
  });

  it('differs from Go only where the corpus says so, rendering the intended result', () => {
    const wrong: string[] = [];
    for (const c of corpus.filter((x) => x.differs !== undefined)) {
      const go = goResults.get(c.name)!;
      const mine = ours(c);
      const intended = c.expect?.error ? mine.error !== undefined : mine.output === c.expect?.output;
      const sameAsGo = go.error !== undefined ? mine.error !== undefined : mine.output === go.output;
      if (!intended || sameAsGo) wrong.push(`${c.name} (${c.differs}): ours ${JSON.stringify(mine)}`);
    }
    expect(wrong).toEqual([]);
  });
});
