import { createHash } from 'node:crypto';
import { H3lixError } from '../errors.js';
import { ELF_IDENT_BYTES, archMismatch, elfIdent, isNativePath } from './elf.js';
import { MANIFEST_FILE, MAX_MANIFEST_BYTES, SIGNATURE_FILE, openManifest, type BundleManifest, type ManifestFile } from './manifest.js';
import { readTarGz, type TarEntrySink } from './tar-read.js';
import { BUNDLE_TARGETS, type BundleTarget } from './targets.js';

/** Options of {@link scanBundle}. */
export interface ScanOptions {
  /** The trusted fleet public key (from the board's fleet.json), never the key the bundle names. */
  fleetPublicKey: Uint8Array;
  /** Refuse a bundle for another platform. Default: any target. */
  target?: BundleTarget;
  /**
   * Receives each verified file's bytes as they stream (extraction). The whole entry is hashed while it
   * streams and `end` is only called once its sha256 matched the manifest. Default: verify only.
   */
  open?: (file: ManifestFile) => TarEntrySink | Promise<TarEntrySink>;
}

function collect(limit: number, what: string, done: (bytes: Buffer) => void): TarEntrySink {
  const parts: Buffer[] = [];
  let n = 0;
  return {
    data: (c) => {
      n += c.length;
      if (n > limit) throw new H3lixError('BUNDLE_INVALID', `${what} is larger than ${limit} bytes`);
      parts.push(Buffer.from(c));
    },
    end: () => done(Buffer.concat(parts)),
  };
}

/**
 * Read a bundle tarball once, checking, in order: `manifest.json` and `manifest.sig` come first and the
 * signature verifies against the trusted fleet key; the manifest is well formed and for the target; then
 * every entry is a regular file listed in the manifest, seen once, with the listed size and sha256, and
 * native files are ELF for the target; at the end no listed file is missing. Any failure throws
 * BUNDLE_SIGNATURE, BUNDLE_ARCH or BUNDLE_INVALID naming the file. Without `open`, nothing is written.
 */
export async function scanBundle(file: string, o: ScanOptions): Promise<BundleManifest> {
  let manifestBytes: Buffer | undefined;
  let manifest: BundleManifest | undefined;
  let rootName: string | undefined;
  let index = 0;
  const byPath = new Map<string, ManifestFile>();
  const seen = new Set<string>();
  await readTarGz(file, async (h) => {
    const i = index++;
    const slash = h.path.indexOf('/');
    const top = slash === -1 ? h.path : h.path.slice(0, slash);
    const rel = slash === -1 ? '' : h.path.slice(slash + 1).replace(/\/$/, '');
    if (i === 0) rootName = top;
    if (top !== rootName) throw new H3lixError('BUNDLE_INVALID', `${h.path}: outside the bundle directory ${rootName}/`);
    if (i === 0 || i === 1) {
      const want = i === 0 ? MANIFEST_FILE : SIGNATURE_FILE;
      if (rel !== want || h.type !== 'file') throw new H3lixError('BUNDLE_INVALID', `${want} must be entry ${i + 1} of the tarball, found ${h.path}`);
      if (i === 0) return collect(MAX_MANIFEST_BYTES, MANIFEST_FILE, (b) => (manifestBytes = b));
      return collect(4096, SIGNATURE_FILE, (sig) => {
        manifest = openManifest(manifestBytes!, sig, o.fleetPublicKey);
        if (manifest.root !== rootName) throw new H3lixError('BUNDLE_INVALID', `manifest root ${manifest.root} differs from the tarball's directory ${rootName}`);
        if (o.target && manifest.target !== o.target.name) throw new H3lixError('BUNDLE_ARCH', `bundle is for ${manifest.target}, this board is ${o.target.name}`);
        for (const f of manifest.files) byPath.set(f.path, f);
      });
    }
    const m = manifest!;
    if (h.type === 'dir') return { data: () => undefined, end: () => undefined };
    if (h.type !== 'file') throw new H3lixError('BUNDLE_INVALID', `${rel}: entry type '${h.typeflag}' (bundles hold regular files only)`);
    const entry = byPath.get(rel);
    if (!entry) throw new H3lixError('BUNDLE_INVALID', `${rel}: in the tarball but not in the signed manifest`);
    if (seen.has(rel)) throw new H3lixError('BUNDLE_INVALID', `${rel}: appears twice in the tarball`);
    seen.add(rel);
    if (h.size !== entry.size) throw new H3lixError('BUNDLE_INVALID', `${rel}: ${h.size} bytes, the manifest says ${entry.size}`);
    const target = BUNDLE_TARGETS[m.target];
    const hash = createHash('sha256');
    const sink = o.open ? await o.open(entry) : undefined;
    let head = Buffer.alloc(0);
    return {
      data: async (c) => {
        hash.update(c);
        if (head.length < ELF_IDENT_BYTES) head = Buffer.concat([head, c.subarray(0, ELF_IDENT_BYTES - head.length)]);
        await sink?.data(c);
      },
      end: async () => {
        if (hash.digest('hex') !== entry.sha256) throw new H3lixError('BUNDLE_INVALID', `${rel}: sha256 differs from the manifest (altered or corrupt)`);
        const why = archMismatch(elfIdent(head), target, isNativePath(rel));
        if (why) throw new H3lixError('BUNDLE_ARCH', `${rel}: ${why}`);
        await sink?.end();
      },
    };
  });
  if (!manifest) throw new H3lixError('BUNDLE_INVALID', `${file}: no signed manifest`);
  const missing = manifest.files.filter((f) => !seen.has(f.path)).map((f) => f.path);
  if (missing.length > 0) throw new H3lixError('BUNDLE_INVALID', `${missing.length} file(s) of the manifest missing from the tarball: ${missing.slice(0, 5).join(', ')}`, { detail: { missing } });
  return manifest;
}
