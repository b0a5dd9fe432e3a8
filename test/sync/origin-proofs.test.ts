import t from 'tap';
import { createSigner, generateKeyPair } from '../../src/crypto/ed25519.js';
import { nodeIdFromPublicKey } from '../../src/crypto/node-id.js';
import type { Contribution } from '../../src/ccf/types.js';
import { decodeSyncDelta, encodeSyncDelta } from '../../src/sync/delta-wire.js';
import { OriginProofs } from '../../src/sync/origin-proofs.js';

function node() {
  const pair = generateKeyPair();
  return { id: nodeIdFromPublicKey(pair.publicKey), pair, signer: createSigner(pair) };
}
const A = node();
const B = node();
const R = node();
const keys = new Map([A, B, R].map((n) => [n.id, n.pair.publicKey]));
const contribution = (origin: string, key: string, version: number, x = 1): Contribution => ({ origin, key, version, hlc: { wall: 1_700_000_000_000 + version, logical: 0 }, count: 2, sum: Float32Array.of(x, 0.5, -0.25, 0) });
const proofs = (n: ReturnType<typeof node>, required = true) => new OriginProofs({ fleet: 'f1', self: n.id, signer: n.signer, resolveKey: (o) => keys.get(o), required });
/** Through the wire codec, as a receiver sees it. */
const wire = (cs: Contribution[], p = proofs(A)) => decodeSyncDelta(encodeSyncDelta({ cover: Object.fromEntries(cs.map((c) => [c.origin, [0, 100]])), contributions: cs, proofs: p.proofsFor(cs) }, 'int8'));

t.test('own contributions are signed once and verify at a receiver', async (t) => {
  const a = proofs(A);
  const cs = [contribution(A.id, 'k1', 1), contribution(A.id, 'k2', 2)];
  const d = wire(cs, a);
  t.equal(d.proofs?.length, 1, 'one proof for one origin batch');
  const r = proofs(R).check(d.contributions, d.proofs);
  t.equal(r.accepted.length, 2);
  t.equal(r.dropped.size, 0);
  t.equal(a.stats.signed, 1);
});

t.test('a relay forwards a subset verifiably; forged, tampered and unsigned contributions are dropped', async (t) => {
  const a = proofs(A);
  const relay = proofs(R);
  const batch = [contribution(A.id, 'k1', 1), contribution(A.id, 'k2', 2), contribution(A.id, 'k3', 3)];
  t.equal(relay.check(wire(batch, a).contributions, wire(batch, a).proofs).accepted.length, 3, 'relay accepted the batch');
  // The relay forwards k2 only (the peer wanted one key): the other two travel as hashes.
  const fwd = decodeSyncDelta(encodeSyncDelta({ cover: { [A.id]: [1, 2] }, contributions: [batch[1]!], proofs: relay.proofsFor([batch[1]!]) }, 'int8'));
  t.equal(fwd.proofs?.[0]?.others.length, 2, 'two sibling hashes');
  t.equal(proofs(B).check(fwd.contributions, fwd.proofs).accepted.length, 1, 'a third node verifies the relayed contribution against A');

  // R invents a contribution for origin A: R cannot sign as A.
  const forged = contribution(A.id, 'k9', 50, 9);
  const signedByR = new OriginProofs({ fleet: 'f1', self: A.id, signer: R.signer, resolveKey: (o) => keys.get(o) });
  const f = decodeSyncDelta(encodeSyncDelta({ cover: { [A.id]: [0, 50] }, contributions: [forged], proofs: signedByR.proofsFor([forged]) }, 'int8'));
  const rf = proofs(B).check(f.contributions, f.proofs);
  t.same([rf.accepted.length, rf.dropped.get('bad-signature')?.length], [0, 1], 'a contribution for A signed with R key is dropped');

  // Tampered value under A's real signature.
  const d = wire([contribution(A.id, 'k1', 7)], proofs(A));
  d.contributions[0]!.sum[0] = 5;
  t.equal(proofs(B).check(d.contributions, d.proofs).dropped.get('bad-signature')?.length, 1, 'a changed vector breaks the signature');

  // Unsigned: dropped when required (fleet mode), accepted in open mode.
  const bare = decodeSyncDelta(encodeSyncDelta({ cover: { [A.id]: [0, 60] }, contributions: [contribution(A.id, 'k4', 60)] }, 'int8'));
  t.equal(bare.proofs, undefined, 'an unsigned delta decodes as before');
  t.equal(proofs(B, true).check(bare.contributions, bare.proofs).dropped.get('unsigned')?.length, 1, 'required: unsigned dropped');
  t.equal(proofs(B, false).check(bare.contributions, bare.proofs).accepted.length, 1, 'negative control: open mode accepts it');

  // Origin without a key (no valid certificate): dropped.
  const stranger = node();
  const s = new OriginProofs({ fleet: 'f1', self: stranger.id, signer: stranger.signer, resolveKey: () => undefined });
  const sd = decodeSyncDelta(encodeSyncDelta({ cover: { [stranger.id]: [0, 1] }, contributions: [contribution(stranger.id, 'k', 1)], proofs: s.proofsFor([contribution(stranger.id, 'k', 1)]) }, 'int8'));
  t.equal(proofs(B).check(sd.contributions, sd.proofs).dropped.get('unknown-origin')?.length, 1, 'an origin without a key is dropped');
  t.equal(proofs(B, false).check(sd.contributions, sd.proofs).accepted.length, 1, 'open mode: an origin whose key is not known yet passes like an unsigned one');

  // A proof naming one origin cannot cover another origin's contribution.
  const mixed = [contribution(A.id, 'k1', 1), contribution(B.id, 'k1', 1)];
  const md = wire(mixed, proofs(A));
  t.equal(md.proofs?.length, 1, 'only A is signed (B is not ours)');
  const mp = md.proofs!.map((p) => ({ ...p, members: [0, 1] }));
  t.equal(proofs(R).check(md.contributions, mp).dropped.get('bad-signature')?.length, 2, 'a proof listing a foreign-origin member drops its members');
});

