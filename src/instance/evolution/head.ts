/**
 * The local head (DESIGN section 4, "synthetic data"): multinomial logistic regression on embeddings,
 * trained on local history plus synthetic samples drawn from the field (per-key mean + isotropic
 * spread). It never leaves the board. Full-batch gradient descent with L2 regularisation; deterministic
 * for a seeded generator.
 */
import type { Rng } from '../../util/prng.js';
import type { Prediction } from '../conditioning/prototypes.js';
import type { LabelledEmbedding } from './history.js';

/** A trained head: logits = W·e + b. */
export interface LocalHead {
  classes: string[];
  dim: number;
  /** Row-major [classes, dim]. */
  weights: Float64Array;
  bias: Float64Array;
  /** Training examples used: local, synthetic. */
  trainedOn: { local: number; synthetic: number };
}

/** Options for `trainLocalHead`. */
export interface TrainHeadOptions {
  /** Gradient steps. Default 200. */
  steps?: number;
  /** Learning rate. Default 0.5. */
  learningRate?: number;
  /** L2 penalty. Default 1e-3. */
  l2?: number;
}

/** Draw `perKey` synthetic samples around each field mean with isotropic std `spread`. */
export function synthesize(field: ReadonlyMap<string, ArrayLike<number>>, perKey: number, spread: number, rng: Rng): LabelledEmbedding[] {
  const out: LabelledEmbedding[] = [];
  for (const [label, mean] of field) {
    for (let n = 0; n < perKey; n++) {
      const e = new Float32Array(mean.length);
      for (let i = 0; i < e.length; i++) e[i] = mean[i]! + spread * rng.normal();
      out.push({ label, embedding: e });
    }
  }
  return out;
}

/** Train a softmax-regression head on `local` ∪ `synthetic`. Returns undefined with < 2 classes. */
export function trainLocalHead(local: LabelledEmbedding[], synthetic: LabelledEmbedding[], opts: TrainHeadOptions = {}): LocalHead | undefined {
  const data = [...local, ...synthetic];
  const classes = [...new Set(data.map((d) => d.label))].sort();
  if (classes.length < 2 || data.length === 0) return undefined;
  const dim = data[0]!.embedding.length;
  const C = classes.length;
  const idx = new Map(classes.map((c, i) => [c, i]));
  const W = new Float64Array(C * dim);
  const b = new Float64Array(C);
  const gW = new Float64Array(C * dim);
  const gb = new Float64Array(C);
  const p = new Float64Array(C);
  const steps = opts.steps ?? 200;
  const lr = opts.learningRate ?? 0.5;
  const l2 = opts.l2 ?? 1e-3;
  // Flattened once: typed rows and integer labels keep the 200 full-batch passes in tight loops
  // (the same arithmetic in the same order as walking `data`, so results are unchanged).
  const rows = data.filter((d) => d.embedding.length === dim);
  const n = data.length;
  const X = new Float64Array(rows.length * dim);
  const Y = new Int32Array(rows.length);
  rows.forEach((d, r) => {
    X.set(d.embedding, r * dim);
    Y[r] = idx.get(d.label)!;
  });
  for (let step = 0; step < steps; step++) {
    gW.fill(0);
    gb.fill(0);
    for (let r = 0; r < rows.length; r++) {
      const off = r * dim;
      let max = -Infinity;
      for (let c = 0; c < C; c++) {
        let s = b[c]!;
        const w = c * dim;
        for (let i = 0; i < dim; i++) s += W[w + i]! * X[off + i]!;
        p[c] = s;
        if (s > max) max = s;
      }
      let z = 0;
      for (let c = 0; c < C; c++) z += p[c] = Math.exp(p[c]! - max);
      const t = Y[r]!;
      for (let c = 0; c < C; c++) {
        const g = p[c]! / z - (c === t ? 1 : 0);
        gb[c] = gb[c]! + g;
        const w = c * dim;
        for (let i = 0; i < dim; i++) gW[w + i] = gW[w + i]! + g * X[off + i]!;
      }
    }
    for (let j = 0; j < W.length; j++) W[j] = W[j]! - lr * (gW[j]! / n + l2 * W[j]!);
    for (let c = 0; c < C; c++) b[c] = b[c]! - (lr * gb[c]!) / n;
  }
  return { classes, dim, weights: W, bias: b, trainedOn: { local: local.length, synthetic: synthetic.length } };
}

/**
 * Predict with a head; softmax scores per class. `only` restricts the softmax to those of the head's
 * classes (others are ignored; unknown names are skipped), e.g. the classes the prototypes currently know.
 */
export function predictHead(head: LocalHead, e: ArrayLike<number>, only?: Iterable<string>): Prediction {
  if (e.length !== head.dim) return { label: undefined, scores: {} };
  let rows: number[];
  if (only === undefined) rows = head.classes.map((_, c) => c);
  else {
    const keep = new Set(only);
    rows = [];
    head.classes.forEach((k, c) => keep.has(k) && rows.push(c));
  }
  if (rows.length === 0) return { label: undefined, scores: {} };
  const logits = new Float64Array(rows.length);
  let best = 0;
  rows.forEach((c, r) => {
    let s = head.bias[c]!;
    for (let i = 0; i < head.dim; i++) s += head.weights[c * head.dim + i]! * e[i]!;
    logits[r] = s;
    if (s > logits[best]!) best = r;
  });
  let z = 0;
  for (let r = 0; r < rows.length; r++) z += Math.exp(logits[r]! - logits[best]!);
  const scores: Record<string, number> = {};
  rows.forEach((c, r) => (scores[head.classes[c]!] = Math.exp(logits[r]! - logits[best]!) / z));
  return { label: head.classes[rows[best]!], scores };
}
