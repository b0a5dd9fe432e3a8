import { halfBitsToNumber } from './codec/cbor.js';
import type { Quantization } from './types.js';

/**
 * Canonical quantization (lead decision, DESIGN 3 + 7). Every node must hold byte-identical state, so
 * the origin stores its own vectors already quantized and dequantized, and quantization is idempotent:
 * quantize(dequantize(q)) == q, hence relays re-encode a received vector to the same bytes.
 *
 * int8: q[i] = round(x[i] / s) in [-127, 127] with a per-vector scale s that is a POWER OF TWO (stored
 * as a float32 on the wire). A power-of-two scale makes q[i]*s exact in float32, and because s is the
 * smallest power of two with max|x|/s <= 127, max|q| >= 64 after rounding, so requantizing picks the
 * same s and the same q: idempotent by construction. The price is at most one bit of range.
 * float16: IEEE binary16, round to nearest even; magnitudes above 65504 clamp to +-65504 (never Inf).
 * -0 is normalized to +0 in both, so equal values have equal bytes.
 */

const MIN_EXP = -149; // smallest float32 power of two (subnormal)
// 127 * 2^121 is the largest int8 value below float32 max; with 2^122 a rounded-up q of 64 would
// overflow to Infinity. Magnitudes above 127 * 2^121 (~3.38e38) clamp to it.
const MAX_EXP = 121;

/** The canonical int8 scale exponent for a vector whose largest magnitude is `maxAbs`. */
export function int8ScaleExponent(maxAbs: number): number {
  if (!Number.isFinite(maxAbs)) throw new RangeError('cannot quantize a vector with NaN or Infinity');
  if (maxAbs === 0) return 0;
  let e = Math.ceil(Math.log2(maxAbs / 127));
  // log2 is not exact: correct by one step either way so e is the smallest with maxAbs / 2^e <= 127
  while (maxAbs / 2 ** e > 127 && e < MAX_EXP) e++;
  while (e > MIN_EXP && maxAbs / 2 ** (e - 1) <= 127) e--;
  return Math.min(MAX_EXP, Math.max(MIN_EXP, e));
}

export interface Int8Vector {
  /** Power-of-two scale (float32-exact). */
  scale: number;
  q: Int8Array;
}

export function quantizeInt8(x: Float32Array): Int8Vector {
  let maxAbs = 0;
  for (let i = 0; i < x.length; i++) {
    const a = Math.abs(x[i]!);
    if (a > maxAbs || Number.isNaN(a)) maxAbs = a; // NaN sticks (a > NaN is false) and is rejected below
  }
  const scale = 2 ** int8ScaleExponent(maxAbs);
  const q = new Int8Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = Math.round(x[i]! / scale);
    q[i] = v > 127 ? 127 : v < -127 ? -127 : v;
  }
  return { scale, q };
}

export function dequantizeInt8(v: Int8Vector): Float32Array {
  const out = new Float32Array(v.q.length);
  for (let i = 0; i < out.length; i++) out[i] = v.q[i]! * v.scale + 0; // + 0 turns -0 into +0
  return out;
}

/** True when `s` is a power of two a canonical int8 vector can carry. */
export function isCanonicalScale(s: number): boolean {
  if (!(s > 0) || !Number.isFinite(s)) return false;
  const e = Math.log2(s);
  return Number.isInteger(e) && e >= MIN_EXP && e <= MAX_EXP;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 value -> IEEE binary16 bits, round to nearest even, clamped to +-65504, -0 -> +0. */
export function toHalfBits(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  let half: number;
  if (exp === 0xff) {
    half = mant ? 0x7e00 : 0x7bff; // NaN stays NaN (validators reject it); Inf clamps
  } else {
    const e = exp - 127 + 15;
    if (e >= 0x1f) half = 0x7bff;
    else if (e <= 0) {
      if (e < -10) half = 0;
      else {
        mant |= 0x800000;
        const shift = 14 - e;
        half = mant >>> shift;
        const rem = mant & ((1 << shift) - 1);
        const halfway = 1 << (shift - 1);
        if (rem > halfway || (rem === halfway && half & 1)) half++;
      }
    } else {
      half = (e << 10) | (mant >>> 13);
      const rem = mant & 0x1fff;
      if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
      if (half >= 0x7c00) half = 0x7bff;
    }
  }
  return half === 0 ? 0 : sign | half;
}

export function quantizeFloat16(x: Float32Array): Uint16Array {
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = toHalfBits(x[i]!);
  return out;
}

export function dequantizeFloat16(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) out[i] = halfBitsToNumber(h[i]!) + 0;
  return out;
}

/** quantize -> dequantize with the given scheme: the canonical stored form of a local vector. */
export function canonicalVector(x: Float32Array, quantization: Quantization): Float32Array {
  return quantization === 'int8' ? dequantizeInt8(quantizeInt8(x)) : dequantizeFloat16(quantizeFloat16(x));
}

/** float32-canonical count (noised counts are not integers); -0 -> +0. */
export function canonicalCount(count: number): number {
  return Math.fround(count) + 0;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

/** True when `x` is a fixed point of the scheme, i.e. can travel in that format without loss. */
export function isExactIn(x: Float32Array, quantization: Quantization): boolean {
  return sameBits(canonicalVector(x, quantization), x);
}
