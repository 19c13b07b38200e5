// Go-dialect templates that only print string values, answered on the host without a sandbox round trip.
//
// Most strings of the sockets users write are of that kind: `createdb-{% .plug.metadata.name %}`,
// `{% .socketConfig.password %}`. Sending them to a worker cost about 0.85 ms of CPU per render of the Go
// sample's Job template (data pruned and serialised, posted, parsed in QuickJS, rendered, posted back;
// measured with the image's V8 flags), which was a fifth of the operator's CPU when a shared Secret's change
// recreated 1,000 Jobs (issue 17). Here the same output costs a few microseconds.
//
// No tenant code runs on the host: the template's text is already scanned and its Go actions lexed on the host
// (dialect.ts, linear in its length), and data-needs.ts already walks the field paths they name to prune the
// data. This module takes a template only when every action is one glued chain of fields (`{% .a.b.c %}`,
// no trim markers, no pipeline, no function, no variable) and every chain reaches a string through own
// properties of plain objects; it then writes the text between the actions as it is and each string in
// place of its action, which is exactly what Go's text/template (and our engine, checked against it) does.
// Anything else (a missing key, which needs its warning; a number, map or list, which need Go's formatting;
// a field name that is not ASCII; an output over the cap, which needs the sandbox's own error) returns undefined
// and the template goes to the sandbox as before. The renderer keeps the rest of the equivalence (renderer.ts):
// the data is pruned, serialised and size-checked as before, a batch with an eta template (which may change
// the data the next templates see) goes to the sandbox whole, and so does a batch whose output nears the cap.

import { glued } from './data-needs.ts';
import type { TemplateAnalysis } from './dialect.ts';
import type { GoToken } from './sandbox/go-lexer.ts';

const FIELD = /^\.[A-Za-z_][A-Za-z0-9_]*$/;

function isPlainRecord(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export interface HostFieldLimits {
  /** The sandbox's output cap in UTF-8 bytes: a longer output is left to the sandbox (and its error). */
  maxOutputBytes: number;
}

/**
 * The output of a Go-dialect template that only prints string fields of `data`, or undefined when the
 * template needs the sandbox. `analysis` must be the template's own (`analyzeTemplate(src)`), of dialect `go`.
 */
export function renderFieldsOnHost(
  src: string,
  analysis: TemplateAnalysis,
  data: unknown,
  limits: HostFieldLimits,
): string | undefined {
  if (analysis.dialect !== 'go' || analysis.mixed || analysis.tags.length === 0) return undefined;
  // UTF-16 units never exceed UTF-8 bytes: a longer text is certainly over the cap.
  const maxOutput = limits.maxOutputBytes;
  let out = '';
  let at = 0;
  for (const { tag, dialect, goTokens } of analysis.tags) {
    if (dialect !== 'go' || !tag.closed || tag.openTrim !== '' || tag.closeTrim !== '' || tag.prefix !== '')
      return undefined;
    if (!goTokens || goTokens.length === 0) return undefined;
    let v: unknown = data;
    for (let k = 0; k < goTokens.length; k++) {
      const tok = goTokens[k] as GoToken;
      // `__proto__` is never data in the sandbox (the data pruned for it drops that key): left to it.
      if (tok.kind !== 'field' || !FIELD.test(tok.text) || tok.text === '.__proto__') return undefined;
      if (k > 0 && !glued(goTokens[k - 1], tok)) return undefined;
      if (!isPlainRecord(v)) return undefined;
      // Own data properties only: `.constructor` or `.__proto__` never reach JavaScript internals.
      const d = Object.getOwnPropertyDescriptor(v, tok.text.slice(1));
      if (!d || !('value' in d)) return undefined;
      v = d.value;
    }
    if (typeof v !== 'string') return undefined;
    out += src.slice(at, tag.start);
    out += v;
    at = tag.end;
    if (out.length > maxOutput) return undefined;
  }
  out += src.slice(at);
  return out.length > maxOutput ? undefined : out;
}
