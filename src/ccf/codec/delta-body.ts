import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { WireError } from '../../errors.js';
import { contributionProblem, f32Bytes, f32FromBytes } from '../canonical.js';
import { MAX_DIM } from '../limits.js';
import { dequantizeFloat16, dequantizeInt8, isCanonicalScale, isExactIn, quantizeFloat16, quantizeInt8 } from '../quantize.js';
import type { Contribution, Quantization } from '../types.js';
import { CborWriter, decodeCbor, type Decoded } from './cbor.js';

/**
 * Delta body (DESIGN 7): one flag byte, then CBOR (deflate-raw compressed when that is smaller).
 *   flag 0x00 = plain CBOR, 0x01 = deflate-raw(CBOR)
 *   CBOR = [ [origin, key, version, hlcWall, hlcLogical, count: float32, fmt, data], ... ]
 *   fmt 0 = int8:    data = scale (float32 LE, a power of two) ++ dim int8 values
 *   fmt 1 = float16: data = dim x binary16 LE
 *   fmt 2 = float32: data = dim x float32 LE (only for vectors not exact in either quantized format)
 * The encoder picks, per vector, the smallest format that carries the stored value WITHOUT loss
 * (int8, then float16, then float32). Local contributions are canonical in the configured
 * quantization already, so they always travel quantized, and relays re-encode byte-identically.
 */
export const DELTA_FLAG_PLAIN = 0x00;
export const DELTA_FLAG_DEFLATE = 0x01;
const FMT_INT8 = 0;
const FMT_F16 = 1;
const FMT_F32 = 2;
/** Bodies smaller than this are never compressed. */
export const COMPRESS_MIN_BYTES = 512;

export interface EncodeDeltaOptions {
  /** The configured quantization (documents intent; exactness decides the per-vector format). */
  quantization: Quantization;
  /** Try deflate-raw; default true. */
  compress?: boolean;
}

function vectorData(sum: Float32Array, preferred: Quantization): [number, Uint8Array] {
  const order: Quantization[] = preferred === 'int8' ? ['int8', 'float16'] : ['float16', 'int8'];
  let best: [number, Uint8Array] | undefined;
  for (const q of order) {
    if (!isExactIn(sum, q)) continue;
    let cand: [number, Uint8Array];
    if (q === 'int8') {
      const v = quantizeInt8(sum);
      const data = new Uint8Array(4 + v.q.length);
      new DataView(data.buffer).setFloat32(0, v.scale, true);
      data.set(new Uint8Array(v.q.buffer, v.q.byteOffset, v.q.length), 4);
      cand = [FMT_INT8, data];
    } else {
      const h = quantizeFloat16(sum);
      const data = new Uint8Array(h.length * 2);
      const dv = new DataView(data.buffer);
      for (let i = 0; i < h.length; i++) dv.setUint16(i * 2, h[i]!, true);
      cand = [FMT_F16, data];
    }
    if (!best || cand[1].length < best[1].length) best = cand;
    if (cand[0] === FMT_INT8 && sum.length >= 4) break; // int8 (4 + d bytes) is never larger than float16 (2d)
  }
  return best ?? [FMT_F32, f32Bytes(sum).slice()];
}

export function encodeDeltaBody(contributions: Contribution[], options: EncodeDeltaOptions): Uint8Array {
  const w = new CborWriter(64 + contributions.length * 96);
  w.head(4, contributions.length);
  for (const c of contributions) {
    const problem = contributionProblem(c);
    if (problem) throw new WireError('WIRE_TYPE', `cannot encode contribution ${c.origin}/${c.key}: ${problem}`);
    const [fmt, data] = vectorData(c.sum, options.quantization);
    w.head(4, 8);
    w.text(c.origin);
    w.text(c.key);
    w.int(c.version);
    w.int(c.hlc.wall);
    w.int(c.hlc.logical);
    w.float32(c.count);
    w.int(fmt);
    w.bytes(data);
  }
  const plain = w.finish();
  // zlib set-up costs tens of microseconds and deflate rarely wins on small bodies (one live
  // contribution is ~120 bytes), so only bodies of at least COMPRESS_MIN_BYTES are tried.
  if (options.compress !== false && plain.length >= COMPRESS_MIN_BYTES) {
    const z = deflateRawSync(plain);
    if (z.length + 1 < plain.length + 1) return concat(DELTA_FLAG_DEFLATE, z);
  }
  return concat(DELTA_FLAG_PLAIN, plain);
}

function concat(flag: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(payload.length + 1);
  out[0] = flag;
  out.set(payload, 1);
  return out;
}

export interface DeltaLimits {
  /** Most contributions in one body. Default 8192. */
  maxContributions?: number;
  /** Largest inflated CBOR size (deflate-bomb guard). Default 4 MiB. */
  maxInflatedBytes?: number;
  /** Largest vector dimension. Default 4096. */
  maxDim?: number;
}

