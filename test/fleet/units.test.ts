import t from 'tap';
import nacl from 'tweetnacl';
import { filterCovered, mayPublish, maySubscribe, rulesFor, topicMatches } from '../../src/fleet/acl-policy.js';
import { createSigner, generateKeyPair } from '../../src/crypto/ed25519.js';
import { nodeIdFromPublicKey } from '../../src/crypto/node-id.js';
import { issueCertificate, issueClaim, peekCertificate, verifyCertificate, verifyClaim } from '../../src/fleet/certificate.js';
import { cborDecodeMap, cborEncode } from '../../src/fleet/codec.js';
import { openDoc, signDoc } from '../../src/fleet/signed-doc.js';
import { RevocationSet, issueRevocationList } from '../../src/fleet/revocation.js';
import { withoutRevoked } from '../../src/fleet/revocation-filter.js';
import { makeNodeToken, verifyNodeToken, makeProvisionerToken, verifyProvisionerToken, MAX_TOKEN_LIFETIME_MS } from '../../src/fleet/tokens.js';
import { mosquittoPasswordHash } from '../../src/fleet/mosquitto-acl.js';
import { openSecrets, sealSecrets } from '../../src/fleet/provision-protocol.js';
import { CcfField } from '../../src/ccf/field.js';
import { defaultConfig } from '../../src/config/load.js';
import { ManualClock } from '../../src/util/clock.js';

const fleetPair = generateKeyPair();
const fleet = createSigner(fleetPair);
const now = Date.UTC(2026, 5, 21);
function cert(pair = generateKeyPair(), over: Partial<Parameters<typeof issueCertificate>[0]> = {}) {
  return issueCertificate({ fleet: 'f', nodeId: nodeIdFromPublicKey(pair.publicKey), publicKey: pair.publicKey, boxKey: new Uint8Array(32), roles: ['node'], serial: 1, notBefore: now - 1000, notAfter: now + 86_400_000, ...over }, fleet);
}

t.test('topic matching and subscription coverage [MQTT-4.7.1]', async (t) => {
  t.ok(topicMatches('a/+/c', 'a/b/c'));
  t.notOk(topicMatches('a/+/c', 'a/b/c/d'));
  t.ok(topicMatches('a/#', 'a/b/c'));
  t.notOk(topicMatches('a/b', 'a'));
  t.ok(filterCovered('a/+/c', 'a/x/c'));
  t.ok(filterCovered('a/+/c', 'a/+/c'));
  t.notOk(filterCovered('a/x/c', 'a/+/c'), 'a wildcard filter is wider than a literal rule');
  t.notOk(filterCovered('a/+/c', 'a/#'), '# reaches deeper than the rule');
  t.ok(filterCovered('a/#', 'a/+/c'));
  const r = rulesFor('f', { kind: 'node', nodeId: 'n1' });
  t.ok(mayPublish(r, 'h3lix/v1/f/ccf/delta/n1'));
  t.ok(mayPublish(r, 'h3lix/v1/f/pred/n1'), 'own predictions');
  t.ok(mayPublish(r, 'h3lix/v1/f/obs/n1'), 'own observations (local sensors log in as the node)');
  t.notOk(mayPublish(r, 'h3lix/v1/f/pred/n2'), 'not another node\'s predictions');
  t.notOk(mayPublish(r, 'h3lix/v1/f/ccf/delta/n2'));
  t.notOk(mayPublish(r, 'h3lix/v1/f/ccf/delta/+'), 'no wildcards in a publish topic');
  t.notOk(mayPublish(r, 'h3lix/v1/g/ccf/delta/n1'), 'another fleet');
  t.ok(maySubscribe(r, 'h3lix/v1/f/ccf/delta/+'));
  t.ok(maySubscribe(r, 'h3lix/v1/f/cmd/n1'));
  t.notOk(maySubscribe(r, 'h3lix/v1/f/cmd/n2'));
  t.notOk(maySubscribe(r, 'h3lix/v1/f/cmd/+'));
  t.notOk(maySubscribe(r, '#'));
  const c = rulesFor('f', { kind: 'claim', batch: 'b', requestId: 'r1' });
  t.same(c.publish, ['h3lix/v1/f/provision/request/r1']);
  t.notOk(maySubscribe(c, 'h3lix/v1/f/provision/response/r2'));
});

