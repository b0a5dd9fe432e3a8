/** Training-set validation and the standardization every exported encoder starts with. */
import { H3lixError } from '../../errors.js';

/** Validate and copy the training set into one flat Float64Array. */
export function flatten(X: ArrayLike<ArrayLike<number>>, y: string[]): { data: Float64Array; n: number; d: number } {
  const n = X.length;
  if (n === 0) throw new H3lixError('DATA_INVALID', 'training set is empty (no rows)');
  if (y.length !== n) throw new H3lixError('DATA_INVALID', `${n} feature rows but ${y.length} labels`);
  const d = X[0]!.length;
  if (d === 0) throw new H3lixError('DATA_INVALID', 'rows have no features');
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const row = X[i]!;
    if (row.length !== d) throw new H3lixError('DATA_INVALID', `row ${i} has ${row.length} features, expected ${d}`);
    for (let j = 0; j < d; j++) {
      const v = row[j]!;
      if (!Number.isFinite(v)) throw new H3lixError('DATA_INVALID', `row ${i} feature ${j} is not a finite number (${v})`);
      data[i * d + j] = v;
    }
  }
  return { data, n, d };
}

/**
 * Standardization statistics (population std; constant features get std 1), rounded to float32, and
 * the rows standardized with the rounded statistics, exactly as the exported graph does.
 */
export function standardize(data: Float64Array, n: number, d: number): { mean32: Float32Array; std32: Float32Array; xs: Float64Array } {
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += data[i * d + j]! / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) std[j]! += (data[i * d + j]! - mean[j]!) ** 2 / n;
  for (let j = 0; j < d; j++) std[j] = std[j]! > 1e-12 ? Math.sqrt(std[j]!) : 1;
  const mean32 = Float32Array.from(mean);
  const std32 = Float32Array.from(std);
  const xs = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) xs[i * d + j] = (Math.fround(data[i * d + j]!) - mean32[j]!) / std32[j]!;
  return { mean32, std32, xs };
}
