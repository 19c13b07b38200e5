// Where the images built on this machine are kept (.cache/images/<name>.tar, each with a stamp of
// its inputs), and the two the node itself needs, made without a Docker engine from the static
// binaries of the control-plane build. tools/images/build.ts builds the others with Docker.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { binPath, repoRoot } from '../controlplane/build.ts';
import { infraImages } from '../controlplane/node.ts';
import { type OciImage, writeOciArchive } from './oci.ts';

export function imagesDir(): string {
  return process.env.CLUSTER_IMAGES_DIR
    ? path.resolve(process.env.CLUSTER_IMAGES_DIR)
    : path.join(repoRoot, '.cache', 'images');
}

/** File name of an image's archive: the reference with every character unsafe in a path replaced. */
export function archiveOf(image: string): string {
  return path.join(imagesDir(), `${image.replace(/[^a-zA-Z0-9_.-]/g, '_')}.tar`);
}

/** True when the archive exists and was made from inputs with this hash. */
export function archiveCurrent(image: string, hash: string): boolean {
  const stamp = `${archiveOf(image)}.stamp`;
  return existsSync(archiveOf(image)) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === hash;
}

export function stampArchive(image: string, hash: string): void {
  writeFileSync(`${archiveOf(image)}.stamp`, `${hash}\n`);
}

export function hashFiles(files: string[], extra = ''): string {
  const h = createHash('sha256').update(extra);
  for (const f of files) h.update(f).update(readFileSync(f));
  return h.digest('hex');
}

/**
 * Busybox from Debian's busybox-static, standing in for the public busybox image the DeferredResource
 * sample names (tools/images/stand-ins.ts maps one to the other): every applet linked in /bin.
 */
export const busyboxImage = 'docker.io/local/busybox:1.35';
const busyboxBinary = '/bin/busybox';

function busyboxSpec(): OciImage | undefined {
  if (!existsSync(busyboxBinary)) return undefined;
  const applets = execFileSync(busyboxBinary, ['--list'], { encoding: 'utf8' })
    .split('\n')
    .map((a) => a.trim())
    .filter((a) => a && a !== 'busybox');
  return {
    name: busyboxImage,
    files: [{ from: busyboxBinary, to: '/bin/busybox' }],
    links: applets.map((a) => ({ path: `/bin/${a}`, target: 'busybox' })),
    entrypoint: ['/bin/sh'],
    env: ['PATH=/bin'],
  };
}

/** The pause, CoreDNS and busybox images, written as OCI archives when missing or stale. */
export function ensureInfraImages(): string[] {
  mkdirSync(imagesDir(), { recursive: true });
  const busybox = busyboxSpec();
  const specs: OciImage[] = [
    {
      name: infraImages.pause,
      files: [{ from: binPath('pause'), to: '/pause' }],
      entrypoint: ['/pause'],
      user: '65535:65535',
    },
    {
      name: infraImages.coredns,
      files: [{ from: binPath('coredns'), to: '/coredns' }],
      entrypoint: ['/coredns'],
    },
    ...(busybox ? [busybox] : []),
  ];
  for (const s of specs) {
    const hash = hashFiles(
      s.files.map((f) => f.from),
      JSON.stringify(s),
    );
    if (archiveCurrent(s.name, hash)) continue;
    writeOciArchive(s, archiveOf(s.name));
    stampArchive(s.name, hash);
  }
  return specs.map((s) => archiveOf(s.name));
}

/** Every image archive built on this machine (infrastructure first). */
export function imageArchives(): string[] {
  const infra = ensureInfraImages();
  const others = readdirSync(imagesDir())
    .filter((f) => f.endsWith('.tar'))
    .map((f) => path.join(imagesDir(), f))
    .filter((f) => !infra.includes(f))
    .sort();
  return [...infra, ...others];
}
