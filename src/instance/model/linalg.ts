/**
 * Small dense linear algebra for the encoder builders: symmetric eigendecomposition (cyclic Jacobi,
 * Golub & Van Loan §8.5) and the top-k eigenvectors of a large symmetric matrix (subspace iteration
 * with Rayleigh–Ritz, ibid. §8.2.4). Matrices are row-major Float64Arrays.
 */
import type { Rng } from '../../util/prng.js';

/** Eigenpairs sorted by decreasing eigenvalue; `vectors` is row-major [n, k]: column j is the j-th vector. */
export interface Eigen {
  values: Float64Array;
  vectors: Float64Array;
  n: number;
  k: number;
}

/** All eigenpairs of the symmetric n×n matrix `a` (not modified). */
export function symmetricEigen(a: Float64Array, n: number, sweeps = 60): Eigen {
  const A = Float64Array.from(a);
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  for (let sweep = 0; sweep < sweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += A[p * n + q]! ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (A[q * n + q]! - A[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k * n + p]!;
          const akq = A[k * n + q]!;
          A[k * n + p] = c * akp - s * akq;
          A[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p * n + k]!;
          const aqk = A[q * n + k]!;
          A[p * n + k] = c * apk - s * aqk;
          A[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p]!;
          const vkq = V[k * n + q]!;
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => A[j * n + j]! - A[i * n + i]!);
  const values = Float64Array.from(order, (i) => A[i * n + i]!);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    for (let r = 0; r < n; r++) vectors[r * n + dst] = V[r * n + src]!;
  });
  return { values, vectors, n, k: n };
}

/** Orthonormalize the k columns of the row-major [n, k] matrix Q in place (modified Gram–Schmidt). */
function orthonormalize(Q: Float64Array, n: number, k: number): void {
  for (let j = 0; j < k; j++) {
    for (let i = 0; i < j; i++) {
      let dot = 0;
      for (let r = 0; r < n; r++) dot += Q[r * k + i]! * Q[r * k + j]!;
      for (let r = 0; r < n; r++) Q[r * k + j]! -= dot * Q[r * k + i]!;
    }
    let norm = 0;
    for (let r = 0; r < n; r++) norm += Q[r * k + j]! ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let r = 0; r < n; r++) Q[r * k + j]! /= norm;
  }
}

/** The k leading eigenpairs of the symmetric n×n matrix `a`. Exact (Jacobi) for n ≤ 96. */
export function topEigen(a: Float64Array, n: number, k: number, rng: Rng, iterations = 80): Eigen {
  if (n <= 96) {
    const full = symmetricEigen(a, n);
    const vectors = new Float64Array(n * k);
    for (let r = 0; r < n; r++) for (let j = 0; j < k; j++) vectors[r * k + j] = full.vectors[r * n + j]!;
    return { values: full.values.slice(0, k), vectors, n, k };
  }
  let Q = Float64Array.from({ length: n * k }, () => rng.normal());
  orthonormalize(Q, n, k);
  const Z = new Float64Array(n * k);
  for (let it = 0; it < iterations; it++) {
    Z.fill(0);
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        const arc = a[r * n + c]!;
        if (arc === 0) continue;
        for (let j = 0; j < k; j++) Z[r * k + j]! += arc * Q[c * k + j]!;
      }
    }
    Q = Float64Array.from(Z);
    orthonormalize(Q, n, k);
  }
  // Rayleigh–Ritz: T = Qᵀ A Q, then rotate Q by T's eigenvectors.
  const AQ = new Float64Array(n * k);
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) {
    const arc = a[r * n + c]!;
    if (arc !== 0) for (let j = 0; j < k; j++) AQ[r * k + j]! += arc * Q[c * k + j]!;
  }
  const T = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) {
    let s = 0;
    for (let r = 0; r < n; r++) s += Q[r * k + i]! * AQ[r * k + j]!;
    T[i * k + j] = s;
  }
  for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) T[i * k + j] = T[j * k + i] = (T[i * k + j]! + T[j * k + i]!) / 2;
  const small = symmetricEigen(T, k);
  const vectors = new Float64Array(n * k);
  for (let r = 0; r < n; r++) for (let j = 0; j < k; j++) {
    let s = 0;
    for (let i = 0; i < k; i++) s += Q[r * k + i]! * small.vectors[i * k + j]!;
    vectors[r * k + j] = s;
  }
  return { values: small.values, vectors, n, k };
}
