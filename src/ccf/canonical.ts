import { endianness } from 'node:os';
import { MAX_DIM, isSafeIntAtLeast, nameProblem } from './limits.js';
import { compareHlc } from './hlc.js';
import type { Contribution } from './types.js';

const LITTLE_ENDIAN = endianness() === 'LE';

/** The float32 values of `x` as little-endian bytes (a view on LE hosts, a copy otherwise). */
export function f32Bytes(x: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  const out = new Uint8Array(x.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < x.length; i++) dv.setFloat32(i * 4, x[i]!, true);
  return out;
}

/** Little-endian float32 bytes -> Float32Array (always a copy, aligned). */
export function f32FromBytes(b: Uint8Array): Float32Array {
  const n = b.length >> 2;
  if (LITTLE_ENDIAN) {
    const copy = new Uint8Array(n * 4);
    copy.set(b.subarray(0, n * 4));
    return new Float32Array(copy.buffer);
  }
  const out = new Float32Array(n);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
  return out;
}

/** Why `c` is not a valid contribution, or undefined. Shared by merge and the delta decoder. */
export function contributionProblem(c: Contribution): string | undefined {
  const o = nameProblem(c.origin);
  if (o) return `origin ${o}`;
  const k = nameProblem(c.key);
  if (k) return `key ${k}`;
  if (!isSafeIntAtLeast(c.version, 1)) return `version ${String(c.version)} is not a safe integer >= 1`;
  if (!c.hlc || !isSafeIntAtLeast(c.hlc.wall, 0) || !isSafeIntAtLeast(c.hlc.logical, 0)) return 'hlc must be {wall, logical} safe integers >= 0';
  if (typeof c.count !== 'number' || !Number.isFinite(c.count) || c.count < 0) return `count ${String(c.count)} must be finite and >= 0`;
  if (!(c.sum instanceof Float32Array)) return 'sum must be a Float32Array';
  if (c.sum.length < 1 || c.sum.length > MAX_DIM) return `dimension ${c.sum.length} is outside 1..${MAX_DIM}`;
  for (let i = 0; i < c.sum.length; i++) if (!Number.isFinite(c.sum[i]!)) return `sum[${i}] is not finite`;
  return undefined;
}

/** A stored copy: float32 count, fresh sum without -0, fresh hlc object. */
export function storedCopy(c: Contribution): Contribution {
  const sum = new Float32Array(c.sum.length);
  for (let i = 0; i < sum.length; i++) sum[i] = c.sum[i]! + 0;
  return { origin: c.origin, key: c.key, sum, count: Math.fround(c.count) + 0, version: c.version, hlc: { wall: c.hlc.wall, logical: c.hlc.logical } };
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * Total order between two contributions for the same (origin, key): version, then hlc, then count's
 * float32 bits, then dimension, then the sum's bytes. The join keeps the maximum, so merge is
 * commutative, associative and idempotent even for equal versions with different content.
 */
export function compareContributions(a: Contribution, b: Contribution): number {
  if (a.version !== b.version) return a.version < b.version ? -1 : 1;
  const h = compareHlc(a.hlc, b.hlc);
  if (h !== 0) return h;
  const ca = f32Bytes(Float32Array.of(a.count));
  const cb = f32Bytes(Float32Array.of(b.count));
  const cc = compareBytes(ca, cb);
  if (cc !== 0) return cc;
  if (a.sum.length !== b.sum.length) return a.sum.length - b.sum.length;
  return compareBytes(f32Bytes(a.sum), f32Bytes(b.sum));
}

/** Canonical (origin, key) ordering: by UTF-16 code units, origin first. */
export function compareSlot(a: Contribution, b: Contribution): number {
  if (a.origin !== b.origin) return a.origin < b.origin ? -1 : 1;
  return a.key === b.key ? 0 : a.key < b.key ? -1 : 1;
}
