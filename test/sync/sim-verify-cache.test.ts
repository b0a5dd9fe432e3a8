import { createRequire } from 'node:module';
import t from 'tap';
import { createSigner, keyPairFromSeed, verify } from '../../src/crypto/ed25519.js';
import { withVerifyCache } from '../../src/sync/sim/verify-cache.js';

const nodeCrypto = createRequire(import.meta.url)('node:crypto') as { verify: unknown };
const original = nodeCrypto.verify;

t.test('the simulator verify cache reuses a check only for byte-identical data, and restores crypto.verify', (t) => {
  const pair = keyPairFromSeed(new Uint8Array(32).fill(9));
  const other = keyPairFromSeed(new Uint8Array(32).fill(8));
  const msg = new Uint8Array([1, 2, 3]);
  const sig = createSigner(pair).sign(msg);
  const stats = { checks: 0, hits: 0 };
  withVerifyCache(() => {
    t.ok(verify(pair.publicKey, msg, sig), 'genuine');
    t.ok(verify(pair.publicKey, msg, sig), 'genuine again (cached)');
    t.notOk(verify(pair.publicKey, new Uint8Array([1, 2, 4]), sig), 'same signature over other bytes: refused, not a hit');
    t.notOk(verify(other.publicKey, msg, sig), 'same bytes and signature under another key: refused');
  }, stats);
  t.same(stats, { checks: 4, hits: 1 }, 'one hit: the identical repeat');
  t.equal(nodeCrypto.verify, original, 'after the run crypto.verify is the original again');
  t.ok(verify(pair.publicKey, msg, sig));
  t.throws(
    () =>
      withVerifyCache(() => {
        t.not(nodeCrypto.verify, original, 'inside: the cached verify is installed');
        throw new Error('boom');
      }),
    /boom/,
  );
  t.equal(nodeCrypto.verify, original, 'restored after a throw too');
  t.end();
});