t.test('certificates: fleet signature, fleet name, validity, self-certifying id; tweetnacl cross-verify', async (t) => {
  const pair = generateKeyPair();
  const bytes = cert(pair);
  const c = verifyCertificate(bytes, fleetPair.publicKey, 'f', now);
  t.equal(c.nodeId, nodeIdFromPublicKey(pair.publicKey));
  t.same(peekCertificate(bytes).serial, 1);
  t.throws(() => verifyCertificate(bytes, generateKeyPair().publicKey, 'f', now), { code: 'WIRE_BAD_SIGNATURE' });
  t.throws(() => verifyCertificate(bytes, fleetPair.publicKey, 'g', now), { code: 'WIRE_FLEET' });
  t.throws(() => verifyCertificate(bytes, fleetPair.publicKey, 'f', now + 2 * 86_400_000), { code: 'WIRE_CERT_EXPIRED' });
  t.throws(() => verifyCertificate(bytes, fleetPair.publicKey, 'f', now - 10_000), { code: 'WIRE_CERT_EXPIRED' }, 'not yet valid');
  const liar = issueCertificate({ fleet: 'f', nodeId: 'nAAAAAAAAAAAAAAAA', publicKey: pair.publicKey, boxKey: new Uint8Array(32), roles: [], serial: 1, notBefore: 0, notAfter: now * 2 }, fleet);
  t.throws(() => verifyCertificate(liar, fleetPair.publicKey, 'f', now), { code: 'WIRE_TYPE' }, 'node id not derived from key');
  // node:crypto signature verifies with tweetnacl and a tweetnacl signature verifies in openDoc.
  const outer = cborDecodeMap(bytes, 8192, 't');
  t.ok(nacl.sign.detached.verify(outer.b as Uint8Array, outer.s as Uint8Array, fleetPair.publicKey), 'tweetnacl verifies a node:crypto certificate signature');
  const naclPair = nacl.sign.keyPair.fromSeed(fleetPair.seed);
  const naclSigned = cborEncode({ b: outer.b, s: nacl.sign.detached(outer.b as Uint8Array, naclPair.secretKey) });
  t.ok(verifyCertificate(naclSigned, fleetPair.publicKey, 'f', now), 'node:crypto verifies a tweetnacl certificate signature');
  t.throws(() => openDoc(signDoc('h3lix-claim', {}, fleet), fleetPair.publicKey, 'h3lix-cert'), { code: 'WIRE_TYPE' }, 'a claim cannot pass as a certificate');
  for (const junk of [new Uint8Array(0), new Uint8Array([0xff]), cborEncode([1, 2]), cborEncode({ b: 'x', s: 1 }), new Uint8Array(9000)]) {
    t.throws(() => verifyCertificate(junk, fleetPair.publicKey, 'f', now), /WIRE_|CBOR|expected|exceeds|empty/);
  }
});

t.test('claims, tokens, sealed secrets, Mosquitto hashes', async (t) => {
  const claimPair = generateKeyPair();
  const claim = issueClaim({ fleet: 'f', batch: 'b', claimKey: claimPair.publicKey, maxUses: 3, issuedAt: now, notAfter: now + 1000, boards: ['rpi-4'], roles: ['node'] }, fleet);
  t.match(verifyClaim(claim, fleetPair.publicKey, 'f'), { batch: 'b', maxUses: 3, boards: ['rpi-4'] });
  t.throws(() => verifyClaim(claim, fleetPair.publicKey, 'x'), { code: 'WIRE_FLEET' });
  const pair = generateKeyPair();
  const c = cert(pair);
  const ctx = { fleet: 'f', fleetPublicKey: fleetPair.publicKey, now };
  const id = nodeIdFromPublicKey(pair.publicKey);
  t.equal(verifyNodeToken(id, makeNodeToken(id, c, createSigner(pair), now + 1000), ctx).nodeId, id);
  t.throws(() => verifyNodeToken('nother', makeNodeToken(id, c, createSigner(pair), now + 1000), ctx), { code: 'WIRE_UNKNOWN_SENDER' });
  t.throws(() => verifyNodeToken(id, makeNodeToken(id, c, createSigner(pair), now + MAX_TOKEN_LIFETIME_MS + 10), ctx), { code: 'WIRE_TYPE' }, 'over-long token lifetime');
  t.throws(() => verifyNodeToken(id, 'a b', ctx), { code: 'WIRE_MALFORMED' });
  verifyProvisionerToken(makeProvisionerToken(fleet, now + 1000), ctx);
  t.throws(() => verifyProvisionerToken(makeProvisionerToken(createSigner(pair), now + 1000), ctx), { code: 'WIRE_BAD_SIGNATURE' });
  const box = nacl.box.keyPair();
  const sealed = sealSecrets({ brokerPassword: 'pw' }, box.publicKey);
  t.same(openSecrets(sealed, box.secretKey), { brokerPassword: 'pw' });
  t.throws(() => openSecrets(sealed, nacl.box.keyPair().secretKey), { code: 'WIRE_BAD_SIGNATURE' });
  // mosquitto_passwd (Debian mosquitto 2.0.11) output for "secret" with this salt.
  t.equal(mosquittoPasswordHash('secret', Buffer.from('hORv7QUVAAIVbWzM', 'base64')), '$7$101$hORv7QUVAAIVbWzM$QGTyKyuV0kCnMgC3z+YNvfPIhxfN3y374Tbq/JUA38MzLzqQy+5va2Wb1Gl7Pn7YS/4F5i351YPEq7rMZWTw8Q==');
});

