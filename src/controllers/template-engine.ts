// The TemplateEngine the controllers use, over the sandboxed renderer of src/templating.
// (Until that lands: templates without tags only.)
import { parseAllDocuments } from 'yaml';
import type { ResourceAction } from '../api/common.ts';
import type { KubeObject } from '../kube/types.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { RenderOptions, TemplateEngine } from './templates.ts';

export interface TemplateEngineOptions {
  workers?: number;
  limits?: { timeoutMs?: number; memoryBytes?: number };
  metrics?: Metrics;
}

function hasTags(s: string): boolean {
  return s.includes('{%');
}

function noTemplating(name: string): Error {
  return Object.assign(new Error(`${name}: templating is not available in this build`), {
    name: 'TemplateError',
  });
}

export function createTemplateEngine(
  _opts: TemplateEngineOptions = {},
): TemplateEngine & { close(): Promise<void> } {
  return {
    async renderMap(templates: Record<string, string>, _data: unknown, opts: RenderOptions) {
      if (Object.values(templates).some(hasTags)) throw noTemplating(opts.name);
      return { values: { ...templates }, warnings: [] };
    },
    async renderString(template: string, _data: unknown, opts: RenderOptions) {
      if (hasTags(template)) throw noTemplating(opts.name);
      return { output: template, warnings: [] };
    },
    async renderResource(r: ResourceAction, _data: unknown, opts: RenderOptions) {
      const objects: KubeObject[] = [];
      for (const t of [...(r.template ? [r.template] : []), ...(r.templates ?? [])]) {
        if (JSON.stringify(t).includes('{%')) throw noTemplating(opts.name);
        objects.push(structuredClone(t) as KubeObject);
      }
      for (const s of [...(r.stringTemplate ? [r.stringTemplate] : []), ...(r.stringTemplates ?? [])]) {
        if (hasTags(s)) throw noTemplating(opts.name);
        for (const d of parseAllDocuments(s)) {
          const v = d.toJS() as unknown;
          if (v && typeof v === 'object') objects.push(v as KubeObject);
        }
      }
      return { objects, warnings: [] };
    },
    async close() {},
  };
}
