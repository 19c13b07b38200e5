// The templating the controllers need, as an interface: the sandboxed implementation lives in
// src/templating; tests and the wiring in main.ts decide which one runs.
import type { ResourceAction } from '../api/common.ts';
import type { KubeObject } from '../kube/types.ts';

export interface RenderOptions {
  /** Seeds stable random functions (same owner + template position = same value). */
  seed: string;
  /** Names the template in error messages (e.g. "configTemplate.password of Plug ns/name"). */
  name: string;
  signal?: AbortSignal;
}

export interface TemplateEngine {
  /** Renders every value of a flat map (configTemplate, resultTemplate). */
  renderMap(
    templates: Record<string, string>,
    data: unknown,
    opts: RenderOptions,
  ): Promise<{ values: Record<string, string>; warnings: string[] }>;
  /** Renders one string (a var's templateName, for example). */
  renderString(
    template: string,
    data: unknown,
    opts: RenderOptions,
  ): Promise<{ output: string; warnings: string[] }>;
  /**
   * Renders a resource's templates in order (template, templates[], stringTemplate,
   * stringTemplates[]) into objects; an empty text template yields none.
   */
  renderResource(
    resource: ResourceAction,
    data: unknown,
    opts: RenderOptions,
  ): Promise<{ objects: KubeObject[]; warnings: string[] }>;
}
