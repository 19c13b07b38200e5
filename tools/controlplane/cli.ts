// npm run cluster:up [-- --node] | cluster:down | cluster:status | cluster:leftovers
import { binPath, repoRoot } from './build.ts';
import { down, isHealthy, readState, up } from './controlplane.ts';
import { leftovers } from './node.ts';

/** Prints what a stopped plane left on the machine; 1 when anything is left. */
function reportLeftovers(): number {
  const left = leftovers(`${repoRoot}/.cluster`, ['/run/io-docker-']);
  for (const l of left) console.error(`left behind: ${l}`);
  return left.length ? 1 : 0;
}

async function main(cmd: string | undefined, flags: string[]): Promise<number> {
  const unknown = flags.filter((f) => f !== '--node');
  if (unknown.length) {
    console.error(
      `unknown option ${unknown.join(' ')}; usage: cli.ts up [--node] | down | status | leftovers`,
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
      const state = readState();
      if (!(await down())) console.error('no control plane is recorded: nothing to stop');
      // A node touches the machine (interfaces, iptables, mounts): check that nothing stayed.
      return state?.node ? reportLeftovers() : 0;
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
      console.error('usage: cli.ts up [--node] | down | status | leftovers');
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
