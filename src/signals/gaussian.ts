/**
 * The Gaussian mechanism (Dwork & Roth 2014, Theorem A.1; analysed in zCDP by Bun & Steinke 2016,
 * Proposition 1.6): release f(D) + N(0, σ²I). For a per-key clipped sum (L2 sensitivity C under
 * adding/removing one example) we use σ_sum = z·C per coordinate, and for the count (sensitivity 1)
 * σ_count = z, where z is the noise multiplier. Each pair costs ρ = C²/(2z²C²) + 1/(2z²) = 1/z²
 * zero-concentrated DP (see accountant.ts).
 */
import type { Rng } from '../util/prng.js';

/** A noised per-key release. */
export interface NoisedSum {
  sum: Float32Array;
  /** Noised count, rounded to an integer (rounding is post-processing: free). */
  count: number;
}

/** Options for `gaussianRelease`. */
export interface GaussianOptions {
  /** L2 sensitivity of the sum (the clip norm C). */
  clipNorm: number;
  /** Noise multiplier z (σ = z × sensitivity). */
  noiseMultiplier: number;
  /** Seeded generator; `normal()` draws N(0, 1). */
  rng: Rng;
}

/** Add Gaussian noise to a clipped sum and its count. */
export function gaussianRelease(sum: ArrayLike<number>, count: number, opts: GaussianOptions): NoisedSum {
  const sigmaSum = opts.noiseMultiplier * opts.clipNorm;
  const out = new Float32Array(sum.length);
  for (let i = 0; i < sum.length; i++) out[i] = sum[i]! + sigmaSum * opts.rng.normal();
  const noisedCount = Math.round(count + opts.noiseMultiplier * opts.rng.normal());
  return { sum: out, count: noisedCount };
}

/** ρ (zCDP) of one release of a (sum, count) pair with noise multiplier z: 1/z². */
export function rhoPerRelease(noiseMultiplier: number): number {
  return 1 / (noiseMultiplier * noiseMultiplier);
}

/**
 * Complementary error function, |relative error| < 1.2e-7 (Numerical Recipes in C, 2nd ed.,
 * section 6.2, `erfcc`, Chebyshev fit).
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Upper tail of the standard normal, P[N(0,1) ≥ x]. */
export function normalTail(x: number): number {
  return 0.5 * erfc(x / Math.SQRT2);
}
