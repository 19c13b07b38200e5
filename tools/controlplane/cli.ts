// npm run cluster:up [-- --node] | cluster:down | cluster:status | cluster:leftovers

import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { binPath, repoRoot } from './build.ts';
import { down, isHealthy, readState, up } from './controlplane.ts';
import { ensureNodePackages, leftovers, mountsUnder, nodeUnsupported, unmountStaleDocker } from './node.ts';

/** The data root of the image build's own dockerd (tools/images/build.ts). */
const dockerDataRoot = path.join(repoRoot, '.cache', 'docker');

/** Prints what a stopped plane (or an image build) left on the machine; 1 when anything is left. */
function reportLeftovers(): number {
  const left = [
    ...leftovers(`${repoRoot}/.cluster`, ['/run/io-docker-']),
    ...mountsUnder(dockerDataRoot).map((m) => `mount ${m} (the image build's dockerd)`),
  ];
  for (const l of left) console.error(`left behind: ${l}`);
  return left.length ? 1 : 0;
}

async function main(cmd: string | undefined, flags: string[]): Promise<number> {
  const unknown = flags.filter((f) => f !== '--node' && f !== '--all');
  if (unknown.length) {
    console.error(
      `unknown option ${unknown.join(' ')}; usage: cli.ts up [--node] | down [--all] | status | leftovers | packages`,
    );
    return 2;
  }
  switch (cmd) {
    case 'up': {
      const { state, reused } = await up({ node: flags.includes('--node') });
      if (reused) console.error(`a control plane is already running at ${state.server}: reusing it`);
      console.log(`kubeconfig: ${state.kubeconfig}`);
      console.log(`try: ${binPath('kubectl')} --kubeconfig ${state.kubeconfig} get ns`);
      return 0;
    }
    case 'down': {
      // --all: every plane recorded under .cluster/ (the default one, the node suite's, ...).
      const root = path.join(repoRoot, '.cluster');
      const dirs = flags.includes('--all')
        ? (existsSync(root) ? readdirSync(root) : [])
            .map((d) => path.join(root, d))
            .filter((d) => existsSync(path.join(d, 'state.json')))
        : [undefined];
      let node = false;
      let stopped = 0;
      for (const stateDir of dirs) {
        node ||= Boolean(readState(stateDir)?.node);
        if (await down(stateDir ? { stateDir } : {})) stopped++;
      }
      if (!stopped) console.error('no control plane is recorded: nothing to stop');
      for (const m of unmountStaleDocker(dockerDataRoot))
        console.error(`unmounted ${m} (a killed image build's)`);
      // A node touches the machine (interfaces, iptables, mounts): check that nothing stayed.
      return node || flags.includes('--all') ? reportLeftovers() : 0;
    }
    case 'packages': {
      const why = nodeUnsupported();
      if (why) {
        console.error(why);
        return 1;
      }
      ensureNodePackages((s) => console.error(s));
      console.error("the node's Debian packages are installed");
      return 0;
    }
    case 'leftovers':
      return reportLeftovers();
    case 'status': {
      const state = readState();
      if (!state) {
        console.log('not running');
        return 1;
      }
      const ok = await isHealthy(state);
      console.log(
        `${ok ? 'running' : 'recorded but not healthy'}: ${state.server}${state.node ? ' with a node' : ''} (kubeconfig ${state.kubeconfig})`,
      );
      return ok ? 0 : 1;
    }
    default:
      console.error('usage: cli.ts up [--node] | down [--all] | status | leftovers | packages');
      return 2;
  }
}

main(process.argv[2], process.argv.slice(3)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
