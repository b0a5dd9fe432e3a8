/**
 * Resolve a configured model directory (`instance.modelDir`). Absolute paths are used as given; a
 * relative path is tried against the working directory first, then against the h3lix-edge package
 * root (where the committed `models/` ship), so the default "models/sensor-encoder" works both from a
 * checkout and from an installed package (compiled code runs from dist/, two levels deeper).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The directory holding h3lix-edge's package.json, found by walking up from this module. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'h3lix-edge') return dir;
      } catch {
        // not ours, keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

export function resolveModelDir(dir: string, cwd: string = process.cwd()): string {
  if (isAbsolute(dir)) return dir;
  const local = resolve(cwd, dir);
  if (existsSync(join(local, 'manifest.json'))) return local;
  return resolve(packageRoot(), dir);
}
