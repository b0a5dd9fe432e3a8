import { WireError } from '../../errors.js';
import { isSafeIntAtLeast, nameProblem } from '../limits.js';
import type { VersionVector } from '../types.js';
import { CborWriter, decodeCbor, isDecodedMap, type Decoded } from './cbor.js';

/**
 * Anti-entropy bodies (DESIGN 7 `ccf/digest` and `ccf/want`), plain CBOR:
 *   digest = {vv: {origin: version, ...}, digest: 32 bytes, count: uint}
 *   want   = {vv: {origin: version, ...}}   ("send me contributions newer than this vector";
 *                                            an empty vector asks for everything)
 * Version-vector entries are written sorted by origin so the encoding is deterministic.
 */
export interface DigestBody {
  vv: VersionVector;
  /** Hex sha256 state digest, as returned by CcfField.digest(). */
  digest: string;
  /** Number of (origin, key) contributions held. */
  count: number;
}
export interface WantBody {
  vv: VersionVector;
}

/** Most origins accepted in one version vector. */
export const MAX_VV_ENTRIES = 65536;

function writeVv(w: CborWriter, vv: VersionVector): void {
  const origins = Object.keys(vv).sort();
  w.head(5, origins.length);
  for (const o of origins) {
    const p = nameProblem(o);
    if (p) throw new WireError('WIRE_TYPE', `version vector origin: ${p}`);
    w.text(o);
    w.int(vv[o]!);
  }
}

function readVv(v: Decoded | undefined, what: string): VersionVector {
  if (v === undefined || !isDecodedMap(v)) throw new WireError('WIRE_TYPE', `${what}: vv must be a map`);
  const keys = Object.keys(v);
  if (keys.length > MAX_VV_ENTRIES) throw new WireError('WIRE_OVERSIZE', `${what}: vv has ${keys.length} origins, limit ${MAX_VV_ENTRIES}`);
  const out: VersionVector = {};
  for (const k of keys) {
    const p = nameProblem(k);
    if (p) throw new WireError('WIRE_TYPE', `${what}: vv origin ${p}`);
    const n = v[k];
    if (!isSafeIntAtLeast(n, 0)) throw new WireError('WIRE_TYPE', `${what}: vv[${JSON.stringify(k)}] must be a safe integer >= 0`);
    out[k] = n;
  }
  return out;
}

function guard<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof WireError) throw err;
    throw new WireError('WIRE_MALFORMED', `${what} could not be decoded: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

export function encodeDigestBody(b: DigestBody): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(b.digest)) throw new WireError('WIRE_TYPE', 'digest must be 64 lowercase hex characters');
  if (!isSafeIntAtLeast(b.count, 0)) throw new WireError('WIRE_TYPE', 'digest count must be a safe integer >= 0');
  const w = new CborWriter();
  w.head(5, 3);
  w.text('vv');
  writeVv(w, b.vv);
  w.text('digest');
  w.bytes(Buffer.from(b.digest, 'hex'));
  w.text('count');
  w.int(b.count);
  return w.finish();
}

export function decodeDigestBody(bytes: Uint8Array): DigestBody {
  return guard('digest body', () => {
    const m = decodeCbor(bytes, { maxDepth: 3 });
    if (!isDecodedMap(m)) throw new WireError('WIRE_TYPE', 'digest body is not a map');
    const vv = readVv(m.vv, 'digest body');
    const d = m.digest;
    if (!(d instanceof Uint8Array) || d.length !== 32) throw new WireError('WIRE_TYPE', 'digest body: digest must be 32 bytes');
    if (!isSafeIntAtLeast(m.count, 0)) throw new WireError('WIRE_TYPE', 'digest body: count must be a safe integer >= 0');
    return { vv, digest: Buffer.from(d).toString('hex'), count: m.count };
  });
}

export function encodeWantBody(b: WantBody): Uint8Array {
  const w = new CborWriter();
  w.head(5, 1);
  w.text('vv');
  writeVv(w, b.vv);
  return w.finish();
}

export function decodeWantBody(bytes: Uint8Array): WantBody {
  return guard('want body', () => {
    const m = decodeCbor(bytes, { maxDepth: 3 });
    if (!isDecodedMap(m)) throw new WireError('WIRE_TYPE', 'want body is not a map');
    return { vv: readVv(m.vv, 'want body') };
  });
}
