import type { Contribution, VersionVector } from '../ccf/types.js';
import type { SyncDelta } from './delta-wire.js';

/**
 * Split contributions into deltas whose encoded size stays within `budget` bytes (DESIGN 7: keep a
 * message under 128 KB). Each origin's contributions are sent in version order so the batches'
 * coverage ranges chain: batch k covers (previous upto, highest version in batch k], the last one
 * up to `upto[origin]`. An origin with nothing to send but coverage to claim gets an empty range entry.
 */
export function planBatches(cs: Contribution[], base: VersionVector, upto: VersionVector, budget: number, size: (d: SyncDelta) => number): SyncDelta[] {
  const sorted = [...cs].sort((a, b) => (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : a.version - b.version));
  const whole = cover(sorted, base, upto, true);
  const all: SyncDelta = { cover: whole, contributions: sorted };
  if (sorted.length <= 1 || size(all) <= budget) return Object.keys(whole).length ? [all] : [];
  // Greedy by estimated per-contribution size, then verify and halve on overflow.
  const out: SyncDelta[] = [];
  const per = size(all) / sorted.length;
  let chunk = Math.max(1, Math.floor(budget / per));
  let i = 0;
  while (i < sorted.length) {
    const part = sorted.slice(i, i + chunk);
    const last = i + part.length >= sorted.length;
    const d: SyncDelta = { cover: cover(part, progress(sorted, i, base), upto, last), contributions: part };
    if (part.length > 1 && size(d) > budget) {
      chunk = Math.max(1, Math.floor(chunk / 2));
      continue;
    }
    out.push(d);
    i += part.length;
  }
  return out;
}

/** Base per origin for the batch starting at index i: the highest version sent before it. */
function progress(sorted: Contribution[], i: number, base: VersionVector): VersionVector {
  const b: VersionVector = { ...base };
  for (let k = 0; k < i; k++) {
    const c = sorted[k]!;
    b[c.origin] = Math.max(b[c.origin] ?? 0, c.version);
  }
  return b;
}

function cover(part: Contribution[], base: VersionVector, upto: VersionVector, last: boolean): Record<string, readonly [number, number]> {
  const out: Record<string, readonly [number, number]> = {};
  const top: VersionVector = {};
  for (const c of part) top[c.origin] = Math.max(top[c.origin] ?? 0, c.version);
  const origins = new Set([...Object.keys(top), ...(last ? Object.keys(upto) : [])]);
  for (const o of origins) {
    const b = base[o] ?? 0;
    let u = top[o] ?? b;
    if (last) u = Math.max(u, upto[o] ?? 0);
    if (u > b) out[o] = [b, u];
  }
  return out;
}
