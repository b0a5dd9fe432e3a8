/**
 * The classifier behind the `central` and `fedAvg` baselines (docs/evaluation.md): a one-hidden-layer
 * MLP (ReLU, softmax cross-entropy, Adam) on standardized raw features. Parameters live in one flat
 * Float64Array so that federated averaging is a weighted mean of vectors. Deterministic for a seed.
 */
import { AdamParam } from '../model/adam.js';
import { createRng, shuffleInPlace, type Rng } from '../../util/prng.js';

/** Shape of the classifier: d inputs, h hidden units, c classes. */
export interface ClassifierShape {
  d: number;
  h: number;
  c: number;
}

/** Number of parameters: W1 [d,h], b1 [h], W2 [h,c], b2 [c]. */
export function parameterCount(s: ClassifierShape): number {
  return s.d * s.h + s.h + s.h * s.c + s.c;
}

/** He-initialised parameters. */
export function initClassifier(s: ClassifierShape, seed: number): Float64Array {
  const rng = createRng(seed);
  const p = new Float64Array(parameterCount(s));
  const w1 = Math.sqrt(2 / s.d);
  const w2 = Math.sqrt(1 / s.h);
  for (let i = 0; i < s.d * s.h; i++) p[i] = rng.normal() * w1;
  const o2 = s.d * s.h + s.h;
  for (let i = 0; i < s.h * s.c; i++) p[o2 + i] = rng.normal() * w2;
  return p;
}

/** Options for `trainClassifier`. */
export interface TrainClassifierOptions {
  epochs: number;
  /** Learning rate. Default 0.003 (adam), 0.05 (sgd). */
  learningRate?: number;
  /** Optimiser: Adam (central training) or plain mini-batch SGD (FedAvg's local steps). Default 'adam'. */
  optimizer?: 'adam' | 'sgd';
  /** Mini-batch size. Default 32. */
  batchSize?: number;
  rng: Rng;
}

/** Logits of one standardized row. `hidden` is scratch of length h. */
function forward(s: ClassifierShape, p: Float64Array, x: ArrayLike<number>, hidden: Float64Array, logits: Float64Array): void {
  const { d, h, c } = s;
  const b1 = d * h;
  const w2 = b1 + h;
  const b2 = w2 + h * c;
  for (let j = 0; j < h; j++) {
    let v = p[b1 + j]!;
    for (let i = 0; i < d; i++) v += x[i]! * p[i * h + j]!;
    hidden[j] = v > 0 ? v : 0;
  }
  for (let k = 0; k < c; k++) {
    let v = p[b2 + k]!;
    for (let j = 0; j < h; j++) v += hidden[j]! * p[w2 + j * c + k]!;
    logits[k] = v;
  }
}

/**
 * Train `params` in place on standardized rows `X` (each of length d) with class indices `y`.
 * A fresh optimiser state per call.
 */
export function trainClassifier(s: ClassifierShape, params: Float64Array, X: ReadonlyArray<ArrayLike<number>>, y: ArrayLike<number>, opts: TrainClassifierOptions): void {
  const n = X.length;
  if (n === 0) return;
  const { d, h, c } = s;
  const sgd = opts.optimizer === 'sgd';
  const lr = opts.learningRate ?? (sgd ? 0.05 : 0.003);
  const batch = Math.max(1, Math.min(opts.batchSize ?? 32, n));
  const adam = new AdamParam(params);
  const hidden = new Float64Array(h);
  const logits = new Float64Array(c);
  const order = Array.from({ length: n }, (_, i) => i);
  const b1o = d * h;
  const w2o = b1o + h;
  const b2o = w2o + h * c;
  const g = adam.grad;
  const dh = new Float64Array(h);
  let step = 0;
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    shuffleInPlace(order, opts.rng);
    for (let start = 0; start < n; start += batch) {
      const B = Math.min(batch, n - start);
      for (let b = 0; b < B; b++) {
        const r = order[start + b]!;
        const x = X[r]!;
        forward(s, params, x, hidden, logits);
        let max = -Infinity;
        for (let k = 0; k < c; k++) max = Math.max(max, logits[k]!);
        let z = 0;
        for (let k = 0; k < c; k++) z += Math.exp(logits[k]! - max);
        dh.fill(0);
        for (let k = 0; k < c; k++) {
          const dl = (Math.exp(logits[k]! - max) / z - (k === y[r] ? 1 : 0)) / B;
          g[b2o + k]! += dl;
          for (let j = 0; j < h; j++) {
            g[w2o + j * c + k]! += hidden[j]! * dl;
            dh[j]! += params[w2o + j * c + k]! * dl;
          }
        }
        for (let j = 0; j < h; j++) {
          if (hidden[j]! <= 0) continue;
          const dj = dh[j]!;
          g[b1o + j]! += dj;
          for (let i = 0; i < d; i++) {
            const xi = x[i]!;
            if (xi !== 0) g[i * h + j]! += xi * dj;
          }
        }
      }
      step++;
      if (sgd) {
        for (let i = 0; i < params.length; i++) {
          params[i]! -= lr * g[i]!;
          g[i] = 0;
        }
      } else adam.step(lr, step);
    }
  }
}

/** Index of the largest logit. */
export function predictClassifier(s: ClassifierShape, params: Float64Array, x: ArrayLike<number>): number {
  const hidden = new Float64Array(s.h);
  const logits = new Float64Array(s.c);
  forward(s, params, x, hidden, logits);
  let best = 0;
  for (let k = 1; k < s.c; k++) if (logits[k]! > logits[best]!) best = k;
  return best;
}
