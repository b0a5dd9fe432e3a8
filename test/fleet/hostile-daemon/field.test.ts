import t from 'tap';
import type mqtt from 'mqtt';
import { createSigner, generateKeyPair, type Signer } from '../../../src/crypto/ed25519.js';
import { nodeIdFromPublicKey } from '../../../src/crypto/node-id.js';
import { encodeEnvelope, type EnvelopeKind } from '../../../src/ccf/codec/envelope.js';
import { encodeDigestBody, encodeWantBody } from '../../../src/ccf/codec/sync-bodies.js';
import { encodeSyncDelta } from '../../../src/sync/delta-wire.js';
import { OriginProofs } from '../../../src/sync/origin-proofs.js';
import { encodePresence } from '../../../src/sync/presence.js';
import { issueCertificate } from '../../../src/fleet/certificate.js';
import type { Contribution } from '../../../src/ccf/types.js';
import { until } from '../../helpers/until.js';
import type { Rig } from './rig.js';
import { refused, runArea, type HostileCase } from './area.js';

/**
 * The field of a real gateway daemon under attack by node b, a provisioned fleet member whose
 * credentials (and, where said, key) the attacker holds; every message is published on b's own
 * topics, which the broker allows. Observed through the gateway's real CcfSync (a probe around
 * onMessage), its field and its certificate resolver.
 */
const rogue = createSigner(generateKeyPair());
let seq = 1_000_000;
let version = 1000;
const bSigner = (r: Rig) => createSigner(r.bIdentity.signing);
const links = new WeakMap<Rig, mqtt.MqttClient>();
async function atk(r: Rig): Promise<mqtt.MqttClient> {
  let c = links.get(r);
  if (!c) links.set(r, (c = await r.connect(r.bLogin('atk'))));
  return c;
}
async function send(r: Rig, topic: string, payload: Uint8Array, retain = false): Promise<void> {
  await (await atk(r)).publishAsync(`${r.root}${topic}`, Buffer.from(payload), { qos: 1, retain });
}
const contribution = (origin: string, key: string, v = ++version): Contribution => ({ origin, key, version: v, hlc: { wall: Date.now(), logical: 0 }, count: 1, sum: Float32Array.of(1, 1, 1, 1) });
/** A delta body as b's daemon would build it: b's own contributions carry b's origin proof. */
function deltaBody(r: Rig, cs: Contribution[], proofs = true): Uint8Array {
  const cover = Object.fromEntries(cs.map((c) => [c.origin, [0, c.version] as [number, number]]));
  const op = new OriginProofs({ fleet: r.fleet, self: r.bId, signer: bSigner(r), resolveKey: () => undefined, required: true });
  return encodeSyncDelta({ cover, contributions: cs, ...(proofs ? { proofs: op.proofsFor(cs) } : {}) }, 'int8');
}
const envelope = (r: Rig, kind: EnvelopeKind, body: Uint8Array, o: { signer?: Signer; seq?: number } = {}) => encodeEnvelope({ kind, fleet: r.fleet, from: r.bId, seq: o.seq ?? ++seq, hlc: { wall: Date.now(), logical: 0 }, body }, o.signer ?? bSigner(r));
const bodies: Record<'delta' | 'digest' | 'want', (r: Rig, key: string) => Uint8Array> = {
  delta: (r, key) => deltaBody(r, [contribution(r.bId, key)]),
  digest: (r) => encodeDigestBody({ vv: { [r.bId]: version }, digest: '00'.repeat(32), count: 1 }),
  want: (r) => encodeWantBody({ vv: { [r.bId]: 1 }, nonce: 7 }),
};
const rejected = (r: Rig, code: string) => (r.gw.daemon.context.sync.counters.rejected as Record<string, number>)[code] ?? 0;

function badSig(name: string, kind: 'delta' | 'digest' | 'want', sign: 'flip' | 'rogue'): HostileCase {
  return {
    name,
    defence: 'envelope-sig',
    attack: async (r) => {
      const before = rejected(r, 'WIRE_BAD_SIGNATURE');
      const env = envelope(r, kind, bodies[kind](r, `sig-${kind}-${sign}`), sign === 'rogue' ? { signer: rogue } : {});
      if (sign === 'flip') env[env.length - 1]! ^= 0xff;
      await send(r, `ccf/${kind}/${r.bId}`, env);
      const v = await r.syncVerdict(env);
      return v?.accepted ? { accepted: true } : refused('WIRE_BAD_SIGNATURE +1', rejected(r, 'WIRE_BAD_SIGNATURE') === before + 1);
    },
  };
}

