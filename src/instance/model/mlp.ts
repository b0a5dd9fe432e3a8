/**
 * The instance encoder (DESIGN section 5): standardization + a small MLP that maps a feature vector
 * to an embedding. Trained here in TypeScript (mini-batch Adam, seeded, deterministic) with a
 * prototype-softmax head (logit_c = -||e - p_c||^2) that exists only during training: it shapes the
 * embedding space so that nearest-prototype scoring works, which is how the runtime uses it.
 * Only the encoder (standardization + dense layers [+ context projection]) is exported to ONNX.
 */
import { H3lixError } from '../../errors.js';
import { createRng, shuffleInPlace } from '../../util/prng.js';
import { AdamParam } from './adam.js';
import { flatten, standardize } from './standardize.js';

/** One fully connected layer. `weights` is row-major [inDim, outDim] (ONNX MatMul layout). */
export interface DenseLayer {
  inDim: number;
  outDim: number;
  weights: Float32Array;
  bias: Float32Array;
  activation: 'relu' | 'linear';
}

/**
 * Optional `context` input (DESIGN 5): embedding = encoder(x) + context · weights, weights [ctxDim,
 * embeddingDim]. The projection is fixed (gain · identity when ctxDim = embeddingDim), not trained:
 * it pulls the embedding toward the field vector the runtime feeds in.
 */
export interface ContextProjection {
  ctxDim: number;
  weights: Float32Array;
}

/** What `trainEncoder` returns: everything the exporter and the pure-TS `encode` need. */
export interface TrainedEncoder {
  inputDim: number;
  embeddingDim: number;
  /** Per-feature mean and std used for standardization ((x - mean) / std). */
  mean: Float32Array;
  std: Float32Array;
  /** Encoder layers, input to embedding. The last one is linear and outputs `embeddingDim`. */
  layers: DenseLayer[];
  /** Class labels, sorted; index = prototype row of the training head. */
  classes: string[];
  /** Training-head prototypes [classes.length, embeddingDim]. Not exported to ONNX. */
  prototypes: Float32Array;
  context?: ContextProjection;
  training: TrainingSummary;
}

export interface TrainingSummary {
  samples: number;
  epochs: number;
  seed: number;
  finalLoss: number;
  trainAccuracy: number;
}

export interface TrainProgress {
  epoch: number;
  epochs: number;
  loss: number;
  accuracy: number;
}

/** Options for `trainEncoder`. */
export interface TrainEncoderOptions {
  /** Hidden layer width. Default 32. */
  hidden?: number;
  /** Embedding dimension. Default 16. */
  embeddingDim?: number;
  /** Passes over the data. Default 60. */
  epochs?: number;
  /** PRNG seed for init and shuffling. Default 1. */
  seed?: number;
  /** Mini-batch size. Default 32. */
  batchSize?: number;
  /** Adam learning rate. Default 0.005. */
  learningRate?: number;
  /** Penalty on the squared embedding norm (keeps embeddings near unit scale). Default 1e-3. */
  embeddingPenalty?: number;
  /** Called after every epoch. */
  onProgress?: (p: TrainProgress) => void;
}


function gaussianInit(rows: number, cols: number, scale: number, normal: () => number): Float64Array {
  const w = new Float64Array(rows * cols);
  for (let i = 0; i < w.length; i++) w[i] = normal() * scale;
  return w;
}

/** Adam state for one parameter tensor. */

/**
 * Train an encoder on rows `X` with string labels `y`. Deterministic for a given seed and input.
 * Throws H3lixError DATA_INVALID on empty/ragged/non-finite data or fewer than two classes.
 */
