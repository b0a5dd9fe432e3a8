import { WireError } from '../errors.js';
import { CborWriter, decodeCbor, isDecodedMap } from '../ccf/codec/cbor.js';
import { decodeDeltaBody, encodeDeltaBody, type DeltaLimits } from '../ccf/codec/delta-body.js';
import { isSafeIntAtLeast, nameProblem } from '../ccf/limits.js';
import type { Contribution, Quantization } from '../ccf/types.js';
import type { CoverageRanges } from './sync-vector.js';
import { readOriginProofs, writeOriginProofs, type OriginProof } from '../ccf/codec/origin-proof.js';

/**
 * Body of a `delta` envelope on `ccf/delta/<node>` (DESIGN section 7), canonical CBOR map:
 *   { cover: [[origin, base, upto], ...] (sorted by origin), delta: <delta body bytes>, osig?: [...] }
 * `osig` (optional; required by receivers in fleet mode) holds the origins' batch signatures
 * (src/ccf/codec/origin-proof.ts); a delta without it decodes as before.
 * `delta` is the CCF delta body (src/ccf/codec/delta-body.ts: quantized vectors, deflate-raw).
 * `cover` says: for each listed origin, this message carries every contribution the sender holds with
 * version in (base, upto]. Receivers use it to advance their sync vector only across contiguous
 * ranges (see sync-vector.ts), so a delta received after missing others cannot hide a gap.
 */
export interface SyncDelta {
  cover: CoverageRanges;
  contributions: Contribution[];
  /** Origin signatures over the contributions (origin-proof.ts); absent = unsigned (open mode). */
  proofs?: OriginProof[];
}

/** Most coverage entries in one delta. */
export const MAX_COVER_ENTRIES = 65536;

export function encodeSyncDelta(d: SyncDelta, quantization: Quantization): Uint8Array {
  const body = encodeDeltaBody(d.contributions, { quantization });
  const origins = Object.keys(d.cover).sort();
  const proofs = d.proofs?.length ? d.proofs : undefined;
  const w = new CborWriter(body.length + 32 + origins.length * 32 + (proofs ? proofs.length * 96 : 0));
  w.head(5, proofs ? 3 : 2);
  w.text('cover');
  w.head(4, origins.length);
  for (const o of origins) {
    const [base, upto] = d.cover[o]!;
    w.head(4, 3);
    w.text(o);
    w.int(base);
    w.int(upto);
  }
  w.text('delta');
  w.bytes(body);
  if (proofs) {
    w.text('osig');
    writeOriginProofs(w, proofs);
  }
  return w.finish();
}

/** Decode and validate; throws only WireError (code names the failed check). */
export function decodeSyncDelta(bytes: Uint8Array, limits: DeltaLimits = {}): SyncDelta {
  let m;
  try {
    m = decodeCbor(bytes, { maxDepth: 4 });
  } catch (err) {
    if (err instanceof WireError) throw err;
    throw new WireError('WIRE_MALFORMED', `delta could not be decoded: ${(err as Error).message}`, { cause: err });
  }
  if (!isDecodedMap(m)) throw new WireError('WIRE_TYPE', 'delta body must be a CBOR map');
  const keys = Object.keys(m);
  const signed = keys.length === 3 && 'osig' in m;
  if ((keys.length !== 2 && !signed) || !('cover' in m) || !('delta' in m)) throw new WireError('WIRE_TYPE', `delta body must have the fields cover, delta and optionally osig (got ${keys.join(', ')})`);
  const cov = m.cover;
  if (!Array.isArray(cov)) throw new WireError('WIRE_TYPE', 'delta cover must be an array');
  if (cov.length > MAX_COVER_ENTRIES) throw new WireError('WIRE_OVERSIZE', `delta cover has ${cov.length} entries, limit ${MAX_COVER_ENTRIES}`);
  const cover: Record<string, readonly [number, number]> = {};
  for (const e of cov) {
    if (!Array.isArray(e) || e.length !== 3) throw new WireError('WIRE_TYPE', 'delta cover entry must be [origin, base, upto]');
    const [o, base, upto] = e;
    const p = nameProblem(o);
    if (p) throw new WireError('WIRE_TYPE', `delta cover origin: ${p}`);
    if (!isSafeIntAtLeast(base, 0) || !isSafeIntAtLeast(upto, 0) || upto < base) throw new WireError('WIRE_TYPE', `delta cover for ${String(o)} must be safe integers 0 <= base <= upto`);
    if ((o as string) in cover) throw new WireError('WIRE_TYPE', `delta cover lists origin ${String(o)} twice`);
    cover[o as string] = [base, upto];
  }
  if (!(m.delta instanceof Uint8Array)) throw new WireError('WIRE_TYPE', 'delta field must be a byte string');
  const contributions = decodeDeltaBody(m.delta, limits);
  for (const c of contributions) {
    const r = cover[c.origin];
    if (!r || c.version <= r[0]) {
      // A contribution outside the declared coverage would let a relay advance a peer's sync vector
      // without the data: reject the message rather than trust it.
      throw new WireError('WIRE_TYPE', `delta carries ${c.origin}/${c.key} v${c.version} outside its cover`);
    }
  }
  if (!signed) return { cover, contributions };
  return { cover, contributions, proofs: readOriginProofs(m.osig!, contributions.length) };
}
