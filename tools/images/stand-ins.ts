// The one place where the public images that config/samples names are mapped to the images built
// on this machine (no registry is reachable here): the samples keep naming what users can pull, and
// the node suite (and a user trying the samples on the local node) applies them with these
// stand-ins. Images the project builds itself (the operator, example-apparatus:0.1.0) are built
// under the names the chart and the samples use.
//
//   npm run --silent samples:local | .cluster/bin/kubectl --kubeconfig .cluster/kubeconfig apply --server-side -f -
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../controlplane/build.ts';
import { busyboxImage } from './archives.ts';
import { localImages } from './build.ts';

export const standIns: Record<string, string> = {
  // Debian's PostgreSQL 15 behind the official image's contract (tools/images/postgres/).
  'postgres:17-alpine': localImages.postgres,
  // Debian's busybox-static (1.35).
  'busybox:1.36': busyboxImage,
};

/** The manifests with every stand-in image substituted (`image: <public>` lines only). */
export function withStandIns(yaml: string): string {
  return yaml.replace(
    /^(\s*(?:-\s+)?image:\s*)["']?([^\s"']+)["']?\s*$/gm,
    (line, prefix: string, image: string) => (standIns[image] ? `${prefix}${standIns[image]}` : line),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // The samples (or the files named), as one YAML stream with the stand-ins substituted.
  const dir = path.join(repoRoot, 'config', 'samples');
  const files =
    process.argv.length > 2
      ? process.argv.slice(2)
      : readdirSync(dir)
          .sort()
          .map((f) => path.join(dir, f));
  process.stdout.write(
    files
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => withStandIns(readFileSync(f, 'utf8')).trimEnd())
      .join('\n---\n')
      .concat('\n'),
  );
}