export function trainEncoder(X: Float32Array[] | number[][], y: string[], opts: TrainEncoderOptions = {}): TrainedEncoder {
  const { data, n, d } = flatten(X, y);
  const classes = [...new Set(y)].sort();
  if (classes.length < 2) throw new H3lixError('DATA_INVALID', `need at least 2 classes, got ${classes.length} (${classes.join(', ')})`);
  const H = opts.hidden ?? 32;
  const E = opts.embeddingDim ?? 16;
  const C = classes.length;
  const epochs = opts.epochs ?? 60;
  const seed = opts.seed ?? 1;
  const batch = Math.max(1, Math.min(opts.batchSize ?? 32, n));
  const lr = opts.learningRate ?? 0.005;
  const lambda = opts.embeddingPenalty ?? 1e-3;
  const label = Int32Array.from(y, (l) => classes.indexOf(l));
  const rng = createRng(seed);

  const { mean32, std32, xs } = standardize(data, n, d);

  const W1 = new AdamParam(gaussianInit(d, H, Math.sqrt(2 / d), rng.normal));
  const b1 = new AdamParam(new Float64Array(H));
  const W2 = new AdamParam(gaussianInit(H, E, Math.sqrt(1 / H), rng.normal));
  const b2 = new AdamParam(new Float64Array(E));
  const P = new AdamParam(gaussianInit(C, E, 1, rng.normal));
  const params = [W1, b1, W2, b2, P];

  const order = Array.from({ length: n }, (_, i) => i);
  const z1 = new Float64Array(batch * H);
  const emb = new Float64Array(batch * E);
  const dl = new Float64Array(batch * C);
  const de = new Float64Array(batch * E);
  const dz = new Float64Array(batch * H);
  let step = 0;
  let lossSum = 0;
  let correct = 0;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    shuffleInPlace(order, rng);
    lossSum = 0;
    correct = 0;
    for (let start = 0; start < n; start += batch) {
      const B = Math.min(batch, n - start);
      // Forward: z1 = x W1 + b1, a1 = relu(z1), e = a1 W2 + b2, logits = -||e - p_c||^2.
      for (let b = 0; b < B; b++) {
        const xo = order[start + b]! * d;
        for (let h = 0; h < H; h++) {
          let s = b1.value[h]!;
          for (let j = 0; j < d; j++) s += xs[xo + j]! * W1.value[j * H + h]!;
          z1[b * H + h] = s;
        }
        for (let e = 0; e < E; e++) {
          let s = b2.value[e]!;
          for (let h = 0; h < H; h++) s += Math.max(0, z1[b * H + h]!) * W2.value[h * E + e]!;
          emb[b * E + e] = s;
        }
        let max = -Infinity;
        let arg = 0;
        for (let c = 0; c < C; c++) {
          let dist = 0;
          for (let e = 0; e < E; e++) dist += (emb[b * E + e]! - P.value[c * E + e]!) ** 2;
          dl[b * C + c] = -dist;
          if (-dist > max) {
            max = -dist;
            arg = c;
          }
        }
        let z = 0;
        for (let c = 0; c < C; c++) z += Math.exp(dl[b * C + c]! - max);
        const target = label[order[start + b]!]!;
        lossSum += -(dl[b * C + target]! - max - Math.log(z));
        if (arg === target) correct++;
        for (let c = 0; c < C; c++) dl[b * C + c] = (Math.exp(dl[b * C + c]! - max) / z - (c === target ? 1 : 0)) / B;
      }
      // Backward. dL/de = 2 * sum_c dlogit_c * p_c (sum_c dlogit_c = 0) + 2*lambda*e/B.
      for (let b = 0; b < B; b++) {
        for (let e = 0; e < E; e++) {
          let s = (2 * lambda * emb[b * E + e]!) / B;
          for (let c = 0; c < C; c++) {
            const g = dl[b * C + c]!;
            s += 2 * g * P.value[c * E + e]!;
            P.grad[c * E + e]! += 2 * g * (emb[b * E + e]! - P.value[c * E + e]!);
          }
          de[b * E + e] = s;
          b2.grad[e]! += s;
        }
        for (let h = 0; h < H; h++) {
          const a = Math.max(0, z1[b * H + h]!);
          let s = 0;
          for (let e = 0; e < E; e++) {
            W2.grad[h * E + e]! += a * de[b * E + e]!;
            s += de[b * E + e]! * W2.value[h * E + e]!;
          }
          dz[b * H + h] = z1[b * H + h]! > 0 ? s : 0;
          b1.grad[h]! += dz[b * H + h]!;
        }
        const xo = order[start + b]! * d;
        for (let j = 0; j < d; j++) {
          const xv = xs[xo + j]!;
          if (xv === 0) continue;
          for (let h = 0; h < H; h++) W1.grad[j * H + h]! += xv * dz[b * H + h]!;
        }
      }
      step++;
      for (const p of params) p.step(lr, step);
    }
    opts.onProgress?.({ epoch, epochs, loss: lossSum / n, accuracy: correct / n });
  }

  return {
    inputDim: d,
    embeddingDim: E,
    mean: mean32,
    std: std32,
    layers: [
      { inDim: d, outDim: H, weights: Float32Array.from(W1.value), bias: Float32Array.from(b1.value), activation: 'relu' },
      { inDim: H, outDim: E, weights: Float32Array.from(W2.value), bias: Float32Array.from(b2.value), activation: 'linear' },
    ],
    classes,
    prototypes: Float32Array.from(P.value),
    training: { samples: n, epochs, seed, finalLoss: lossSum / n, trainAccuracy: correct / n },
  };
}

