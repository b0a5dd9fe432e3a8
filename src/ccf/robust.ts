import type { Contribution } from './types.js';

/** Parameters of the robust value (config `ccf.*`, DESIGN 3). */
export interface RobustParams {
  clipNorm: number;
  trimFraction: number;
  medianBelowOrigins: number;
  halfLifeSeconds: number;
  /** Largest weight share any single origin may hold (water-filled cap). */
  maxOriginShare: number;
}

/** One origin's input to the value: clipped mean, count and age-decay factor (weight = count x decay). */
export interface OriginPoint {
  origin: string;
  mean: Float32Array | Float64Array;
  count: number;
  /** 0.5^(age / halfLife), in (0, 1]. */
  decay: number;
}

/** sum / count clipped to L2 norm <= clipNorm (undefined when count is 0). */
export function clippedMean(c: Contribution, clipNorm: number): Float64Array | undefined {
  if (!(c.count > 0)) return undefined;
  const m = new Float64Array(c.sum.length);
  let sq = 0;
  for (let i = 0; i < m.length; i++) {
    const v = c.sum[i]! / c.count;
    m[i] = v;
    sq += v * v;
  }
  const norm = Math.sqrt(sq);
  if (!Number.isFinite(norm)) {
    // overflow (huge sum / tiny count): rescale by the largest coordinate first
    let maxAbs = 0;
    for (let i = 0; i < m.length; i++) maxAbs = Math.max(maxAbs, Math.abs(c.sum[i]!));
    let sq2 = 0;
    for (let i = 0; i < m.length; i++) {
      m[i] = c.sum[i]! / maxAbs;
      sq2 += m[i]! * m[i]!;
    }
    const n2 = Math.sqrt(sq2);
    for (let i = 0; i < m.length; i++) m[i] = (m[i]! / n2) * clipNorm;
    return m;
  }
  if (norm > clipNorm) for (let i = 0; i < m.length; i++) m[i] = (m[i]! * clipNorm) / norm;
  return m;
}

/** Age-decay factor 0.5^(age/halfLife); age from the contribution's hlc.wall, never negative. */
export function decay(wallMs: number, nowMs: number, halfLifeSeconds: number): number {
  const ageS = Math.max(0, nowMs - wallMs) / 1000;
  return 0.5 ** (ageS / halfLifeSeconds);
}

/**
 * Water-filling cap: the largest weights are lowered to a common cap c so that each capped origin
 * holds exactly `share` of the new total and no origin holds more. When n * share <= 1 the cap cannot
 * be met and all weights become equal (each origin then holds 1/n).
 */
export function capWeights(weights: number[], share: number): number[] {
  const n = weights.length;
  if (n === 0) return [];
  if (n * share <= 1) return weights.map(() => 1);
  const order = weights.map((_, i) => i).sort((a, b) => weights[b]! - weights[a]! || a - b);
  // rest[k] = sum of all but the k largest, summed from the smallest up (no cancellation)
  const rest = new Array<number>(n + 1).fill(0);
  for (let k = n - 1; k >= 0; k--) rest[k] = rest[k + 1]! + weights[order[k]!]!;
  for (let k = 0; k < n; k++) {
    // the top k are capped at c where c = share * (rest[k] + k * c)
    const cap = (share * rest[k]!) / (1 - share * k);
    if (weights[order[k]!]! <= cap) {
      const out = weights.slice();
      for (let j = 0; j < k; j++) out[order[j]!] = cap;
      return out;
    }
  }
  return weights.map(() => 1);
}

/** Weighted quantile-trimmed mean of one coordinate: drop `trim` of the total weight at each end. */
function trimmedMean(vals: Array<[number, number]>, trim: number): number {
  vals.sort((a, b) => a[0] - b[0]);
  let total = 0;
  for (const [, w] of vals) total += w;
  const lo = trim * total;
  const hi = total - lo;
  let acc = 0;
  let sum = 0;
  let kept = 0;
  for (const [v, w] of vals) {
    const a = Math.max(acc, lo);
    const b = Math.min(acc + w, hi);
    if (b > a) {
      sum += v * (b - a);
      kept += b - a;
    }
    acc += w;
  }
  return kept > 0 ? sum / kept : vals[Math.floor(vals.length / 2)]![0];
}

/** Weighted median of one coordinate (midpoint when the half-weight point falls on a boundary). */
function weightedMedian(vals: Array<[number, number]>): number {
  vals.sort((a, b) => a[0] - b[0]);
  let total = 0;
  for (const [, w] of vals) total += w;
  const half = total / 2;
  let acc = 0;
  for (let i = 0; i < vals.length; i++) {
    acc += vals[i]![1];
    if (acc > half * (1 + 1e-12)) return vals[i]![0];
    if (Math.abs(acc - half) <= half * 1e-12 && i + 1 < vals.length) return (vals[i]![0] + vals[i + 1]![0]) / 2;
  }
  return vals[vals.length - 1]![0];
}

/**
 * The robust value over origin points of one dimension (DESIGN 3): weights capped to
 * `maxOriginShare`, then per coordinate a weighted trimmed mean when there are at least
 * `medianBelowOrigins` origins, else a weighted median.
 */
export function robustCombine(points: OriginPoint[], params: RobustParams): Float32Array | undefined {
  const live = points.filter((p) => p.count * p.decay > 0);
  if (live.length === 0) return undefined;
  const dim = live[0]!.mean.length;
  // With n * share > 1: weight = count x decay, water-filled to at most `share` each. With fewer
  // origins the cap cannot be met, so counts are ignored (every origin counts as one) and only the
  // age decay weighs them: an origin's share is then 1 / (1 + sum of the others' decay factors),
  // i.e. 1/n among equally fresh origins.
  const weights =
    live.length * params.maxOriginShare > 1
      ? capWeights(
          live.map((p) => p.count * p.decay),
          params.maxOriginShare,
        )
      : live.map((p) => p.decay);
  const useMedian = live.length < params.medianBelowOrigins;
  const out = new Float32Array(dim);
  const vals: Array<[number, number]> = live.map(() => [0, 0]);
  for (let d = 0; d < dim; d++) {
    for (let i = 0; i < live.length; i++) {
      vals[i]![0] = live[i]!.mean[d]!;
      vals[i]![1] = weights[i]!;
    }
    out[d] = useMedian ? weightedMedian(vals) : trimmedMean(vals, params.trimFraction);
  }
  return out;
}
