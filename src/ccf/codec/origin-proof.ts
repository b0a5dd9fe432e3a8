import { createHash } from 'node:crypto';
import { WireError } from '../../errors.js';
import { f32Bytes } from '../canonical.js';
import { nameProblem } from '../limits.js';
import type { Contribution } from '../types.js';
import { CborWriter, type Decoded } from './cbor.js';

/**
 * Per-origin authenticity (DESIGN 12, issue 9): every contribution is verifiable against its ORIGIN's
 * key, wherever it was relayed from. An origin signs each batch of contributions it publishes:
 *   item hash  h(c) = SHA-256("h3lix-contrib-v1" ‖ CBOR[origin, key, version, hlcWall, hlcLogical,
 *                     count: float32] ‖ float32 LE of sum)[0..16]
 *   signature  Ed25519(origin key, "h3lix-osig-v1\0" ‖ fleet ‖ "\0" ‖ origin ‖ "\0" ‖ the batch's item
 *                     hashes sorted bytewise and concatenated)
 * The hash covers the stored (dequantized) value, so it does not depend on the quantization a relay
 * encodes with. A relay forwards the signature with whichever members of the batch it still holds;
 * for the members it does not send (superseded or not wanted) it sends their 16-byte hashes, so the
 * receiver can rebuild the signed list. Wire form, one entry per (origin, batch) in a delta:
 *   [origin, sig (64 bytes), others (16·k bytes), members: [index into the delta's contributions, ...]]
 */
export const ITEM_HASH_BYTES = 16;
export const MAX_PROOF_OTHERS = 8192;

export interface OriginProof {
  origin: string;
  sig: Uint8Array;
  /** Hashes of the signed batch's members that this message does not carry. */
  others: Uint8Array[];
  /** Indices of the contributions this proof covers in the delta's contribution list. */
  members: number[];
}

const HASH_TAG = Buffer.from('h3lix-contrib-v1');
const SIG_TAG = Buffer.from('h3lix-osig-v1\0');

/** The 16-byte item hash of one contribution. */
export function contributionHash(c: Contribution): Uint8Array {
  const w = new CborWriter(64);
  w.head(4, 6);
  w.text(c.origin);
  w.text(c.key);
  w.int(c.version);
  w.int(c.hlc.wall);
  w.int(c.hlc.logical);
  w.float32(c.count);
  return new Uint8Array(createHash('sha256').update(HASH_TAG).update(w.finish()).update(f32Bytes(c.sum)).digest().subarray(0, ITEM_HASH_BYTES));
}

/** The bytes an origin signs for a batch with item hashes `hashes` (any order). */
export function originSignedBytes(fleet: string, origin: string, hashes: readonly Uint8Array[]): Uint8Array {
  const sorted = [...hashes].sort((a, b) => Buffer.compare(a, b));
  return Buffer.concat([SIG_TAG, Buffer.from(fleet), Buffer.from([0]), Buffer.from(origin), Buffer.from([0]), ...sorted]);
}

export function writeOriginProofs(w: CborWriter, proofs: readonly OriginProof[]): void {
  w.head(4, proofs.length);
  for (const p of proofs) {
    w.head(4, 4);
    w.text(p.origin);
    w.bytes(p.sig);
    w.bytes(Buffer.concat(p.others));
    w.head(4, p.members.length);
    for (const i of p.members) w.int(i);
  }
}

/** Validate the decoded `osig` field against a delta of `count` contributions; throws WireError. */
export function readOriginProofs(v: Decoded, count: number): OriginProof[] {
  if (!Array.isArray(v)) throw new WireError('WIRE_TYPE', 'delta osig must be an array');
  if (v.length > count) throw new WireError('WIRE_OVERSIZE', `delta osig has ${v.length} entries for ${count} contributions`);
  const seen = new Set<number>();
  return v.map((e, n) => {
    const at = `delta osig entry #${n}`;
    if (!Array.isArray(e) || e.length !== 4) throw new WireError('WIRE_TYPE', `${at} must be [origin, sig, others, members]`);
    const [origin, sig, others, members] = e;
    const p = nameProblem(origin);
    if (p) throw new WireError('WIRE_TYPE', `${at}: origin ${p}`);
    if (!(sig instanceof Uint8Array) || sig.length !== 64) throw new WireError('WIRE_TYPE', `${at}: sig must be 64 bytes`);
    if (!(others instanceof Uint8Array) || others.length % ITEM_HASH_BYTES !== 0 || others.length / ITEM_HASH_BYTES > MAX_PROOF_OTHERS) {
      throw new WireError('WIRE_TYPE', `${at}: others must be at most ${MAX_PROOF_OTHERS} hashes of ${ITEM_HASH_BYTES} bytes`);
    }
    if (!Array.isArray(members) || members.length === 0) throw new WireError('WIRE_TYPE', `${at}: members must be a non-empty array`);
    const idx = members.map((i) => {
      if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= count) throw new WireError('WIRE_TYPE', `${at}: member index ${String(i)} is outside 0..${count - 1}`);
      if (seen.has(i)) throw new WireError('WIRE_TYPE', `${at}: contribution #${i} is claimed by two proofs`);
      seen.add(i);
      return i;
    });
    const list: Uint8Array[] = [];
    for (let o = 0; o < others.length; o += ITEM_HASH_BYTES) list.push(others.subarray(o, o + ITEM_HASH_BYTES));
    return { origin: origin as string, sig, others: list, members: idx };
  });
}
