/**
 * The simulated fleet's wire: each node's new contributions go through the REAL codec, exactly as
 * the daemon's CCF sync ships them: `encodeDeltaBody` (quantized CBOR, deflate-raw) wrapped in the
 * sync's `{cover, delta}` body (`encodeSyncDelta`) inside a signed `encodeEnvelope`; every receiver
 * runs `decodeEnvelope` (signature, fleet, replay checks) + `decodeSyncDelta`/`decodeDeltaBody`
 * before `CcfField.merge`. Bytes are counted on the encoded envelope.
 */
import { createSigner, keyPairFromSeed, type Signer } from '../../crypto/ed25519.js';
import { decodeSyncDelta, encodeSyncDelta } from '../../sync/delta-wire.js';
import { decodeEnvelope, encodeEnvelope } from '../../ccf/codec/envelope.js';
import { ReplayGuard } from '../../ccf/codec/replay.js';
import type { Contribution, HlcStamp, Quantization } from '../../ccf/types.js';

/** One simulated sender: its signing key and sequence counter. */
export interface WireNode {
  id: string;
  publicKey: Uint8Array;
  signer: Signer;
  seq: number;
}

/** Deterministic key for simulated node `index` under `seed` (simulation only). */
export function simulatedWireNode(id: string, seed: number, index: number): WireNode {
  const s = new Uint8Array(32);
  new DataView(s.buffer).setUint32(0, seed >>> 0, true);
  new DataView(s.buffer).setUint32(4, index, true);
  s[31] = 0x5e;
  const pair = keyPairFromSeed(s);
  return { id, publicKey: pair.publicKey, signer: createSigner(pair), seq: 0 };
}

/** Encode `contributions` from `node` as one signed delta envelope. */
export function encodeDelta(node: WireNode, fleet: string, contributions: Contribution[], hlc: HlcStamp, quantization: Quantization, base: number): Uint8Array {
  const upto = Math.max(...contributions.map((c) => c.version));
  const body = encodeSyncDelta({ cover: { [node.id]: [base, upto] }, contributions }, quantization);
  node.seq++;
  return encodeEnvelope({ kind: 'delta', fleet, from: node.id, seq: node.seq, hlc, body }, node.signer);
}

/** A receiver: verifies envelopes from known senders and returns the decoded contributions. */
export class WireReceiver {
  private readonly replay = new ReplayGuard();
  constructor(
    private readonly fleet: string,
    private readonly keys: ReadonlyMap<string, Uint8Array>,
  ) {}

  decode(bytes: Uint8Array): Contribution[] {
    const env = decodeEnvelope(bytes, { fleet: this.fleet, kinds: ['delta'], resolveKey: (from) => this.keys.get(from), replay: this.replay });
    const { contributions } = decodeSyncDelta(env.body);
    // a sender may only speak for itself (DESIGN 8: nodes publish under their own topics)
    return contributions.filter((c) => c.origin === env.from);
  }
}