t.test('wire validation of osig', async (t) => {
  const cs = [contribution(A.id, 'k1', 1)];
  const good = { cover: { [A.id]: [0, 1] as const }, contributions: cs };
  const bad = (p: unknown) => () => decodeSyncDelta(encodeSyncDelta({ ...good, proofs: p as never }, 'int8'));
  t.throws(bad([{ origin: A.id, sig: new Uint8Array(10), others: [], members: [0] }]), { code: 'WIRE_TYPE' }, 'short signature');
  t.throws(bad([{ origin: A.id, sig: new Uint8Array(64), others: [], members: [3] }]), { code: 'WIRE_TYPE' }, 'member index out of range');
  t.throws(bad([{ origin: A.id, sig: new Uint8Array(64), others: [new Uint8Array(5)], members: [0] }]), { code: 'WIRE_TYPE' }, 'odd hash length');
  t.throws(bad([{ origin: A.id, sig: new Uint8Array(64), others: [], members: [] }]), { code: 'WIRE_TYPE' }, 'no members');
  t.throws(bad([{ origin: A.id, sig: new Uint8Array(64), others: [], members: [0] }, { origin: A.id, sig: new Uint8Array(64), others: [], members: [0] }]), { code: 'WIRE_OVERSIZE' }, 'more proofs than contributions');
  const a = proofs(A);
  a.proofsFor(cs);
  t.ok(a.estimateBytes(cs) >= 96, 'estimate covers a signature');
  a.retain(() => false);
  t.equal(a.size, 0, 'retain() forgets records the field no longer holds');
});

t.test('a batch relayed again is verified once; a changed contribution under the same signature still fails', async (t) => {
  const batch = [contribution(A.id, 'm1', 1), contribution(A.id, 'm2', 2)];
  const direct = wire(batch, proofs(A));
  const relay = proofs(R);
  relay.check(direct.contributions, direct.proofs);
  // the same batch as a relay forwards it: one member carried, the other as a hash
  const fwd = decodeSyncDelta(encodeSyncDelta({ cover: { [A.id]: [1, 2] }, contributions: [batch[1]!], proofs: relay.proofsFor([batch[1]!]) }, 'int8'));
  const b = proofs(B);
  t.equal(b.check(direct.contributions, direct.proofs).accepted.length, 2);
  t.equal(b.check(fwd.contributions, fwd.proofs).accepted.length, 1, 'the relayed copy is accepted');
  t.same([b.stats.verified, b.stats.cached], [1, 1], 'one Ed25519 check for two copies of one batch');
  const off = new OriginProofs({ fleet: 'f1', self: B.id, signer: B.signer, resolveKey: (o) => keys.get(o), required: true, verifiedCapacity: 0 });
  off.check(direct.contributions, direct.proofs);
  off.check(fwd.contributions, fwd.proofs);
  t.same([off.stats.verified, off.stats.cached], [2, 0], 'control: with the memo off both copies are verified');

  const tampered = decodeSyncDelta(encodeSyncDelta({ cover: { [A.id]: [1, 2] }, contributions: [batch[1]!], proofs: fwd.proofs! }, 'int8'));
  tampered.contributions[0]!.sum[1] = 3;
  const r = b.check(tampered.contributions, tampered.proofs);
  t.same([r.accepted.length, r.dropped.get('bad-signature')?.length, b.stats.failed], [0, 1, 1], 'same signature, changed vector: the memo misses and the check fails');
});

t.test('the memo forgets the oldest check beyond its capacity', async (t) => {
  const d1 = wire([contribution(A.id, 'c1', 1)], proofs(A));
  const d2 = wire([contribution(A.id, 'c2', 2)], proofs(A));
  const b = new OriginProofs({ fleet: 'f1', self: B.id, signer: B.signer, resolveKey: (o) => keys.get(o), required: true, verifiedCapacity: 1 });
  for (const d of [d1, d1, d2, d1]) b.check(d.contributions, d.proofs);
  t.same([b.stats.verified, b.stats.cached], [3, 1], 'd1 hit once, then d2 pushed it out');
  t.throws(() => new OriginProofs({ fleet: 'f1', self: B.id, signer: B.signer, resolveKey: () => undefined, verifiedCapacity: -1 }), RangeError);
});
