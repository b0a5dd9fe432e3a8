import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Signer } from '../crypto/ed25519.js';
import { H3lixError } from '../errors.js';
import { SCHEMA_VERSION } from '../store/migrations.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { copyPackage, productionClosure, pruneNative } from './collect.js';
import { archMismatch, isNativePath, readElfIdent } from './elf.js';
import { BOARD_NODE_FLAGS } from './node-flags.js';
import { MANIFEST_FILE, SIGNATURE_FILE, listFiles, manifestFiles, signManifest, type BundleManifest } from './manifest.js';
import type { BundleTarget } from './targets.js';
import { writeTarGz, type TarFileEntry } from './tar-write.js';

/** Options of {@link buildBundle}. */
export interface BuildBundleOptions {
  /** Project root: package.json, bin/, models/, devices/ and installed node_modules. */
  projectRoot: string;
  /** Compiled JavaScript (`npm run build`). Default: `<projectRoot>/dist`. */
  distDir?: string;
  target: BundleTarget;
  /** Unpacked `node-linux-<arch>` registry package (bin/node inside). */
  nodeDir: string;
  /** Unpacked better-sqlite3 >= 13 (N-API prebuilds per platform), replacing the host's build. */
  sqliteDir: string;
  /** The fleet key: signs the manifest. */
  signer: Signer;
  fleet: string;
  /** Directory the tarball is written to (created). */
  outDir: string;
  clock: Clock;
  logger: Logger;
}

export interface BuiltBundle {
  file: string;
  manifest: BundleManifest;
  bytes: number;
}

/** `bin/h3lix`: runs the bundled CLI on the bundled runtime, wherever the bundle is unpacked. */
const LAUNCHER = `#!/bin/sh
# h3lix launcher: the bundled Node.js runtime running the bundled CLI (no system Node needed),
# with the board's V8 flags (src/bundle/node-flags.ts).
here=$(dirname "$(readlink -f "$0")")
exec "$here/node" ${BOARD_NODE_FLAGS.join(' ')} "$here/h3lix.js" "$@"
`;

/** Optional native packages left out: their loaders fall back to JavaScript (cbor-x without cbor-extract). */
const DROPPED = new Set(['cbor-extract']);

function copyTree(from: string, to: string, keep: (rel: string) => boolean): void {
  cpSync(from, to, { recursive: true, dereference: true, filter: (src) => keep(relative(from, src).split('\\').join('/')) });
}

/**
 * Build the offline bundle: stage the tree, check every native file is ELF for the target, write the
 * sha256 manifest and its fleet signature, and pack `<outDir>/h3lix-<version>-<target>.tar.gz`
 * (written beside and renamed into place, so a half-written tarball never has the final name).
 */
export async function buildBundle(o: BuildBundleOptions): Promise<BuiltBundle> {
  const pkg = JSON.parse(readFileSync(join(o.projectRoot, 'package.json'), 'utf8')) as { name: string; version: string };
  const distDir = o.distDir ?? join(o.projectRoot, 'dist');
  if (!existsSync(join(distDir, 'src', 'cli', 'main.js'))) throw new H3lixError('BUNDLE_INVALID', `${distDir}/src/cli/main.js not found: run \`npm run build\` first`);
  const nodeBin = join(o.nodeDir, 'bin', 'node');
  if (!existsSync(nodeBin)) throw new H3lixError('BUNDLE_INVALID', `${o.nodeDir} holds no bin/node (expected an unpacked ${o.target.nodePackage} package)`);
  const nodeVersion = (JSON.parse(readFileSync(join(o.nodeDir, 'package.json'), 'utf8')) as { version: string }).version;
  const rootName = `h3lix-${pkg.version}-${o.target.name}`;
  mkdirSync(o.outDir, { recursive: true });
  const stage = mkdtempSync(join(o.outDir, '.stage-'));
  const log = o.logger;
  try {
    const root = join(stage, rootName);
    mkdirSync(join(root, 'bin'), { recursive: true });
    copyFileSync(nodeBin, join(root, 'bin', 'node'));
    chmodSync(join(root, 'bin', 'node'), 0o755);
    if (existsSync(join(o.nodeDir, 'LICENSE'))) copyFileSync(join(o.nodeDir, 'LICENSE'), join(root, 'bin', 'node.LICENSE'));
    copyFileSync(join(o.projectRoot, 'bin', 'h3lix.js'), join(root, 'bin', 'h3lix.js'));
    chmodSync(join(root, 'bin', 'h3lix.js'), 0o755);
    writeFileSync(join(root, 'bin', 'h3lix'), LAUNCHER, { mode: 0o755 });
    copyTree(distDir, join(root, 'dist'), (rel) => rel === '' || statSync(join(distDir, rel)).isDirectory() || rel.endsWith('.js'));
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: pkg.name, version: pkg.version, type: 'module', bin: { h3lix: 'bin/h3lix.js' } }, null, 2) + '\n');
    copyTree(join(o.projectRoot, 'models'), join(root, 'models'), (rel) => !rel.endsWith('.ts'));
    copyTree(join(o.projectRoot, 'devices'), join(root, 'devices'), () => true);
    const closure = productionClosure(o.projectRoot, { replace: new Map([['better-sqlite3', o.sqliteDir]]), drop: DROPPED });
    for (const p of closure) {
      copyPackage(p, root);
      pruneNative(p, root, o.target);
    }
    log.info({ packages: closure.length, target: o.target.name }, 'bundle: production node_modules staged');
    checkNativeFiles(root, o.target);
    const manifest: BundleManifest = {
      format: 'h3lix-bundle',
      v: 1,
      name: pkg.name,
      version: pkg.version,
      target: o.target.name,
      node: nodeVersion,
      root: rootName,
      fleet: o.fleet,
      createdAt: o.clock.now(),
      storeSchema: SCHEMA_VERSION,
      files: await manifestFiles(root),
    };
    const manifestBytes = Buffer.from(JSON.stringify(manifest, null, 1) + '\n', 'utf8');
    const sig = signManifest(manifestBytes, o.signer);
    const entries: TarFileEntry[] = [
      { path: `${rootName}/${MANIFEST_FILE}`, mode: 0o644, size: manifestBytes.length, data: manifestBytes },
      { path: `${rootName}/${SIGNATURE_FILE}`, mode: 0o644, size: sig.length, data: sig },
      ...manifest.files.map((f) => ({ path: `${rootName}/${f.path}`, mode: f.mode, size: f.size, file: join(root, f.path) })),
    ];
    const file = join(o.outDir, `${rootName}.tar.gz`);
    const tmp = `${file}.partial`;
    await writeTarGz(tmp, entries, Math.floor(manifest.createdAt / 1000));
    renameSync(tmp, file);
    const bytes = statSync(file).size;
    log.info({ file, bytes, files: manifest.files.length }, 'bundle: written');
    return { file, manifest, bytes };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** Every ELF file (and every `.node`, `.so`, `bin/node`) must be native code of the target. */
export function checkNativeFiles(root: string, target: BundleTarget): void {
  for (const rel of listFiles(root)) {
    const why = archMismatch(readElfIdent(join(root, rel)), target, isNativePath(rel));
    if (why) throw new H3lixError('BUNDLE_ARCH', `${rel}: ${why}`, { detail: { path: rel, target: target.name } });
  }
}
