// The protocol's conformance cases against the conformance apparatus, in-process: the SDK package
// resolved to its source (vitest.config.ts), over real HTTP on 127.0.0.1. The same cases run against
// the packed package in sdk-package.test.ts.
import type { Apparatus } from '../../../src/apparatus/sdk/index.ts';
import { CONFORMANCE_BASE_PATH, describeApparatusConformance } from '../../support/apparatus-conformance.ts';

const fixture = '../../fixtures/apparatus-conformance/apparatus.mjs';

describeApparatusConformance('the SDK source, in-process', async () => {
  const { createConformanceApparatus } = (await import(fixture)) as {
    createConformanceApparatus: () => Apparatus;
  };
  const server = await createConformanceApparatus().listen(0, '127.0.0.1');
  return { base: `http://127.0.0.1:${server.port}${CONFORMANCE_BASE_PATH}`, stop: () => server.close() };
});
