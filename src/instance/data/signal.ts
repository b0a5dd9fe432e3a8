/** Small signal-processing helpers for the synthetic dataset generators (radix-2 FFT, moments). */

/** Power spectrum |X_k|^2 / n^2 for k = 0..n/2 of a real signal whose length is a power of two. */
export function powerSpectrum(x: Float64Array): Float64Array {
  const n = x.length;
  if (n === 0 || (n & (n - 1)) !== 0) throw new RangeError(`FFT length must be a power of two, got ${n}`);
  const re = Float64Array.from(x);
  const im = new Float64Array(n);
  // Iterative Cooley-Tukey, bit-reversal permutation first.
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < len / 2; k++) {
        const a = i + k;
        const b = a + len / 2;
        const tr = re[b]! * cr - im[b]! * ci;
        const ti = re[b]! * ci + im[b]! * cr;
        re[b] = re[a]! - tr;
        im[b] = im[a]! - ti;
        re[a]! += tr;
        im[a]! += ti;
        const ncr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = ncr;
      }
    }
  }
  const out = new Float64Array(n / 2 + 1);
  for (let k = 0; k <= n / 2; k++) out[k] = (re[k]! * re[k]! + im[k]! * im[k]!) / (n * n);
  return out;
}

/** Sum of spectrum bins whose frequency lies in [lo, hi) Hz. */
export function bandPower(spec: Float64Array, binHz: number, lo: number, hi: number): number {
  let s = 0;
  const a = Math.max(0, Math.ceil(lo / binHz));
  const b = Math.min(spec.length - 1, Math.ceil(hi / binHz) - 1);
  for (let k = a; k <= b; k++) s += spec[k]!;
  return s;
}

/** Mean, RMS, skewness, kurtosis (non-excess), peak |x| and peak-to-peak of a signal. */
export function moments(x: Float64Array): { mean: number; rms: number; skewness: number; kurtosis: number; peak: number; peakToPeak: number } {
  const n = x.length;
  let mean = 0;
  let min = Infinity;
  let max = -Infinity;
  let sq = 0;
  for (const v of x) {
    mean += v / n;
    sq += (v * v) / n;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  for (const v of x) {
    const d = v - mean;
    m2 += (d * d) / n;
    m3 += (d * d * d) / n;
    m4 += (d * d * d * d) / n;
  }
  const sd = Math.sqrt(m2) || 1e-12;
  return { mean, rms: Math.sqrt(sq), skewness: m3 / sd ** 3, kurtosis: m4 / sd ** 4, peak: Math.max(Math.abs(min), Math.abs(max)), peakToPeak: max - min };
}

/** log10 with a floor, for energy features spanning decades. */
export function logEnergy(e: number): number {
  return Math.log10(e + 1e-9);
}