/** Decode a delta body; validates every field and throws only WireError. */
export function decodeDeltaBody(bytes: Uint8Array, limits: DeltaLimits = {}): Contribution[] {
  try {
    return decodeUnsafe(bytes, limits);
  } catch (err) {
    if (err instanceof WireError) throw err;
    throw new WireError('WIRE_MALFORMED', `delta body could not be decoded: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

function inflate(z: Uint8Array, max: number): Uint8Array {
  try {
    return inflateRawSync(z, { maxOutputLength: max });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') throw new WireError('WIRE_OVERSIZE', `delta body inflates beyond ${max} bytes`, { cause: err });
    if (code === 'Z_BUF_ERROR') throw new WireError('WIRE_TRUNCATED', 'delta body deflate stream is truncated', { cause: err });
    throw new WireError('WIRE_MALFORMED', `delta body deflate stream is invalid: ${(err as Error).message}`, { cause: err });
  }
}

function decodeUnsafe(bytes: Uint8Array, limits: DeltaLimits): Contribution[] {
  const maxContributions = limits.maxContributions ?? 8192;
  const maxDim = Math.min(limits.maxDim ?? MAX_DIM, MAX_DIM);
  if (bytes.length < 2) throw new WireError('WIRE_TRUNCATED', `delta body is ${bytes.length} bytes`);
  const flag = bytes[0];
  let cbor: Uint8Array;
  if (flag === DELTA_FLAG_PLAIN) cbor = bytes.subarray(1);
  else if (flag === DELTA_FLAG_DEFLATE) cbor = inflate(bytes.subarray(1), limits.maxInflatedBytes ?? 4 * 1024 * 1024);
  else throw new WireError('WIRE_MALFORMED', `delta body flag 0x${flag!.toString(16)} is unknown`);
  const list = decodeCbor(cbor, { maxDepth: 3 });
  if (!Array.isArray(list)) throw new WireError('WIRE_TYPE', 'delta body is not a CBOR array');
  if (list.length > maxContributions) throw new WireError('WIRE_OVERSIZE', `delta body has ${list.length} contributions, limit ${maxContributions}`);
  return list.map((item, i) => decodeOne(item, i, maxDim));
}

function decodeOne(item: Decoded, i: number, maxDim: number): Contribution {
  const at = `delta contribution #${i}`;
  if (!Array.isArray(item) || item.length !== 8) throw new WireError('WIRE_TYPE', `${at} is not an 8-element array`);
  const [origin, key, version, wall, logical, count, fmt, data] = item;
  if (typeof origin !== 'string' || typeof key !== 'string') throw new WireError('WIRE_TYPE', `${at}: origin and key must be text strings`);
  if (typeof version !== 'number' || typeof wall !== 'number' || typeof logical !== 'number') throw new WireError('WIRE_TYPE', `${at}: version and hlc must be integers`);
  if (typeof count !== 'number') throw new WireError('WIRE_TYPE', `${at}: count must be a number`);
  if (typeof fmt !== 'number' || !(data instanceof Uint8Array)) throw new WireError('WIRE_TYPE', `${at}: vector format and data missing`);
  const sum = decodeVector(fmt, data, at, maxDim);
  const c: Contribution = { origin, key, version, hlc: { wall, logical }, count: Math.fround(count) + 0, sum };
  const problem = contributionProblem(c);
  if (problem) throw new WireError('WIRE_TYPE', `${at} (${origin}/${key}): ${problem}`);
  return c;
}

function decodeVector(fmt: number, data: Uint8Array, at: string, maxDim: number): Float32Array {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let dim: number;
  if (fmt === FMT_INT8) {
    dim = data.length - 4;
    if (dim < 1 || dim > maxDim) throw new WireError('WIRE_TYPE', `${at}: int8 vector dimension ${dim} is outside 1..${maxDim}`);
    const scale = dv.getFloat32(0, true);
    if (!isCanonicalScale(scale)) throw new WireError('WIRE_TYPE', `${at}: int8 scale ${scale} is not a power of two`);
    const q = new Int8Array(dim);
    q.set(new Int8Array(data.buffer, data.byteOffset + 4, dim));
    return dequantizeInt8({ scale, q });
  }
  if (fmt === FMT_F16) {
    if (data.length % 2 !== 0) throw new WireError('WIRE_TYPE', `${at}: float16 data length ${data.length} is odd`);
    dim = data.length / 2;
    if (dim < 1 || dim > maxDim) throw new WireError('WIRE_TYPE', `${at}: float16 vector dimension ${dim} is outside 1..${maxDim}`);
    const h = new Uint16Array(dim);
    for (let i = 0; i < dim; i++) {
      h[i] = dv.getUint16(i * 2, true);
      if ((h[i]! & 0x7c00) === 0x7c00) throw new WireError('WIRE_TYPE', `${at}: float16 value ${i} is NaN or Infinity`);
    }
    return dequantizeFloat16(h);
  }
  if (fmt === FMT_F32) {
    if (data.length % 4 !== 0) throw new WireError('WIRE_TYPE', `${at}: float32 data length ${data.length} is not a multiple of 4`);
    dim = data.length / 4;
    if (dim < 1 || dim > maxDim) throw new WireError('WIRE_TYPE', `${at}: float32 vector dimension ${dim} is outside 1..${maxDim}`);
    const v = f32FromBytes(data);
    for (let i = 0; i < dim; i++) {
      if (!Number.isFinite(v[i]!)) throw new WireError('WIRE_TYPE', `${at}: float32 value ${i} is NaN or Infinity`);
      v[i] = v[i]! + 0;
    }
    return v;
  }
  throw new WireError('WIRE_TYPE', `${at}: vector format ${fmt} is unknown (0 int8, 1 float16, 2 float32)`);
}
