import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Signer } from '../../src/crypto/ed25519.js';
import { signManifest, type BundleManifest } from '../../src/bundle/manifest.js';
import { BUNDLE_TARGETS, type BundleTarget } from '../../src/bundle/targets.js';
import { writeTarGz, type TarFileEntry } from '../../src/bundle/tar-write.js';

/** 64 bytes that start like an ELF shared object for `target` (enough for the ELF check). */
export function fakeElf(target: BundleTarget, size = 64): Buffer {
  const b = Buffer.alloc(size, 0);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, target.elfClass, 1, 1]).copy(b);
  b.writeUInt16LE(target.elfMachine, 18);
  return b;
}

/** Ways to spoil a bundle after signing (each must be refused). */
export interface Tamper {
  /** Replace a file's bytes in the tarball only (manifest mismatch). */
  alter?: string;
  /** Leave a listed file out of the tarball. */
  omit?: string;
  /** Add a file the manifest does not list. */
  extra?: string;
  /** Sign with this key instead. */
  signer?: Signer;
  /** Put manifest.json after the files. */
  manifestLast?: boolean;
}

export interface MakeBundleOptions {
  out: string;
  version: string;
  signer: Signer;
  target?: BundleTarget['name'];
  /** Extra files (path → bytes). bin/node, bin/h3lix.js and a `.node` addon of the target are always there. */
  files?: Record<string, Buffer>;
  storeSchema?: number;
  tamper?: Tamper;
}

/** A small signed bundle built the way `buildBundle` lays one out, for verify/install tests. */
export async function makeBundle(o: MakeBundleOptions): Promise<{ file: string; manifest: BundleManifest }> {
  const target = BUNDLE_TARGETS[o.target ?? 'linux-arm64'];
  const root = `h3lix-${o.version}-${target.name}`;
  const files: Record<string, Buffer> = {
    'bin/node': fakeElf(target, 4096),
    'bin/h3lix.js': Buffer.from(`// h3lix ${o.version}\n`),
    'node_modules/addon/build/addon.node': fakeElf(target),
    ...o.files,
  };
  const list = Object.keys(files).sort();
  const manifest: BundleManifest = {
    format: 'h3lix-bundle',
    v: 1,
    name: 'h3lix-edge',
    version: o.version,
    target: target.name,
    node: '24.0.0',
    root,
    fleet: 'test',
    createdAt: 1_700_000_000_000,
    storeSchema: o.storeSchema ?? 1,
    files: list.map((p) => ({ path: p, size: files[p]!.length, sha256: createHash('sha256').update(files[p]!).digest('hex'), mode: p.startsWith('bin/') ? 0o755 : 0o644 })),
  };
  const mBytes = Buffer.from(JSON.stringify(manifest));
  const sig = signManifest(mBytes, o.tamper?.signer ?? o.signer);
  const head: TarFileEntry[] = [
    { path: `${root}/manifest.json`, mode: 0o644, size: mBytes.length, data: mBytes },
    { path: `${root}/manifest.sig`, mode: 0o644, size: sig.length, data: sig },
  ];
  const body: TarFileEntry[] = [];
  for (const p of list) {
    if (p === o.tamper?.omit) continue;
    let data = files[p]!;
    if (p === o.tamper?.alter) {
      data = Buffer.from(data);
      data[data.length - 1] ^= 0xff;
    }
    body.push({ path: `${root}/${p}`, mode: 0o644, size: data.length, data });
  }
  if (o.tamper?.extra) body.push({ path: `${root}/${o.tamper.extra}`, mode: 0o644, size: 3, data: Buffer.from('hi\n') });
  const file = join(o.out, `${root}.tar.gz`);
  await writeTarGz(file, o.tamper?.manifestLast ? [...body, ...head] : [...head, ...body], 1_700_000_000);
  return { file, manifest };
}
