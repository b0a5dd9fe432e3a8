import { createRequire, syncBuiltinESMExports } from 'node:module';

type VerifyFn = (algorithm: null, data: NodeJS.ArrayBufferView, key: unknown, signature: NodeJS.ArrayBufferView) => boolean;

interface Entry {
  key: unknown;
  data: Buffer;
  ok: boolean;
}

const require = createRequire(import.meta.url);
const nodeCrypto = require('node:crypto') as { verify: VerifyFn };

const view = (b: NodeJS.ArrayBufferView) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/**
 * Runs `fn` with Ed25519 verification memoised across the simulated boards of one process: N boards
 * receiving the same PUBLISH verify the same (key, bytes, signature), and the simulator is one process,
 * so the result of the first check is reused. A hit needs the same key object, the same signature and
 * byte-identical signed data (compared, not hashed), so a forged message never hits a genuine entry.
 * Each board still decodes, checks replay windows and merges on its own. Restores `crypto.verify`
 * afterwards (also on a throw). `stats` counts checks and hits.
 */
export function withVerifyCache<T>(fn: () => T, stats: { checks: number; hits: number } = { checks: 0, hits: 0 }, maxEntries = 200_000): T {
  const original = nodeCrypto.verify;
  const cache = new Map<string, Entry>();
  const cached: VerifyFn = (algorithm, data, key, signature) => {
    stats.checks++;
    const id = view(signature).toString('base64');
    const hit = cache.get(id);
    const bytes = view(data);
    if (hit && hit.key === key && hit.data.equals(bytes)) {
      stats.hits++;
      return hit.ok;
    }
    const ok = original(algorithm, data, key, signature);
    if (cache.size >= maxEntries) cache.clear();
    cache.set(id, { key, data: Buffer.from(bytes), ok });
    return ok;
  };
  nodeCrypto.verify = cached;
  syncBuiltinESMExports();
  try {
    return fn();
  } finally {
    nodeCrypto.verify = original;
    syncBuiltinESMExports();
  }
}
