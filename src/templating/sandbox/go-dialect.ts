// THE SEAM between the sandbox and the Go dialect: the one place that says which engine renders templates
// detected as Go. Runs inside QuickJS.
//
// The engine is src/templating/go/engine.ts: Go text/template + sprig v2.22, written in plain TypeScript
// (no host globals, no polyfills needed), checked byte for byte against real Go (tools/gotemplate-oracle).
// Its error codes are mapped to the runner's: parse errors are TemplateSyntax, functions that reach the
// environment, files, network or clock are TemplateUnsupported, everything else TemplateRuntime.
//
// Contract: renderGoTemplate(src, data, { seed }) => { output, missingKeys }; throws an Error with a clear message
// on template errors, with `code` = 'TemplateSyntax' | 'TemplateRuntime' | 'TemplateUnsupported'.
import { renderGoTemplate as render } from '../go/engine.ts';

const codes: Record<string, string> = {
  GO_TEMPLATE_PARSE: 'TemplateSyntax',
  GO_TEMPLATE_EXEC: 'TemplateRuntime',
  GO_TEMPLATE_LIMIT: 'TemplateRuntime',
  GO_TEMPLATE_UNAVAILABLE: 'TemplateUnsupported',
};

class GoDialectError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export function renderGoTemplate(
  src: string,
  data: unknown,
  opts: { seed: string; reuseData?: boolean },
): { output: string; missingKeys: string[] } {
  try {
    return render(src, data, { seed: opts.seed, reuseData: opts.reuseData === true });
  } catch (e) {
    const code =
      typeof e === 'object' && e !== null && 'code' in e
        ? codes[String((e as { code: unknown }).code)]
        : undefined;
    const message = e instanceof Error ? e.message : String(e);
    throw new GoDialectError(code ?? 'TemplateRuntime', message);
  }
}