t.test('revocation set: signed, monotonic; revoked origins stop counting in the field', async (t) => {
  const set = new RevocationSet('f', fleetPair.publicKey);
  const seen: string[][] = [];
  set.onRevoked((ids) => seen.push(ids));
  t.same(set.apply(issueRevocationList({ fleet: 'f', seq: 2, issuedAt: now, revoked: [{ nodeId: 'nbad', at: now, reason: 'x' }] }, fleet)), ['nbad']);
  t.same(set.apply(issueRevocationList({ fleet: 'f', seq: 1, issuedAt: now, revoked: [] }, fleet)), [], 'an older list is ignored');
  t.ok(set.isRevoked('nbad'));
  t.throws(() => set.apply(issueRevocationList({ fleet: 'f', seq: 3, issuedAt: now, revoked: [] }, createSigner(generateKeyPair()))), { code: 'WIRE_BAD_SIGNATURE' });
  t.throws(() => set.apply(issueRevocationList({ fleet: 'g', seq: 3, issuedAt: now, revoked: [] }, fleet)), { code: 'WIRE_FLEET' });
  t.equal(set.version, 2);
  t.same(seen, [['nbad']]);

  const clock = new ManualClock(now);
  const cfg = defaultConfig().ccf;
  const mk = () => new CcfField({ nodeId: 'nme', clock, config: cfg, quantization: 'float16' });
  const source = mk();
  const contributions = [
    { origin: 'ngood1', key: 'k', sum: new Float32Array([1, 0]), count: 1, version: 1, hlc: { wall: now, logical: 0 } },
    { origin: 'ngood2', key: 'k', sum: new Float32Array([1, 0]), count: 1, version: 1, hlc: { wall: now, logical: 0 } },
    { origin: 'nbad', key: 'k', sum: new Float32Array([0, 9]), count: 1, version: 1, hlc: { wall: now, logical: 0 } },
  ];
  source.merge(contributions);
  const filtered = mk();
  filtered.merge(withoutRevoked(contributions, set));
  t.same(filtered.origins(), ['ngood1', 'ngood2'], 'the revoked origin never enters the field');
  const v = filtered.value('k', now)!;
  t.ok(Math.abs(v[1]!) < 1e-6, `value unaffected by the revoked origin (${Array.from(v).join(',')})`);
  t.ok(source.origins().includes('nbad'), 'without the filter the revoked origin is held in the field');
});

