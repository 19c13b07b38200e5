// The one place where the public images that config/samples names are mapped to the images built
// on this machine (no registry is reachable here): the samples keep naming what users can pull, and
// the node suite applies them with these stand-ins. Images the project builds itself (the operator,
// example-apparatus:0.1.0) are built under the names the chart and the samples use.
import { busyboxImage } from '../../../tools/images/archives.ts';
import { localImages } from '../../../tools/images/build.ts';

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