/**
 * Return a copy of `enc` that declares a `context` input of `ctxDim` (default embeddingDim):
 * embedding += context · (gain · I) (identity padded/truncated when ctxDim ≠ embeddingDim).
 * Default gain 0.5.
 */
export function withContextProjection(enc: TrainedEncoder, ctxDim = enc.embeddingDim, gain = 0.5): TrainedEncoder {
  const weights = new Float32Array(ctxDim * enc.embeddingDim);
  for (let i = 0; i < Math.min(ctxDim, enc.embeddingDim); i++) weights[i * enc.embeddingDim + i] = gain;
  return { ...enc, context: { ctxDim, weights } };
}

/**
 * Pure-TS forward pass of the exported encoder for one row: the same arithmetic as the ONNX graph
 * (float32 parameters, double accumulation), used for golden vectors and simulations.
 * `context` is required when the encoder declares one (zeros are NOT assumed here).
 */
export function encode(enc: TrainedEncoder, x: ArrayLike<number>, context?: ArrayLike<number>): Float32Array {
  if (x.length !== enc.inputDim) throw new H3lixError('DATA_INVALID', `input has ${x.length} features, encoder expects ${enc.inputDim}`);
  let cur = new Float64Array(enc.inputDim);
  for (let j = 0; j < enc.inputDim; j++) cur[j] = Math.fround((Math.fround(x[j]!) - enc.mean[j]!) / enc.std[j]!);
  for (const layer of enc.layers) {
    const out = new Float64Array(layer.outDim);
    for (let o = 0; o < layer.outDim; o++) {
      let s = 0;
      for (let i = 0; i < layer.inDim; i++) s += cur[i]! * layer.weights[i * layer.outDim + o]!;
      s = Math.fround(Math.fround(s) + layer.bias[o]!);
      out[o] = layer.activation === 'relu' ? Math.max(0, s) : s;
    }
    cur = out;
  }
  if (enc.context) {
    const { ctxDim, weights } = enc.context;
    if (!context || context.length !== ctxDim) {
      throw new H3lixError('DATA_INVALID', `encoder declares a context input of ${ctxDim} values, got ${context ? context.length : 'none'}`);
    }
    for (let o = 0; o < enc.embeddingDim; o++) {
      let s = 0;
      for (let i = 0; i < ctxDim; i++) s += Math.fround(context[i]!) * weights[i * enc.embeddingDim + o]!;
      cur[o] = Math.fround(cur[o]! + Math.fround(s));
    }
  }
  return Float32Array.from(cur);
}

/** Nearest training prototype for an embedding (diagnostics; the runtime uses field prototypes). */
export function nearestPrototype(enc: TrainedEncoder, embedding: ArrayLike<number>): string {
  let best = 0;
  let bestDist = Infinity;
  for (let c = 0; c < enc.classes.length; c++) {
    let dist = 0;
    for (let e = 0; e < enc.embeddingDim; e++) dist += (embedding[e]! - enc.prototypes[c * enc.embeddingDim + e]!) ** 2;
    if (dist < bestDist) {
      bestDist = dist;
      best = c;
    }
  }
  return enc.classes[best]!;
}
