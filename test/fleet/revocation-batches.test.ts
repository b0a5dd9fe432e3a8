import t from 'tap';
import { createSigner, generateKeyPair } from '../../src/crypto/ed25519.js';
import { signDoc } from '../../src/fleet/signed-doc.js';
import { cborEncode } from '../../src/fleet/codec.js';
import { REVOCATION_TYPE, RevocationSet, issueRevocationList, verifyRevocationList } from '../../src/fleet/revocation.js';

const pair = generateKeyPair();
const fleet = createSigner(pair);
const now = Date.UTC(2026, 11, 2);

t.test('revocation list with batches: compatible with the earlier format, monotonic, validated', async (t) => {
  const revoked = [{ nodeId: 'nbad', at: now, reason: 'stolen' }];
  // The format before issue 9, signed the way the earlier issueRevocationList did (Ed25519 is deterministic).
  const before = signDoc(REVOCATION_TYPE, { fleet: 'f', seq: 3, issuedAt: now, revoked: revoked.map((e) => ({ ...e })) }, fleet);
  t.same(issueRevocationList({ fleet: 'f', seq: 3, issuedAt: now, revoked, batches: [] }, fleet), before, 'no revoked batch: byte-for-byte the earlier format');
  t.equal(verifyRevocationList(before, pair.publicKey, 'f').batches, undefined);

  const set = new RevocationSet('f', pair.publicKey);
  const heard: [string[], string[]][] = [];
  set.onRevoked((ids, batches) => heard.push([ids, batches]));
  set.apply(before);
  t.notOk(set.isBatchRevoked('b1'));
  const withBatch = issueRevocationList({ fleet: 'f', seq: 4, issuedAt: now, revoked, batches: [{ batch: 'b1', at: now, reason: 'image leaked' }] }, fleet);
  t.same(verifyRevocationList(withBatch, pair.publicKey, 'f').batches, [{ batch: 'b1', at: now, reason: 'image leaked' }]);
  t.same(set.apply(withBatch), [], 'no new node');
  t.ok(set.isBatchRevoked('b1') && set.isRevoked('nbad'));
  t.same(heard, [[['nbad'], []], [[], ['b1']]], 'listeners hear newly revoked batches');
  set.apply(issueRevocationList({ fleet: 'f', seq: 2, issuedAt: now, revoked: [] }, fleet));
  t.ok(set.isBatchRevoked('b1'), 'an older list cannot un-revoke a batch');

  const bad = (batches: unknown) => cborEncode({ b: cborEncode({ t: REVOCATION_TYPE, fleet: 'f', seq: 5, issuedAt: now, revoked: [], batches }), s: new Uint8Array(64) });
  const signedBad = (batches: unknown) => signDoc(REVOCATION_TYPE, { fleet: 'f', seq: 5, issuedAt: now, revoked: [], batches }, fleet);
  t.throws(() => verifyRevocationList(bad([]), pair.publicKey, 'f'), { code: 'WIRE_BAD_SIGNATURE' });
  t.throws(() => verifyRevocationList(signedBad('b1'), pair.publicKey, 'f'), { code: 'WIRE_TYPE' }, 'batches must be a list');
  t.throws(() => verifyRevocationList(signedBad([7]), pair.publicKey, 'f'), { code: 'WIRE_TYPE' }, 'entries must be maps');
  t.throws(() => verifyRevocationList(signedBad([{ batch: 'a/b', at: now, reason: 'x' }]), pair.publicKey, 'f'), /batch/, 'batch names are topic segments');
});