/** A malformed CBOR payload on `topic`, paired with its well-formed twin on the same topic. */
function malformed(kind: 'delta' | 'digest' | 'want' | 'state'): HostileCase {
  const topic = (r: Rig) => (kind === 'state' ? `state/${r.bId}` : `ccf/${kind}/${r.bId}`);
  return {
    name: `malformed CBOR on ${kind === 'state' ? 'state' : `ccf/${kind}`}`,
    twin: async (r) => {
      const good = kind === 'state' ? encodePresence({ v: 1, online: true, node: r.bId, fleet: r.fleet, ts: Date.now() }) : envelope(r, kind, bodies[kind](r, `legit-twin-${kind}`));
      await send(r, topic(r), good);
      const v = await r.syncVerdict(good);
      if (kind === 'delta') await until(() => r.gw.daemon.context.field.get(r.bId, 'legit-twin-delta') !== undefined, 2000, 'twin in the field').catch(() => undefined);
      return v !== undefined && !v.rejected && (kind === 'state' || v.accepted) && (kind !== 'delta' || r.gw.daemon.context.field.get(r.bId, 'legit-twin-delta') !== undefined);
    },
    attack: async (r) => {
      const bad = new Uint8Array([0xbf, 0x61, 0x61, 0xff, 0x00, 0x13, kind.length]);
      await send(r, topic(r), bad);
      const v = await r.syncVerdict(bad);
      return v?.accepted ? { accepted: true } : refused('rejected by the decoder (WIRE_*)', v?.rejected === true);
    },
  };
}

/** Wait for the gateway's resolver to take or refuse a certificate b published. */
async function certVerdict(r: Rig, bytes: Uint8Array, learned: () => boolean): Promise<{ accepted: boolean; refusedBy?: string }> {
  const refusals = () => r.log().split('certificate refused').length;
  const before = refusals();
  await send(r, `fleet/certs/${r.bId}`, bytes, true);
  await until(() => learned() || refusals() > before, 3000, 'certificate verdict').catch(() => undefined);
  return learned() ? { accepted: true } : refused("resolver: 'certificate refused'", refusals() > before);
}

