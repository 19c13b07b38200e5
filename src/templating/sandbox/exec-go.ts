// Entry module of a render context with at least one Go-dialect template.
import { renderGoTemplate } from './go-dialect.ts';
import { createRunner } from './runner.ts';

export const run = createRunner(renderGoTemplate);
