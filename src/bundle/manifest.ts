import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { H3lixError } from '../errors.js';
import { verify, type Signer } from '../crypto/ed25519.js';
import { BUNDLE_TARGETS } from './targets.js';

/** Names of the two files that describe a bundle; they come first in the tarball. */
export const MANIFEST_FILE = 'manifest.json';
export const SIGNATURE_FILE = 'manifest.sig';
/** Domain separation: a manifest signature can never be replayed as any other fleet signature. */
const SIGN_CONTEXT = Buffer.from('h3lix-bundle-manifest-v1\n', 'utf8');
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** Relative, no `.`/`..` segments, no backslash or control characters. */
export const SAFE_PATH = /^(?!\/)(?!.*(?:^|\/)\.\.?(?:\/|$))(?!.*\/\/)[^\\\u0000-\u001f]+$/;

const fileSchema = z.object({
  path: z.string().max(512).regex(SAFE_PATH, 'unsafe path'),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  mode: z.union([z.literal(0o644), z.literal(0o755)]),
});

export const manifestSchema = z.object({
  format: z.literal('h3lix-bundle'),
  v: z.literal(1),
  name: z.string().min(1).max(64),
  version: z.string().regex(/^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$/),
  target: z.enum(Object.keys(BUNDLE_TARGETS) as [keyof typeof BUNDLE_TARGETS]),
  /** Node.js version of bin/node. */
  node: z.string().max(32),
  /** The directory the tarball unpacks to. */
  root: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/),
  fleet: z.string().max(64),
  createdAt: z.number().int().nonnegative(),
  /** Highest store schema version (src/store/migrations.ts) this build writes; updates check it. */
  storeSchema: z.number().int().nonnegative(),
  files: z.array(fileSchema).max(100_000),
});

export type BundleManifest = z.infer<typeof manifestSchema>;
export type ManifestFile = BundleManifest['files'][number];

/** sha256 of a file, hex. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Every regular file under `dir`, relative paths with `/`, sorted. Symlinks and other types are refused. */
export function listFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const d of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${d.name}` : d.name;
    if (d.isDirectory()) out.push(...listFiles(dir, p));
    else if (d.isFile()) out.push(p);
    else throw new H3lixError('BUNDLE_INVALID', `${p}: not a regular file (bundles hold no links or devices)`);
  }
  return out.sort();
}

/** The manifest file list of a staged bundle directory. */
export async function manifestFiles(dir: string): Promise<ManifestFile[]> {
  const files: ManifestFile[] = [];
  for (const path of listFiles(dir)) {
    if (path === MANIFEST_FILE || path === SIGNATURE_FILE) continue;
    const st = statSync(join(dir, path));
    files.push({ path, size: st.size, sha256: await sha256File(join(dir, path)), mode: st.mode & 0o111 ? 0o755 : 0o644 });
  }
  return files;
}

/** The signature file: Ed25519 by the fleet key over the exact manifest bytes. */
export function signManifest(manifestBytes: Uint8Array, signer: Signer): Uint8Array {
  const sig = signer.sign(Buffer.concat([SIGN_CONTEXT, manifestBytes]));
  const doc = { format: 'h3lix-bundle-sig', v: 1, alg: 'ed25519', key: Buffer.from(signer.publicKey).toString('base64'), sig: Buffer.from(sig).toString('base64') };
  return Buffer.from(JSON.stringify(doc) + '\n', 'utf8');
}

/**
 * Check the signature against the TRUSTED fleet key (never the key named in the file), then parse the
 * manifest. Throws BUNDLE_SIGNATURE or BUNDLE_INVALID with the reason.
 */
export function openManifest(manifestBytes: Uint8Array, sigBytes: Uint8Array, fleetPublicKey: Uint8Array): BundleManifest {
  let doc: { format?: unknown; alg?: unknown; sig?: unknown };
  try {
    doc = JSON.parse(Buffer.from(sigBytes).toString('utf8')) as typeof doc;
  } catch (err) {
    throw new H3lixError('BUNDLE_SIGNATURE', `${SIGNATURE_FILE} is not JSON`, { cause: err });
  }
  if (doc.format !== 'h3lix-bundle-sig' || doc.alg !== 'ed25519' || typeof doc.sig !== 'string') throw new H3lixError('BUNDLE_SIGNATURE', `${SIGNATURE_FILE}: not an ed25519 bundle signature`);
  const sig = new Uint8Array(Buffer.from(doc.sig, 'base64'));
  if (!verify(fleetPublicKey, Buffer.concat([SIGN_CONTEXT, manifestBytes]), sig)) {
    throw new H3lixError('BUNDLE_SIGNATURE', 'manifest signature does not verify against the fleet key (not signed by this fleet, or the manifest was altered)');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(manifestBytes).toString('utf8'));
  } catch (err) {
    throw new H3lixError('BUNDLE_INVALID', `${MANIFEST_FILE} is not JSON`, { cause: err });
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new H3lixError('BUNDLE_INVALID', `${MANIFEST_FILE}: ${issue.path.join('.')}: ${issue.message}`);
  }
  const seen = new Set<string>();
  for (const f of parsed.data.files) {
    if (seen.has(f.path)) throw new H3lixError('BUNDLE_INVALID', `${MANIFEST_FILE}: ${f.path} listed twice`);
    seen.add(f.path);
  }
  return parsed.data;
}
