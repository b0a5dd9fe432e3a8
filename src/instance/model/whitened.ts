/**
 * The whitened encoder (docs/evaluation.md, "the method"): standardization → principal components of
 * the pre-training rows (fitted without labels) → whitening by the within-class covariance of the
 * labelled pre-training classes (ZCA, shrunk toward the identity). One linear layer, exported to ONNX
 * like any h3lix encoder.
 *
 * Why: in this space the squared Euclidean distance to a class mean is the Mahalanobis distance of a
 * linear discriminant with a shared covariance (LDA), so the per-class means the field already shares
 * are all a board needs to classify a concept, including one the encoder never saw. A supervised MLP
 * encoder, by contrast, learns to discard the directions that separate classes it was not trained on.
 */
import { H3lixError } from '../../errors.js';
import { createRng } from '../../util/prng.js';
import { symmetricEigen, topEigen } from './linalg.js';
import type { TrainedEncoder } from './mlp.js';
import { flatten, standardize } from './standardize.js';

/** Options for `trainWhitenedEncoder`. */
export interface WhitenedEncoderOptions {
  /** Principal components kept (the embedding dimension). Default min(48, features, rows − 1). */
  embeddingDim?: number;
  /** Shrinkage λ of the within-class covariance toward (trace/k)·I. Default 0.1. */
  shrinkage?: number;
  /** Seed of the subspace iteration's start. Default 1. */
  seed?: number;
}

/**
 * Fit the whitened encoder on pre-training rows `X` with labels `y`. The labels are used only for the
 * within-class covariance (one class is enough) and the encoder's own prototypes (the class means, kept for the
 * `encoderOnly` baseline). Deterministic. Throws DATA_INVALID on bad data.
 */
export function trainWhitenedEncoder(X: ArrayLike<ArrayLike<number>>, y: string[], opts: WhitenedEncoderOptions = {}): TrainedEncoder {
  const { data, n, d } = flatten(X, y);
  const classes = [...new Set(y)].sort();
  if (classes.length < 1) throw new H3lixError('DATA_INVALID', 'need at least 1 labelled class');
  const k = Math.max(1, Math.min(opts.embeddingDim ?? 48, d, n - 1));
  const lambda = opts.shrinkage ?? 0.1;
  const { mean32, std32, xs } = standardize(data, n, d);

  // 1. principal components of the standardized rows (no labels)
  const mu = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mu[j]! += xs[i * d + j]! / n;
  const cov = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = xs[i * d + j]! - mu[j]!;
    for (let a = 0; a < d; a++) {
      const ra = row[a]!;
      if (ra === 0) continue;
      for (let b = a; b < d; b++) cov[a * d + b]! += ra * row[b]!;
    }
  }
  for (let a = 0; a < d; a++) for (let b = a; b < d; b++) cov[b * d + a] = cov[a * d + b] = cov[a * d + b]! / n;
  const pca = topEigen(cov, d, k, createRng(opts.seed ?? 1));
  const P = pca.vectors; // [d, k]
  const proj = new Float64Array(n * k);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) {
    let s = 0;
    for (let a = 0; a < d; a++) s += (xs[i * d + a]! - mu[a]!) * P[a * k + j]!;
    proj[i * k + j] = s;
  }

  // 2. within-class covariance in PCA space (labels), shrunk, and its inverse square root (ZCA)
  const label = Int32Array.from(y, (l) => classes.indexOf(l));
  const cm = new Float64Array(classes.length * k);
  const cn = new Float64Array(classes.length);
  for (let i = 0; i < n; i++) {
    cn[label[i]!]!++;
    for (let j = 0; j < k; j++) cm[label[i]! * k + j]! += proj[i * k + j]!;
  }
  for (let c = 0; c < classes.length; c++) for (let j = 0; j < k; j++) cm[c * k + j]! /= cn[c]!;
  const sw = new Float64Array(k * k);
  for (let i = 0; i < n; i++) {
    const c = label[i]!;
    for (let a = 0; a < k; a++) {
      const da = proj[i * k + a]! - cm[c * k + a]!;
      for (let b = a; b < k; b++) sw[a * k + b]! += da * (proj[i * k + b]! - cm[c * k + b]!);
    }
  }
  let trace = 0;
  for (let a = 0; a < k; a++) for (let b = a; b < k; b++) sw[b * k + a] = sw[a * k + b] = sw[a * k + b]! / n;
  for (let a = 0; a < k; a++) trace += sw[a * k + a]!;
  for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) sw[a * k + b] = (1 - lambda) * sw[a * k + b]! + (a === b ? (lambda * trace) / k : 0);
  const ev = symmetricEigen(sw, k);
  const white = new Float64Array(k * k); // E diag(1/sqrt(λ)) Eᵀ
  for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) {
    let s = 0;
    for (let m = 0; m < k; m++) s += (ev.vectors[a * k + m]! * ev.vectors[b * k + m]!) / Math.sqrt(Math.max(ev.values[m]!, 1e-9));
    white[a * k + b] = s;
  }

  // 3. one linear layer: e = (x_std − mu) · P · W
  const weights = new Float32Array(d * k);
  for (let a = 0; a < d; a++) for (let j = 0; j < k; j++) {
    let s = 0;
    for (let m = 0; m < k; m++) s += P[a * k + m]! * white[m * k + j]!;
    weights[a * k + j] = s;
  }
  const bias = new Float32Array(k);
  for (let j = 0; j < k; j++) {
    let s = 0;
    for (let a = 0; a < d; a++) s -= mu[a]! * weights[a * k + j]!;
    bias[j] = s;
  }
  const prototypes = new Float32Array(classes.length * k);
  for (let c = 0; c < classes.length; c++) for (let j = 0; j < k; j++) {
    let s = 0;
    for (let m = 0; m < k; m++) s += cm[c * k + m]! * white[m * k + j]!;
    prototypes[c * k + j] = s;
  }
  const enc: TrainedEncoder = {
    inputDim: d,
    embeddingDim: k,
    mean: mean32,
    std: std32,
    layers: [{ inDim: d, outDim: k, weights, bias, activation: 'linear' }],
    classes,
    prototypes,
    training: { samples: n, epochs: 0, seed: opts.seed ?? 1, finalLoss: 0, trainAccuracy: 0 },
  };
  enc.training.trainAccuracy = prototypeAccuracy(enc, proj, white, label);
  return enc;
}

/** Nearest-prototype accuracy on the training rows (reported in the model card). */
function prototypeAccuracy(enc: TrainedEncoder, proj: Float64Array, white: Float64Array, label: Int32Array): number {
  const k = enc.embeddingDim;
  const e = new Float64Array(k);
  let ok = 0;
  for (let i = 0; i < label.length; i++) {
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let m = 0; m < k; m++) s += proj[i * k + m]! * white[m * k + j]!;
      e[j] = s;
    }
    let best = 0;
    let bestD = Infinity;
    for (let c = 0; c < enc.classes.length; c++) {
      let dist = 0;
      for (let j = 0; j < k; j++) dist += (e[j]! - enc.prototypes[c * k + j]!) ** 2;
      if (dist < bestD) [best, bestD] = [c, dist];
    }
    if (best === label[i]) ok++;
  }
  return ok / label.length;
}