t.test('provisioner rules: board template and allow-list, renewal, lost answers', async (t) => {
  const { makeFleet } = await import('./fixtures.js');
  const { decide, commitDecision } = await import('../../src/fleet/provisioner-rules.js');
  const { claimBinding } = await import('../../src/fleet/provision-protocol.js');
  const { readBoardImage } = await import('../../src/fleet/board-files.js');
  const fd = makeFleet(t.testdir(), { boards: ['rpi-4', 'rpi-5'], uses: 5 });
  const image = readBoardImage(fd.path('image', 'b1'));
  const claim = new Uint8Array(Buffer.from(image.claim.claim, 'base64'));
  const claimSigner = createSigner({ seed: new Uint8Array(Buffer.from(image.claim.claimSeed, 'base64')), publicKey: new Uint8Array(0) });
  const pair = generateKeyPair();
  const box = nacl.box.keyPair();
  const nodeId = nodeIdFromPublicKey(pair.publicKey);
  const req = (board: string, renew = false, nonce: Uint8Array = nacl.randomBytes(16), who = { pair, nodeId }) => ({ nodeId: who.nodeId, requestId: 'r1', publicKey: who.pair.publicKey, boxKey: box.publicKey, board, versions: {}, nonce, claim: renew ? undefined : claim, claimSig: renew ? undefined : claimSigner.sign(claimBinding(who.nodeId, 'r1', nonce, who.pair.publicKey, box.publicKey)), renew });
  const policy = { certLifetimeDays: 1, allowBoards: [], config: {} };
  const now = Date.now();
  t.match(decide(fd, req('jetson'), policy, now), { kind: 'reject', code: 'BOARD_NOT_ALLOWED' }, 'claim template');
  t.match(decide(fd, req('rpi-5'), { ...policy, allowBoards: ['rpi-4'] }, now), { kind: 'reject', code: 'BOARD_NOT_ALLOWED' }, 'fleet allow-list');
  t.match(decide(fd, req('rpi-4', true), policy, now), { kind: 'reject', code: 'UNKNOWN_NODE' }, 'renewal before provisioning');
  const firstReq = req('rpi-4');
  const first = decide(fd, firstReq, policy, now, { sentAt: now });
  t.equal(first.kind, 'accept');
  if (first.kind === 'accept') commitDecision(fd, first);
  const hash = fd.node(nodeId)!.brokerPasswordHash;
  // Replays of that very request (same nonce): the same answer, nothing rotates, nothing is consumed.
  const replay = decide(fd, firstReq, policy, now + 1000, { sentAt: now });
  t.ok(replay.kind === 'accept' && replay.replay === true && first.kind === 'accept' && Buffer.from(replay.response.sealed!.box).equals(first.response.sealed!.box), 'a replayed request gets the same sealed password');
  if (replay.kind === 'accept') commitDecision(fd, replay);
  t.equal(fd.node(nodeId)!.brokerPasswordHash, hash, "a replay never rotates the live node's broker password");
  t.equal(fd.claimState('b1')!.uses, 1, 'and uses no claim');
  const unguarded = decide(fd, firstReq, policy, now + 1000, { replayGuard: false });
  t.ok(unguarded.kind === 'accept' && !unguarded.replay && unguarded.record.brokerPasswordHash !== hash, 'negative control: without the replay guard the same request would rotate the password');
  t.match(decide(fd, req('rpi-4'), policy, now, { sentAt: now - 20 * 60_000 }), { kind: 'reject', code: 'STALE_REQUEST' }, 'a request older than the window is refused');
  t.match(decide(fd, req('rpi-4'), policy, now, { sentAt: now + 20 * 60_000 }), { kind: 'reject', code: 'STALE_REQUEST' }, 'so is one from the future');
  const again = decide(fd, req('rpi-4'), policy, now);
  t.ok(again.kind === 'accept' && again.consumedBatch === undefined, 'a lost answer is re-issued without using the claim again');
  const renewal = decide(fd, req('rpi-4', true), policy, now);
  t.ok(renewal.kind === 'accept' && renewal.record.serial === 2 && renewal.response.sealed === undefined, 'renewal: serial 2, no new secret');
  t.match(decide(fd, req('rpi-4', true), policy, now + 2 * 86_400_000), { kind: 'reject', code: 'CERT_EXPIRED' }, 'renewal after expiry needs a claim');

  // Revocation: the stolen board makes a new key and uses the batch claim again -> held for approval.
  const { revokeNode } = await import('../../src/fleet/revoke.js');
  const thiefPair = generateKeyPair();
  const thief = { pair: thiefPair, nodeId: nodeIdFromPublicKey(thiefPair.publicKey) };
  t.equal(decide(fd, req('rpi-4', false, undefined, thief), policy, now).kind, 'accept', 'negative control: before any revocation a new key of the batch is accepted');
  revokeNode(fd, nodeId, 'stolen', now);
  t.match(decide(fd, req('rpi-4', false, undefined, thief), policy, now), { kind: 'hold', batch: 'b1' }, 'after a revocation in its batch a new node waits for approval');
  t.equal(decide(fd, req('rpi-4', false, undefined, thief), policy, now, { approved: true }).kind, 'accept', 'an operator can approve it');
  t.match(decide(fd, req('rpi-4'), policy, now), { kind: 'reject', code: 'REVOKED' }, 'the revoked key itself is refused (REVOKED)');
});
