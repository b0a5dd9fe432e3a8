import t from 'tap';
import { randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import { createSigner, generateKeyPair, keyPairFromSeed, type Ed25519KeyPair as KeyPair, type Signer } from '../../../src/crypto/ed25519.js';
import { nodeIdFromPublicKey } from '../../../src/crypto/node-id.js';
import { claimBinding, decodeProvisionResponse, encodeProvisionRequest } from '../../../src/fleet/provision-protocol.js';
import { addBatch } from '../../../src/fleet/init.js';
import { issueClaim } from '../../../src/fleet/certificate.js';
import { readBoardImage } from '../../../src/fleet/board-files.js';
import { revokeBatch, revokeNode } from '../../../src/fleet/revoke.js';
import type { Rig } from './rig.js';
import { refused, runArea, type HostileCase } from './area.js';

/**
 * Provisioning abuse against the real Provisioner (what `h3lix fleet serve` runs) through the gateway
 * daemon's embedded broker: every request travels as a claim client (the claim from the board image)
 * and is answered on provision/response/<id>. Observed: the answer and the fleet directory's records.
 */
const rogue = createSigner(generateKeyPair());
type Claim = { claim: Uint8Array; signer: Signer };
const b1 = (r: Rig): Claim => ({ claim: r.claimBytes, signer: r.claimSigner });
function batch(r: Rig, name: string, at = Date.now(), o: { uses?: number; days?: number } = {}): Claim {
  if (!r.fd.claimState(name)) addBatch(r.fd, { name, uses: o.uses ?? 10, expiresDays: o.days ?? 30 }, at);
  const image = readBoardImage(r.fd.path('image', name));
  return { claim: new Uint8Array(Buffer.from(image.claim.claim, 'base64')), signer: createSigner(keyPairFromSeed(new Uint8Array(Buffer.from(image.claim.claimSeed, 'base64')))) };
}

interface Ask {
  claim?: Claim;
  key?: KeyPair;
  /** Claim signature by another signer than the claim's. */
  claimSigner?: Signer;
  sentAt?: number;
  /** Send these exact bytes (a captured request) under `requestId`. */
  replay?: { requestId: string; bytes: Uint8Array };
  raw?: Uint8Array;
}
/** One provisioning round trip as a claim client; the answer's reason, 'accepted', or 'no answer'. */
async function ask(r: Rig, a: Ask = {}): Promise<{ answer: string; requestId: string; bytes: Uint8Array; nodeId: string }> {
  const key = a.key ?? generateKeyPair();
  const claim = a.claim ?? b1(r);
  const nodeId = nodeIdFromPublicKey(key.publicKey);
  const requestId = a.replay?.requestId ?? `r${randomBytes(10).toString('hex')}`;
  const nonce = nacl.randomBytes(16);
  const box = nacl.box.keyPair();
  const req = { nodeId, requestId, publicKey: key.publicKey, boxKey: box.publicKey, board: 'rpi-4', versions: {}, nonce, claim: claim.claim, claimSig: (a.claimSigner ?? claim.signer).sign(claimBinding(nodeId, requestId, nonce, key.publicKey, box.publicKey)), renew: false };
  const bytes = a.raw ?? a.replay?.bytes ?? encodeProvisionRequest(req, r.fleet, createSigner(key), a.sentAt ?? Date.now());
  const c = await r.connect(r.claimLogin(requestId));
  try {
    const answer = new Promise<string>((resolve) => c.on('message', (_t, p) => resolve(decodeProvisionResponse(new Uint8Array(p), r.fleet, r.fd.fleetPublicKey).reason ?? 'accepted')));
    await c.subscribeAsync(`${r.root}provision/response/${requestId}`, { qos: 1 });
    await c.publishAsync(`${r.root}provision/request/${requestId}`, Buffer.from(bytes), { qos: 1 });
    return { answer: await Promise.race([answer, new Promise<string>((res) => setTimeout(() => res('no answer'), 1500))]), requestId, bytes, nodeId };
  } finally {
    await c.endAsync(true);
  }
}
const code = (answer: string) => answer.split(':')[0]!;
/** A refusal case: the answer's code must be `expect`; accepted when the provisioner said 'accepted'. */
function refusedWith(expect: string, answer: string): { accepted: boolean; refusedBy?: string } {
  return answer === 'accepted' ? { accepted: true } : refused(`answer ${expect}`, code(answer) === expect);
}
const hash = (r: Rig, nodeId: string) => r.fd.node(nodeId)?.brokerPasswordHash;

const cases: HostileCase[] = [
  {
    name: 'a captured provisioning request replayed (same nonce): the same answer, nothing rotated',
    defence: 'provision-replay',
    attack: async (r) => {
      const key = generateKeyPair();
      const first = await ask(r, { key });
      const live = hash(r, first.nodeId);
      const replayed = r.prov.stats.replayed;
      const again = await ask(r, { key, replay: { requestId: first.requestId, bytes: first.bytes } });
      if (first.answer !== 'accepted' || live === undefined) return { accepted: false };
      if (hash(r, first.nodeId) !== live) return { accepted: true };
      return refused('stats.replayed +1, the broker password unchanged', again.answer === 'accepted' && r.prov.stats.replayed === replayed + 1);
    },
  },
  {
    name: "an older captured request (another nonce, signed earlier) after the node's current one",
    defence: 'provision-replay',
    attack: async (r) => {
      const key = generateKeyPair();
      const now = Date.now();
      const current = await ask(r, { key, sentAt: now });
      const live = hash(r, current.nodeId);
      const old = await ask(r, { key, sentAt: now - 60_000 });
      if (current.answer !== 'accepted') return { accepted: false };
      return hash(r, current.nodeId) !== live ? { accepted: true } : refusedWith('REPLAYED', old.answer);
    },
  },
  {
    name: 'a request signed 20 minutes ago (outside the 15-minute window)',
    defence: 'provision-replay',
    attack: async (r) => refusedWith('STALE_REQUEST', (await ask(r, { sentAt: Date.now() - 20 * 60_000 })).answer),
  },
  {
    name: 'a claim used past its limit',
    defence: 'claim-uses',
    attack: async (r) => {
      const tiny = batch(r, 'tiny', Date.now(), { uses: 1 });
      const first = await ask(r, { claim: tiny });
      if (first.answer !== 'accepted' && code(first.answer) !== 'CLAIM_EXHAUSTED') return { accepted: false };
      return refusedWith('CLAIM_EXHAUSTED', (await ask(r, { claim: tiny })).answer);
    },
  },
  {
    name: 'a claim after its expiry',
    defence: 'claim-expiry',
    attack: async (r) => refusedWith('CLAIM_EXPIRED', (await ask(r, { claim: batch(r, 'old', Date.now() - 2 * 86_400_000, { days: 1 }) })).answer),
  },
  {
    name: 'a claim signature that does not bind the node key',
    defence: 'claim-sig',
    attack: async (r) => refusedWith('CLAIM_INVALID', (await ask(r, { claimSigner: rogue })).answer),
  },
  {
    name: 'a claim for batch b1 not signed by the fleet (a self-made claim with 1000 uses and role admin)',
    defence: 'claim-fleet-sig',
    attack: async (r) => {
      const k = generateKeyPair();
      const forged = issueClaim({ fleet: r.fleet, batch: 'b1', claimKey: k.publicKey, maxUses: 1000, issuedAt: Date.now(), notAfter: Date.now() + 1e9, boards: [], roles: ['admin'] }, createSigner(k));
      return refusedWith('CLAIM_INVALID', (await ask(r, { claim: { claim: forged, signer: createSigner(k) } })).answer);
    },
  },
  {
    name: 'the claim of a revoked batch',
    defence: 'claim-revoke',
    attack: async (r) => {
      const b3 = batch(r, 'b3');
      revokeBatch(r.fd, 'b3', 'image leaked', Date.now());
      return refusedWith('CLAIM_REVOKED', (await ask(r, { claim: b3 })).answer);
    },
  },
  {
    name: 'a revoked node provisions again with its own key (the claim still has uses)',
    defence: 'provision-revoked',
    attack: async (r) => {
      const key = generateKeyPair();
      const first = await ask(r, { key });
      revokeNode(r.fd, first.nodeId, 'stolen', Date.now());
      if (first.answer !== 'accepted') return { accepted: false };
      return refusedWith('REVOKED', (await ask(r, { key })).answer);
    },
  },
  {
    name: 'a new key from a batch holding a revoked node (a stolen board re-keyed): held for approval',
    defence: 'provision-hold',
    attack: async (r) => {
      const victim = await ask(r, { claim: batch(r, 'b4') });
      revokeNode(r.fd, victim.nodeId, 'stolen', Date.now());
      const pending = r.prov.stats.pending;
      const rekeyed = await ask(r, { claim: batch(r, 'b4') });
      if (victim.answer !== 'accepted') return { accepted: false };
      return rekeyed.answer === 'accepted' ? { accepted: true } : refused('no answer, held (stats.pending +1)', rekeyed.answer === 'no answer' && r.prov.stats.pending === pending + 1);
    },
  },
  {
    name: 'a 10 KB garbage provisioning request (under the broker limit)',
    twin: async (r) => (await ask(r, { claim: batch(r, 'twins') })).answer === 'accepted',
    attack: async (r) => {
      const before = r.prov.stats.malformed;
      const res = await ask(r, { raw: new Uint8Array(10_000).fill(0xa1) });
      return res.answer === 'accepted' ? { accepted: true } : refused('provisioner: malformed +1 (WIRE_OVERSIZE)', r.prov.stats.malformed === before + 1 && /WIRE_OVERSIZE/.test(r.log()));
    },
  },
  {
    name: 'malformed CBOR on provision/request',
    twin: async (r) => (await ask(r, { claim: batch(r, 'twins') })).answer === 'accepted',
    attack: async (r) => {
      const before = r.prov.stats.malformed;
      const res = await ask(r, { raw: new Uint8Array([0xff, 0xff]) });
      return res.answer === 'accepted' ? { accepted: true } : refused('provisioner: malformed +1', r.prov.stats.malformed === before + 1);
    },
  },
];

runArea(t, 'provisioning', cases, { uses: 40 });
