// The SDK's package entry point (package.json "exports": "./apparatus-sdk").

import * as viaPackage from 'integration-operator/apparatus-sdk';
import { describe, expect, it } from 'vitest';
import * as direct from '../../../src/apparatus/sdk/index.ts';

describe('integration-operator/apparatus-sdk', () => {
  it('resolves to the SDK module', () => {
    expect(viaPackage.createApparatus).toBe(direct.createApparatus);
    expect(viaPackage.ApparatusHttpError).toBe(direct.ApparatusHttpError);
  });
});
