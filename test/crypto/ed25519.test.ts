import t from 'tap';
import nacl from 'tweetnacl';
import { createSigner, generateKeyPair, keyPairFromSeed, verify } from '../../src/crypto/ed25519.js';

t.test('node:crypto and tweetnacl produce identical keys and signatures, both directions', async (t) => {
  for (let i = 0; i < 20; i++) {
    const pair = generateKeyPair();
    const naclPair = nacl.sign.keyPair.fromSeed(pair.seed);
    t.same(Buffer.from(naclPair.publicKey), Buffer.from(pair.publicKey), 'same public key from seed');
    const msg = nacl.randomBytes(1 + i * 37);
    const ours = createSigner(pair).sign(msg);
    const theirs = nacl.sign.detached(msg, naclPair.secretKey);
    t.same(Buffer.from(ours), Buffer.from(theirs), 'identical signatures');
    t.ok(nacl.sign.detached.verify(msg, ours, pair.publicKey), 'tweetnacl verifies node:crypto');
    t.ok(verify(pair.publicKey, msg, theirs), 'node:crypto verifies tweetnacl');
    const bad = Uint8Array.from(theirs);
    bad[i % 64]! ^= 1;
    t.notOk(verify(pair.publicKey, msg, bad), 'flipped bit rejected');
  }
});

t.test('malformed keys and signatures are rejected, not thrown', async (t) => {
  const pair = generateKeyPair();
  t.notOk(verify(new Uint8Array(31), new Uint8Array(1), new Uint8Array(64)));
  t.notOk(verify(pair.publicKey, new Uint8Array(1), new Uint8Array(63)));
  t.throws(() => keyPairFromSeed(new Uint8Array(5)), RangeError);
});

import { nodeIdFromPublicKey, nodeIdMatches } from '../../src/crypto/node-id.js';

t.test('self-certifying node ids', async (t) => {
  const a = generateKeyPair();
  const b = generateKeyPair();
  const id = nodeIdFromPublicKey(a.publicKey);
  t.match(id, /^n[a-z2-7]{16}$/);
  t.ok(nodeIdMatches(id, a.publicKey));
  t.notOk(nodeIdMatches(id, b.publicKey));
  t.equal(nodeIdFromPublicKey(a.publicKey), id, 'deterministic');
});
