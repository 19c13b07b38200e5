// THE SEAM between the sandbox and the Go dialect: the one place that says which engine renders templates
// detected as Go. Runs inside QuickJS.
//
// Today: the shorthand (`{% .a.b %}` only). When the full text/template + sprig engine lands as
// src/templating/go/engine.ts (pure, self-contained, relative `.ts` imports only under src/templating/go/),
// replace the export below with these two lines (the engine needs TextEncoder/TextDecoder/atob/btoa, which bare
// QuickJS lacks; the polyfills must be evaluated before the engine, hence first):
//     import './polyfills.ts';
//     export { renderGoTemplate } from '../go/engine.ts';
// The sandbox module loader already serves every file under src/templating/go/ (see sandbox-sources.ts). The
// shorthand does not need the polyfills, so they are not loaded today (each module costs parse time per render).
//
// Contract: renderGoTemplate(src, data, { seed }) => { output, missingKeys }; throws an Error with a clear message
// on template errors. An error may carry `code` = 'TemplateSyntax' | 'TemplateRuntime' | 'TemplateUnsupported'
// (anything else is reported as TemplateRuntime).
export { renderGoTemplate } from './go-shorthand.ts';
