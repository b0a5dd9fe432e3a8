import { createRequire } from 'node:module';

/** The package version: the first package.json above this module (src/util, dist/src/util or a bundle). */
export const H3LIX_VERSION: string = packageVersion();

function packageVersion(): string {
  const req = createRequire(import.meta.url);
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = req(rel) as { name?: string; version?: string };
      if (pkg.name === 'h3lix-edge' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not at this level
    }
  }
  return '0.0.0';
}
