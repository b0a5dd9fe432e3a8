/**
 * The plausibility gate (docs/evaluation.md, "Poisoning"): the defence of the conditioning layer for
 * keys with few origins, where the field's robust value cannot outvote anyone (2–4 origins, a
 * coordinate-wise median of two is their mean). A board judges each origin's per-key mean against
 * what it knows without the network:
 *   anchored keys (the board's own class mean once it has `minAnchorCount` examples, else the
 *   encoder's own prototype of that class, shipped with the model): an origin's mean must lie within
 *   `radius` of the anchor, plus the spread its DP noise and sample size explain (`tolerance`). `radius` defaults to half the median distance from each prototype to its
 *   nearest other prototype: farther out, the mean would sit closer to another class than to its own.
 *   every key: the mean's norm must stay within `normFactor` × the largest prototype norm;
 *   unanchored (novel) keys: the mean must not lie within `radius` of another key's anchor (a copied class).
 * An origin that fails on any anchored key is distrusted on every key (it is lying somewhere, so it
 * has no say where the board cannot check). What it bounds: on anchored keys, any origin's pull is
 * limited to `radius` (the class stays on its side of the decision boundary); on novel keys it bounds
 * scale and copy attacks; a sign-flip or a made-up mean on a novel key by an origin that is honest on
 * every anchored key is not caught (the residual measured in docs/evaluation.md).
 */
import type { CcfField } from '../../ccf/field.js';

/** Options for `PlausibilityGate`. */
export interface PlausibilityGateOptions {
  /** The encoder's own class prototypes (key → vector). */
  prototypes: ReadonlyMap<string, ArrayLike<number>>;
  /** Largest accepted distance to an anchor. Default: half the median nearest-prototype distance. */
  radius?: number;
  /** Norm bound for unanchored keys, × the largest prototype norm. Default 1.5. */
  normFactor?: number;
  /** Local examples a key needs before the board's own mean is its anchor. Default 20. */
  minAnchorCount?: number;
  /**
   * Std of the Gaussian noise on a released sum, per coordinate (signals: noiseMultiplier × clipNorm).
   * A mean of n examples is allowed √d·(noiseStd + 1)/n beyond `radius`: its DP noise plus its
   * sampling error (unit within-class spread in the whitened space). Default 0.
   */
  noiseStd?: number;
}

function dist(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}

function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! ** 2;
  return Math.sqrt(s);
}

/** Per-board gate; `predicate()` is rebuilt when the field or the local data change. */
export class PlausibilityGate {
  readonly radius: number;
  private readonly normBound: number;

  constructor(private readonly opts: PlausibilityGateOptions) {
    const protos = [...opts.prototypes.values()];
    const nearest = protos.map((p, i) => Math.min(...protos.filter((_, j) => j !== i).map((q) => dist(p, q)))).filter(Number.isFinite).sort((a, b) => a - b);
    // With fewer than two prototypes nothing calibrates the gate: it accepts everything (clipping remains).
    this.radius = opts.radius ?? (nearest.length > 0 ? nearest[Math.floor(nearest.length / 2)]! / 2 : Infinity);
    this.normBound = protos.length >= 2 ? (opts.normFactor ?? 1.5) * Math.max(0, ...protos.map(norm)) : Infinity;
  }

  /** Accepted distance to an anchor for a mean of `count` examples in `dim` dimensions. */
  tolerance(dim: number, count: number): number {
    return this.radius + (Math.sqrt(dim) * ((this.opts.noiseStd ?? 0) + 1)) / Math.max(1, count);
  }

  /**
   * The predicate for `CcfField.value` given the board's own local statistics. Origins that fail on
   * an anchored key are distrusted on every key; `distrusted` lists them (for logs and tests).
   */
  predicate(field: CcfField, local: ReadonlyMap<string, { sum: ArrayLike<number>; count: number }>, clipNorm: number, self?: string): { accept: (origin: string, key: string, mean: Float64Array) => boolean; distrusted: Set<string> } {
    // anchors live where the field's means do: clipped to the same per-origin bound
    const clip = (v: number[]): number[] => {
      const n = norm(v);
      return n > clipNorm ? v.map((x) => (x * clipNorm) / n) : v;
    };
    const anchors = new Map<string, ArrayLike<number>>([...this.opts.prototypes].map(([k, v]) => [k, clip(Array.from(v))]));
    for (const [k, s] of local) if (s.count >= (this.opts.minAnchorCount ?? 20)) anchors.set(k, clip(Array.from(s.sum, (v) => v / s.count)));
    const distrusted = new Set<string>();
    for (const c of field.contributions()) {
      if (c.origin === self || c.count <= 0) continue;
      const a = anchors.get(c.key);
      if (!a || a.length !== c.sum.length) continue;
      const m = Array.from(c.sum, (v) => v / c.count);
      const n = norm(m);
      const mean = n > clipNorm ? m.map((v) => (v * clipNorm) / n) : m;
      if (norm(mean) > this.normBound || dist(mean, a) > this.tolerance(mean.length, c.count)) distrusted.add(c.origin);
    }
    const accept = (origin: string, key: string, mean: Float64Array): boolean => {
      if (origin === self || !Number.isFinite(this.radius)) return true;
      if (distrusted.has(origin)) return false;
      const a = anchors.get(key);
      if (norm(mean) > this.normBound) return false;
      if (a) return a.length !== mean.length || dist(mean, a) <= this.tolerance(mean.length, field.get(origin, key)?.count ?? 1);
      for (const [k, other] of anchors) if (k !== key && other.length === mean.length && dist(mean, other) < this.radius) return false;
      return true;
    };
    return { accept, distrusted };
  }
}
