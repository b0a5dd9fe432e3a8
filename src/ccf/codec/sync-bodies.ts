import { WireError } from '../../errors.js';
import { isSafeIntAtLeast, nameProblem } from '../limits.js';
import type { VersionVector } from '../types.js';
import { CborWriter, decodeCbor, isDecodedMap, type Decoded } from './cbor.js';

/**
 * Anti-entropy bodies (DESIGN 7 `ccf/digest` and `ccf/want`), plain CBOR:
 *   digest = {sh: bytes, ss: [uint...], digest: 32 bytes, count: uint}   (fixed-size summary of the
 *            sync vector, src/sync/vector-summary.ts: bucket hashes and bucket version sums)
 *          | {vv: {origin: version, ...}, digest, count}                   (the whole vector: older senders)
 *   want   = {vv: {origin: version, ...}, b?: [bucket...], r?: uint}   ("send me contributions newer
 *            than this vector"; with `b` the vector is only the entries of those buckets and the
 *            request is about them alone; `r` a nonce that picks which peers answer in a large fleet)
 * Version-vector entries are written sorted by origin so the encoding is deterministic.
 */
export interface DigestSummary {
  hashes: Uint8Array;
  sums: number[];
}

/** Most summary buckets accepted (the sender's bucket count must match ours to compare). */
export const MAX_SUMMARY_BUCKETS = 256;

export interface DigestBody {
  /** The whole sync vector (older senders). Exactly one of `vv` and `summary`. */
  vv?: VersionVector;
  summary?: DigestSummary;
  /** Hex sha256 state digest, as returned by CcfField.digest(). */
  digest: string;
  /** Number of (origin, key) contributions held. */
  count: number;
}
export interface WantBody {
  vv: VersionVector;
  /** Buckets the request is restricted to (vv holds only their entries). */
  buckets?: number[];
  /** Nonce choosing the answering peers. */
  nonce?: number;
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
  if ((b.vv === undefined) === (b.summary === undefined)) throw new WireError('WIRE_TYPE', 'digest body needs exactly one of vv and summary');
  const w = new CborWriter();
  w.head(5, b.vv ? 3 : 4);
  if (b.vv) {
    w.text('vv');
    writeVv(w, b.vv);
  } else {
    const sm = b.summary!;
    w.text('sh');
    w.bytes(sm.hashes);
    w.text('ss');
    w.head(4, sm.sums.length);
    for (const x of sm.sums) w.int(x);
  }
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
    const d = m.digest;
    if (!(d instanceof Uint8Array) || d.length !== 32) throw new WireError('WIRE_TYPE', 'digest body: digest must be 32 bytes');
    if (!isSafeIntAtLeast(m.count, 0)) throw new WireError('WIRE_TYPE', 'digest body: count must be a safe integer >= 0');
    const digest = Buffer.from(d).toString('hex');
    if (m.vv !== undefined) return { vv: readVv(m.vv, 'digest body'), digest, count: m.count };
    const sh = m.sh;
    const ss = m.ss;
    if (!(sh instanceof Uint8Array) || !Array.isArray(ss)) throw new WireError('WIRE_TYPE', 'digest body: needs vv, or sh (bytes) and ss (array)');
    if (ss.length < 1 || ss.length > MAX_SUMMARY_BUCKETS) throw new WireError('WIRE_OVERSIZE', `digest body: ${ss.length} summary buckets, allowed 1..${MAX_SUMMARY_BUCKETS}`);
    if (sh.length !== ss.length * 8) throw new WireError('WIRE_TYPE', `digest body: sh is ${sh.length} bytes, expected 8 per bucket (${ss.length * 8})`);
    const sums = ss.map((x, i) => {
      if (!isSafeIntAtLeast(x, 0)) throw new WireError('WIRE_TYPE', `digest body: ss[${i}] must be a safe integer >= 0`);
      return x as number;
    });
    return { summary: { hashes: new Uint8Array(sh), sums }, digest, count: m.count };
  });
}

export function encodeWantBody(b: WantBody): Uint8Array {
  const w = new CborWriter();
  w.head(5, 1 + (b.buckets ? 1 : 0) + (b.nonce !== undefined ? 1 : 0));
  w.text('vv');
  writeVv(w, b.vv);
  if (b.buckets) {
    w.text('b');
    w.head(4, b.buckets.length);
    for (const x of b.buckets) w.int(x);
  }
  if (b.nonce !== undefined) {
    w.text('r');
    w.int(b.nonce);
  }
  return w.finish();
}

export function decodeWantBody(bytes: Uint8Array): WantBody {
  return guard('want body', () => {
    const m = decodeCbor(bytes, { maxDepth: 3 });
    if (!isDecodedMap(m)) throw new WireError('WIRE_TYPE', 'want body is not a map');
    const out: WantBody = { vv: readVv(m.vv, 'want body') };
    if (m.b !== undefined) {
      if (!Array.isArray(m.b) || m.b.length > MAX_SUMMARY_BUCKETS) throw new WireError('WIRE_TYPE', `want body: b must be an array of at most ${MAX_SUMMARY_BUCKETS} bucket numbers`);
      out.buckets = m.b.map((x, i) => {
        if (!isSafeIntAtLeast(x, 0) || (x as number) >= MAX_SUMMARY_BUCKETS) throw new WireError('WIRE_TYPE', `want body: b[${i}] must be a bucket number below ${MAX_SUMMARY_BUCKETS}`);
        return x as number;
      });
    }
    if (m.r !== undefined) {
      if (!isSafeIntAtLeast(m.r, 0) || (m.r as number) > 0xffffffff) throw new WireError('WIRE_TYPE', 'want body: r must be a uint32');
      out.nonce = m.r as number;
    }
    return out;
  });
}
