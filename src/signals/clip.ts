/**
 * L2 clipping (DESIGN section 4): every embedding is scaled down to norm ≤ C before it enters a sum,
 * so one example moves a per-key sum by at most C (the L2 sensitivity the Gaussian mechanism needs).
 */

/** Euclidean norm of `v`. */
export function l2Norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

/**
 * Return a copy of `v` with L2 norm at most `clipNorm` (v · min(1, C / ||v||)).
 * Non-finite components are rejected by the caller (the accumulator); here they would propagate.
 */
export function clipL2(v: ArrayLike<number>, clipNorm: number): Float64Array {
  const out = Float64Array.from(v as ArrayLike<number>);
  const norm = l2Norm(out);
  if (norm > clipNorm && norm > 0) {
    const scale = clipNorm / norm;
    for (let i = 0; i < out.length; i++) out[i] = out[i]! * scale;
  }
  return out;
}
