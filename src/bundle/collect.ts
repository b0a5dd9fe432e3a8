import { cpSync, existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { H3lixError } from '../errors.js';
import type { BundleTarget } from './targets.js';

/** One package of the production closure: where it is now, where it goes in the bundle. */
export interface ClosurePackage {
  name: string;
  version: string;
  /** Absolute source directory. */
  dir: string;
  /** Destination relative to the bundle root, e.g. `node_modules/pino` or `node_modules/a/node_modules/b`. */
  dest: string;
  /** Replaced by another build of the same package (e.g. better-sqlite3 with N-API prebuilds). */
  replaced: boolean;
}

/** Options of {@link productionClosure}. */
export interface ClosureOptions {
  /** Packages to take from another directory (an unpacked registry tarball); their dependencies are not followed. */
  replace?: ReadonlyMap<string, string>;
  /** Optional packages to leave out (their loaders fall back, e.g. cbor-x without cbor-extract). */
  drop?: ReadonlySet<string>;
}

interface PkgJson {
  name?: string;
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

function readPkg(dir: string): PkgJson {
  try {
    return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PkgJson;
  } catch (err) {
    throw new H3lixError('BUNDLE_INVALID', `${dir}/package.json: ${(err as Error).message}`, { cause: err });
  }
}

/** Node's lookup: `from/node_modules/name`, then each parent's, up to the project root. */
function resolvePackage(root: string, from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root) return undefined;
    const up = dirname(dir);
    dir = up.endsWith('node_modules') ? dirname(up) : up;
    if (!dir.startsWith(root)) return undefined;
  }
}

/**
 * The packages `dependencies` (and present `optionalDependencies`) of `root/package.json` need at run
 * time, walked through `root/node_modules` as Node would resolve them. devDependencies never enter.
 * A missing required dependency is an error naming who needs it.
 */
export function productionClosure(root: string, opts: ClosureOptions = {}): ClosurePackage[] {
  const out = new Map<string, ClosurePackage>();
  const queue: { from: string; deps: Record<string, string>; optional: Record<string, string> }[] = [];
  const rootPkg = readPkg(root);
  queue.push({ from: root, deps: rootPkg.dependencies ?? {}, optional: rootPkg.optionalDependencies ?? {} });
  while (queue.length > 0) {
    const { from, deps, optional } = queue.shift()!;
    for (const name of [...Object.keys(deps), ...Object.keys(optional)]) {
      if (opts.drop?.has(name)) continue;
      const dir = resolvePackage(root, from, name);
      if (!dir) {
        if (name in optional) continue;
        throw new H3lixError('BUNDLE_INVALID', `${relative(root, from) || 'package.json'} needs ${name}, which is not installed (run npm install first)`);
      }
      if (out.has(dir)) continue;
      const replacement = opts.replace?.get(name);
      const pkg = readPkg(replacement ?? dir);
      out.set(dir, { name, version: pkg.version ?? '0.0.0', dir: replacement ?? dir, dest: relative(root, dir).split('\\').join('/'), replaced: replacement !== undefined });
      if (!replacement) queue.push({ from: dir, deps: pkg.dependencies ?? {}, optional: pkg.optionalDependencies ?? {} });
    }
  }
  return [...out.values()].sort((a, b) => a.dest.localeCompare(b.dest));
}

/** Copy one package (without its nested node_modules or .bin links; symlinks dereferenced). */
export function copyPackage(pkg: ClosurePackage, bundleRoot: string): void {
  const dest = join(bundleRoot, pkg.dest);
  cpSync(pkg.dir, dest, {
    recursive: true,
    dereference: true,
    filter: (src) => {
      const rel = relative(pkg.dir, src).split('\\').join('/');
      if (rel === '') return true;
      if (/(^|\/)node_modules(\/|$)/.test(rel)) return false;
      // Sources, type declarations, source maps and docs are not needed to run.
      return !/\.(ts|mts|cts|map)$/.test(rel) && !/(^|\/)(README|CHANGELOG|HISTORY)[^/]*$/i.test(rel);
    },
  });
}

function keepOnly(dir: string, keep: (name: string) => boolean): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) if (!keep(name)) rmSync(join(dir, name), { recursive: true, force: true });
}

/**
 * Leave only the target's native binaries in the packages that ship several platforms: onnxruntime-node
 * (`bin/napi-v*\/<os>/<arch>`), @serialport/bindings-cpp (`prebuilds/<os>-<arch>`, no host `build/`),
 * better-sqlite3 13 (`prebuilds/<os>-<arch>.node`, no sources). Whatever else native is left is checked
 * by the ELF pass and fails the build if it is of another architecture.
 */
export function pruneNative(pkg: ClosurePackage, bundleRoot: string, target: BundleTarget): void {
  const dir = join(bundleRoot, pkg.dest);
  const platform = `linux-${target.arch}`;
  if (pkg.name === 'onnxruntime-node') {
    for (const napi of existsSync(join(dir, 'bin')) ? readdirSync(join(dir, 'bin')) : []) {
      keepOnly(join(dir, 'bin', napi), (os) => os === 'linux');
      keepOnly(join(dir, 'bin', napi, 'linux'), (arch) => arch === target.arch);
    }
  } else if (pkg.name === '@serialport/bindings-cpp') {
    keepOnly(join(dir, 'prebuilds'), (p) => p === platform);
    rmSync(join(dir, 'build'), { recursive: true, force: true });
  } else if (pkg.name === 'better-sqlite3' && pkg.replaced) {
    keepOnly(join(dir, 'prebuilds'), (p) => p === `${platform}.node`);
    for (const sub of ['deps', 'src', 'build', 'binding.gyp']) rmSync(join(dir, sub), { recursive: true, force: true });
  }
}
