import { createHash } from 'node:crypto';
import type { VersionVector } from '../ccf/types.js';

/**
 * Fixed-size summary of a sync vector (issue 10): origins fall into {@link SUMMARY_BUCKETS} buckets
 * by a hash of their id; each bucket carries the XOR of its entries' hashes (order-free, so two
 * equal vectors always give equal buckets) and the sum of its versions. Versions only grow, so a
 * peer whose bucket sum exceeds ours holds something there that we lack; a bucket whose hash differs
 * at an equal sum differs both ways. The summary's size does not grow with the fleet: a digest costs
 * the same with 10 origins or 10,000, and the vector itself only travels, restricted to the buckets
 * that differ, in a want (the drill-down).
 */
export const SUMMARY_BUCKETS = 32;
/** Bytes of one bucket hash. */
export const SUMMARY_HASH_BYTES = 8;

export interface VectorSummary {
  /** SUMMARY_BUCKETS × SUMMARY_HASH_BYTES bytes. */
  hashes: Uint8Array;
  /** Per-bucket sum of versions (SUMMARY_BUCKETS entries). */
  sums: number[];
}

/** Bucket of an origin id: FNV-1a 32 of its characters (ids are [A-Za-z0-9_-]). */
export function bucketOf(origin: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < origin.length; i++) {
    h ^= origin.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % SUMMARY_BUCKETS;
}

function entryHash(origin: string, version: number): Buffer {
  return createHash('sha256').update(`${origin}\0${version}`).digest().subarray(0, SUMMARY_HASH_BYTES);
}

/** Summaries with a per-entry hash cache (a board recomputes only the origins that moved). */
export class VectorSummarizer {
  private readonly cache = new Map<string, { v: number; h: Buffer; b: number }>();

  summarize(vv: VersionVector): VectorSummary {
    const hashes = new Uint8Array(SUMMARY_BUCKETS * SUMMARY_HASH_BYTES);
    const sums = new Array<number>(SUMMARY_BUCKETS).fill(0);
    for (const [o, v] of Object.entries(vv)) {
      if (!(v > 0)) continue;
      let e = this.cache.get(o);
      if (!e || e.v !== v) this.cache.set(o, (e = { v, h: entryHash(o, v), b: e?.b ?? bucketOf(o) }));
      const off = e.b * SUMMARY_HASH_BYTES;
      for (let i = 0; i < SUMMARY_HASH_BYTES; i++) hashes[off + i]! ^= e.h[i]!;
      sums[e.b]! += v;
    }
    if (this.cache.size > 2 * Object.keys(vv).length + 64) for (const o of this.cache.keys()) if (!(o in vv)) this.cache.delete(o);
    return { hashes, sums };
  }
}

/** Buckets where `peer` may hold versions that `mine` lacks: hashes differ and its sum is not below ours. */
export function bucketsBehind(mine: VectorSummary, peer: VectorSummary): number[] {
  const out: number[] = [];
  for (let b = 0; b < SUMMARY_BUCKETS; b++) {
    if ((peer.sums[b] ?? 0) < (mine.sums[b] ?? 0)) continue;
    const off = b * SUMMARY_HASH_BYTES;
    let same = true;
    for (let i = 0; i < SUMMARY_HASH_BYTES; i++) if (mine.hashes[off + i] !== peer.hashes[off + i]) same = false;
    if (!same) out.push(b);
  }
  return out;
}

/** Buckets whose hashes differ, whichever side is ahead (after a partition both sides may be). */
export function bucketsDiffering(mine: VectorSummary, peer: VectorSummary): number[] {
  const out: number[] = [];
  for (let b = 0; b < SUMMARY_BUCKETS; b++) {
    const off = b * SUMMARY_HASH_BYTES;
    for (let i = 0; i < SUMMARY_HASH_BYTES; i++) {
      if (mine.hashes[off + i] !== peer.hashes[off + i]) {
        out.push(b);
        break;
      }
    }
  }
  return out;
}

/** The entries of `vv` whose origin falls in one of `buckets`. */
export function restrictToBuckets(vv: VersionVector, buckets: readonly number[]): VersionVector {
  const set = new Set(buckets);
  const out: VersionVector = {};
  for (const [o, v] of Object.entries(vv)) if (set.has(bucketOf(o))) out[o] = v;
  return out;
}
