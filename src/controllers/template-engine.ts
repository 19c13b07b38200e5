// The TemplateEngine the controllers use, over the sandboxed renderer of src/templating: one pool
// of QuickJS worker threads per operator process. Templates are rendered with the data of ONE
// owner per call (object templates share a context within a call, never across owners).
import type { ResourceAction } from '../api/common.ts';
import type { KubeObject } from '../kube/types.ts';
import type { Metrics } from '../observe/metrics.ts';
import {
  renderConfigTemplate,
  renderObjectTemplate,
  renderTextTemplateDocuments,
  type TemplateLimits,
  TemplateRenderer,
} from '../templating/index.ts';
import type { RenderOptions, TemplateEngine } from './templates.ts';

export interface TemplateEngineOptions {
  workers?: number;
  limits?: Partial<TemplateLimits>;
  metrics?: Metrics;
}

function opts(o: RenderOptions) {
  return { seed: o.seed, name: o.name, ...(o.signal ? { signal: o.signal } : {}) };
}

function asObject(v: unknown, where: string): KubeObject {
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    throw Object.assign(new Error(`${where}: a rendered resource must be a mapping`), {
      name: 'TemplateError',
    });
  }
  return v as KubeObject;
}

export function createTemplateEngine(
  options: TemplateEngineOptions = {},
): TemplateEngine & { close(): Promise<void> } {
  const renderer = new TemplateRenderer({
    ...(options.workers !== undefined ? { workers: options.workers } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
  });
  const timed = async <T>(f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    let outcome = 'error';
    try {
      const v = await f();
      outcome = 'success';
      return v;
    } finally {
      options.metrics?.templateRenderDuration.observe({ outcome }, (performance.now() - t0) / 1000);
    }
  };
  return {
    renderMap: (templates, data, o) => timed(() => renderConfigTemplate(renderer, templates, data, opts(o))),
    renderString: (template, data, o) => timed(() => renderer.render(template, data, opts(o))),
    async renderResource(r: ResourceAction, data: unknown, o: RenderOptions) {
      const objects: KubeObject[] = [];
      const warnings: string[] = [];
      // Order: template, templates[], stringTemplate, stringTemplates[] (SPEC.md "Resource").
      if (r.template) {
        const { value, warnings: w } = await timed(() =>
          renderObjectTemplate(renderer, r.template, data, opts(o)),
        );
        objects.push(asObject(value, `${o.name} template`));
        warnings.push(...w);
      }
      if (r.templates?.length) {
        const { value, warnings: w } = await timed(() =>
          renderObjectTemplate(renderer, r.templates, data, opts(o)),
        );
        for (const [i, v] of (value as unknown[]).entries())
          objects.push(asObject(v, `${o.name} templates[${i}]`));
        warnings.push(...w);
      }
      const texts = [...(r.stringTemplate ? [r.stringTemplate] : []), ...(r.stringTemplates ?? [])];
      for (const text of texts) {
        const { documents, warnings: w } = await timed(() =>
          renderTextTemplateDocuments(renderer, text, data, opts(o)),
        );
        objects.push(...(documents as KubeObject[]));
        warnings.push(...w);
      }
      return { objects, warnings };
    },
    close: () => renderer.close(),
  };
}
