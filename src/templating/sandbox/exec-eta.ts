// Entry module of a render context that only has eta templates (the Go engine is not even parsed).
import { createRunner } from './runner.ts';

export const run = createRunner(null);
