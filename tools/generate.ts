// npm run generate: writes the CRDs derived from src/api to config/crds (and the Helm chart's crds/).
// `--check` only compares and exits 1 on drift.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { allCrds } from '../src/api/crd.ts';
import { apiReference } from '../src/api/reference.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const crdDirs = [
  path.join(root, 'config', 'crds'),
  path.join(root, 'charts', 'integration-operator', 'crds'),
];

export function renderedCrds(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [file, obj] of Object.entries(allCrds())) {
    out[file] =
      `# Generated from src/api by \`npm run generate\`. Do not edit.\n${stringify(obj, { lineWidth: 0 })}`;
  }
  return out;
}

export const apiReferencePath = path.join(root, 'docs', 'api-reference.md');

if (import.meta.url === `file://${process.argv[1]}`) {
  const check = process.argv.includes('--check');
  let drift = false;
  const ref = apiReference();
  const currentRef = existsSync(apiReferencePath) ? readFileSync(apiReferencePath, 'utf8') : undefined;
  if (currentRef !== ref) {
    if (check) {
      console.error('docs/api-reference.md is out of date: run npm run generate');
      drift = true;
    } else {
      writeFileSync(apiReferencePath, ref);
      console.log('wrote docs/api-reference.md');
    }
  }
  for (const dir of crdDirs) {
    if (!check) mkdirSync(dir, { recursive: true });
    for (const [file, text] of Object.entries(renderedCrds())) {
      const target = path.join(dir, file);
      const current = existsSync(target) ? readFileSync(target, 'utf8') : undefined;
      if (current === text) continue;
      if (check) {
        console.error(`${path.relative(root, target)} is out of date: run npm run generate`);
        drift = true;
      } else {
        writeFileSync(target, text);
        console.log(`wrote ${path.relative(root, target)}`);
      }
    }
  }
  process.exit(drift ? 1 : 0);
}
