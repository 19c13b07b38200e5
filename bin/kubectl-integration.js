#!/usr/bin/env node
// kubectl-integration: the kubectl plugin of the integration operator (`kubectl integration ...`,
// found on PATH by kubectl; `npx kubectl-integration ...` in a checkout; `npm install -g .` puts it
// on PATH). The plugin is TypeScript (src/cli/), run with Node's type stripping like the operator.
// This launcher is plain JavaScript so that any Node runs it: when this Node strips types (22.18 and
// later) and the sources are not under node_modules (where Node refuses to strip them), it imports
// the plugin; otherwise it runs the plugin with the Node 24 the project pins (node_modules/.bin/node,
// installed by `npm ci`).
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.dirname(path.dirname(realpathSync(fileURLToPath(import.meta.url))));
const entry = path.join(root, 'src', 'cli', 'kubectl-integration.ts');
const underNodeModules = root.split(path.sep).includes('node_modules');

if (process.features.typescript && !underNodeModules) {
  await import(pathToFileURL(entry).href);
} else {
  const pinned = path.join(root, 'node_modules', '.bin', 'node');
  if (!existsSync(pinned)) {
    process.stderr.write(
      `kubectl-integration: needs Node.js 22.18 or later (this is ${process.version}), or \`npm ci\` in ${root} (it installs the pinned Node 24)\n`,
    );
    process.exit(1);
  }
  const run = spawnSync(pinned, [entry, ...process.argv.slice(2)], { stdio: 'inherit' });
  if (run.error) {
    process.stderr.write(`kubectl-integration: could not run ${pinned}: ${run.error.message}\n`);
    process.exit(1);
  }
  if (run.signal) process.kill(process.pid, run.signal);
  process.exit(run.status ?? 1);
}
