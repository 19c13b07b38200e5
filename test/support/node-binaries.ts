// The Node.js binaries a test can run a user's command with: the one the project pins
// (node_modules/.bin/node, Node 24) and the machine's own (the first `node` on PATH outside this
// repository; Node 20 on CI), to show that what users run works on both.
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './operator.ts';

export const pinnedNode = path.join(repoRoot, 'node_modules', '.bin', 'node');

/** PATH without the repository's folders (npm scripts put node_modules/.bin first): the user's tools. */
export const userPath = (process.env.PATH ?? '')
  .split(path.delimiter)
  .filter((dir) => dir && !path.resolve(dir).startsWith(repoRoot))
  .join(path.delimiter);

export function nodeVersion(bin: string): string {
  return execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
}

/** The first `node` on the user's PATH, when it is another major version than the pinned one. */
export function systemNode(): { bin: string; version: string } | undefined {
  for (const dir of userPath.split(path.delimiter)) {
    const bin = path.join(dir, 'node');
    try {
      accessSync(bin, constants.X_OK);
    } catch {
      continue;
    }
    const version = nodeVersion(bin);
    return version.split('.')[0] === nodeVersion(pinnedNode).split('.')[0] ? undefined : { bin, version };
  }
  return undefined;
}

/** The pinned Node, and the system's when it is another major version. */
export function nodesToTest(): { name: string; bin: string }[] {
  const system = systemNode();
  return [
    { name: 'Node 24 (the pinned one)', bin: pinnedNode },
    ...(system ? [{ name: `the system's Node ${system.version}`, bin: system.bin }] : []),
  ];
}