const cases: HostileCase[] = [
  badSig('a delta from b whose signature is altered', 'delta', 'flip'),
  badSig("a delta under b's name signed by a key that is not b's (stolen broker token, no key)", 'delta', 'rogue'),
  badSig('a digest from b whose signature is altered', 'digest', 'flip'),
  badSig("a want under b's name signed by a key that is not b's", 'want', 'rogue'),
  {
    // Two layers: the gateway's key does not verify b's signature, and the sender is not the topic's node.
    name: "a delta claiming to come from the gateway, signed by b, on b's topic",
    defence: ['envelope-sig', 'sender-topic'],
    attack: async (r) => {
      const before = rejected(r, 'WIRE_BAD_SIGNATURE');
      const env = encodeEnvelope({ kind: 'delta', fleet: r.fleet, from: r.gwId, seq: ++seq, hlc: { wall: Date.now(), logical: 0 }, body: bodies.delta(r, 'as-gw') }, bSigner(r));
      await send(r, `ccf/delta/${r.bId}`, env);
      const v = await r.syncVerdict(env);
      return v?.accepted ? { accepted: true } : refused('WIRE_BAD_SIGNATURE +1', rejected(r, 'WIRE_BAD_SIGNATURE') === before + 1);
    },
  },
  {
    name: 'a valid delta envelope replayed',
    defence: 'replay-guard',
    attack: async (r) => {
      const env = envelope(r, 'delta', bodies.delta(r, 'legit-replayed'));
      await send(r, `ccf/delta/${r.bId}`, env);
      const first = await r.syncVerdict(env, 0);
      const before = rejected(r, 'WIRE_REPLAY');
      await send(r, `ccf/delta/${r.bId}`, env);
      const second = await r.syncVerdict(env, 1);
      if (!first?.accepted) return { accepted: false };
      return second?.accepted ? { accepted: true } : refused('WIRE_REPLAY (the first copy was accepted)', second?.rejected === true && rejected(r, 'WIRE_REPLAY') > before);
    },
  },
  {
    name: "a delta with one of b's long-used sequence numbers (seq 1)",
    defence: 'replay-guard',
    attack: async (r) => {
      const before = rejected(r, 'WIRE_REPLAY');
      const env = envelope(r, 'delta', bodies.delta(r, 'old-seq'), { seq: 1 });
      await send(r, `ccf/delta/${r.bId}`, env);
      const v = await r.syncVerdict(env);
      // (b's own digests are WIRE_REPLAY too once the attacker's seqs ran ahead: count at least one more.)
      return v?.accepted ? { accepted: true } : refused('WIRE_REPLAY', v?.rejected === true && rejected(r, 'WIRE_REPLAY') > before && r.gw.daemon.context.field.get(r.bId, 'old-seq') === undefined);
    },
  },
  {
    name: 'b relays an invented origin (no origin signature; the poisoning bound is per origin)',
    defence: 'origin-sig',
    attack: async (r) => {
      const invented = nodeIdFromPublicKey(generateKeyPair().publicKey);
      const before = rejected(r, 'WIRE_ORIGIN_SIG');
      const env = envelope(r, 'delta', deltaBody(r, [{ ...contribution(invented, 'poison'), count: 50, sum: Float32Array.of(50, 50, 50, 50) }], false));
      await send(r, `ccf/delta/${r.bId}`, env);
      await r.syncVerdict(env);
      return r.gw.daemon.context.field.get(invented, 'poison') ? { accepted: true } : refused('WIRE_ORIGIN_SIG +1', rejected(r, 'WIRE_ORIGIN_SIG') === before + 1);
    },
  },
  {
    name: "b relays a forged contribution under the gateway's own origin",
    defence: 'origin-sig',
    attack: async (r) => {
      const before = rejected(r, 'WIRE_ORIGIN_SIG');
      const env = envelope(r, 'delta', deltaBody(r, [contribution(r.gwId, 'poison-gw', 1_000_000)], false));
      await send(r, `ccf/delta/${r.bId}`, env);
      await r.syncVerdict(env);
      return r.gw.daemon.context.field.get(r.gwId, 'poison-gw')?.version === 1_000_000 ? { accepted: true } : refused('WIRE_ORIGIN_SIG +1', rejected(r, 'WIRE_ORIGIN_SIG') === before + 1);
    },
  },
  {
    name: 'a certificate for a new node signed by a rogue key, published on fleet/certs',
    defence: 'cert-sig',
    attack: async (r) => {
      const k = generateKeyPair();
      const id = nodeIdFromPublicKey(k.publicKey);
      const cert = issueCertificate({ ...r.b.fleetNode!.provisioned.certificate, nodeId: id, publicKey: k.publicKey, serial: 1 }, rogue);
      return certVerdict(r, cert, () => r.gw.fleetNode!.resolver.certificate(id) !== undefined);
    },
  },
  {
    name: "a rogue-signed certificate re-issuing the gateway (serial 99, role admin, 30 years)",
    defence: 'cert-sig',
    attack: async (r) => {
      const cert = issueCertificate({ ...r.gw.fleetNode!.provisioned.certificate, roles: ['admin'], serial: 99, notAfter: Date.now() + 30 * 365 * 86_400_000 }, rogue);
      return certVerdict(r, cert, () => r.gw.fleetNode!.resolver.certificate(r.gwId)?.serial === 99);
    },
  },
  malformed('delta'),
  malformed('digest'),
  malformed('want'),
  malformed('state'),
  {
    name: 'malformed CBOR on fleet/certs',
    twin: async (r) => {
      // The twin: a fleet-signed certificate for b's own key with a new serial (what a renewal publishes).
      const cert = issueCertificate({ ...r.b.fleetNode!.provisioned.certificate, serial: 77 }, r.fd.fleetSigner());
      return (await certVerdict(r, cert, () => r.gw.fleetNode!.resolver.certificate(r.bId)?.serial === 77)).accepted;
    },
    attack: (r) => certVerdict(r, new Uint8Array([0xbf, 0x61, 0x61, 0xff, 0x00, 0x13]), () => false),
  },
];

runArea(t, 'field', cases);
