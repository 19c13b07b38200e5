// Writes an OCI image archive (oci-layout, index.json, blobs) holding one uncompressed layer, for
// images that are a single static binary (the node's pause process, CoreDNS, busybox). `ctr images import`
// loads it into the node's containerd without a Docker engine. The layer is made by the `tar`
// command (GNU tar, owner root, fixed times) so the same inputs give the same image digest.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface OciImage {
  /** The full reference CRI looks images up by, e.g. docker.io/local/pause:1. */
  name: string;
  /** Files of the image: a host file copied to an absolute path in the image. */
  files: Array<{ from: string; to: string; mode?: number }>;
  /** Symbolic links: an absolute path in the image pointing at `target` (as written). */
  links?: Array<{ path: string; target: string }>;
  entrypoint: string[];
  env?: string[];
  /** Numeric user (uid:gid), if the image should not run as root. */
  user?: string;
}

function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** Writes `image` as an OCI archive to `out`. */
export function writeOciArchive(image: OciImage, out: string): void {
  const work = mkdtempSync(path.join(tmpdir(), 'oci-'));
  try {
    const root = path.join(work, 'rootfs');
    for (const f of image.files) {
      const dest = path.join(root, f.to);
      mkdirSync(path.dirname(dest), { recursive: true });
      copyFileSync(f.from, dest);
      chmodSync(dest, f.mode ?? 0o755);
    }
    for (const l of image.links ?? []) {
      const at = path.join(root, l.path);
      mkdirSync(path.dirname(at), { recursive: true });
      symlinkSync(l.target, at);
    }
    const layerFile = path.join(work, 'layer.tar');
    execFileSync('tar', [
      '--sort=name',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '--mtime=@0',
      '-C',
      root,
      '-cf',
      layerFile,
      '.',
    ]);
    const layout = path.join(work, 'layout');
    const blobs = path.join(layout, 'blobs', 'sha256');
    mkdirSync(blobs, { recursive: true });
    const blob = (buf: Buffer) => {
      const digest = sha256(buf);
      writeFileSync(path.join(blobs, digest), buf);
      return { digest: `sha256:${digest}`, size: buf.length };
    };
    const layer = blob(readFileSync(layerFile));
    const config = blob(
      Buffer.from(
        JSON.stringify({
          architecture: process.arch === 'arm64' ? 'arm64' : 'amd64',
          os: 'linux',
          config: {
            Entrypoint: image.entrypoint,
            Env: image.env ?? ['PATH=/'],
            ...(image.user ? { User: image.user } : {}),
          },
          rootfs: { type: 'layers', diff_ids: [layer.digest] },
          history: [{ created_by: 'tools/images/oci.ts' }],
        }),
      ),
    );
    const manifest = blob(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
        }),
      ),
    );
    writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    writeFileSync(
      path.join(layout, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            ...manifest,
            annotations: {
              'io.containerd.image.name': image.name,
              'org.opencontainers.image.ref.name': image.name.slice(image.name.lastIndexOf(':') + 1),
            },
          },
        ],
      }),
    );
    mkdirSync(path.dirname(out), { recursive: true });
    execFileSync('tar', [
      '--sort=name',
      '--owner=0',
      '--group=0',
      '--mtime=@0',
      '-C',
      layout,
      '-cf',
      out,
      '.',
    ]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
