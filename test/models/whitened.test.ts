/** The whitened encoder: linear algebra, what it is fitted on, ONNX export through onnxruntime-node. */
import t from 'tap';
import * as ort from 'onnxruntime-node';
import { symmetricEigen, topEigen } from '../../src/instance/model/linalg.js';
import { encode } from '../../src/instance/model/mlp.js';
import { exportEncoderOnnx, importEncoderOnnx } from '../../src/instance/model/onnx-export.js';
import { trainWhitenedEncoder } from '../../src/instance/model/whitened.js';
import { createRng } from '../../src/util/prng.js';

function blobs(n: number, classes: number, d: number, seed = 1): { X: number[][]; y: string[] } {
  const rng = createRng(seed);
  const centers = Array.from({ length: classes }, () => Array.from({ length: d }, () => rng.normal()));
  const X: number[][] = [];
  const y: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    // a strong nuisance shared by all features (per-feature standardization cannot remove it)
    const nuisance = rng.normal() * 4;
    X.push(centers[c]!.map((m) => m + nuisance + rng.normal() * 0.3));
    y.push(`c${c}`);
  }
  return { X, y };
}

t.test('symmetric eigendecomposition and subspace iteration agree with A v = λ v', async (t) => {
  const rng = createRng(3);
  for (const n of [5, 120]) {
    const B = Float64Array.from({ length: n * n }, () => rng.normal());
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) A[i * n + j]! += B[i * n + k]! * B[j * n + k]!;
    const k = 4;
    const e = n <= 96 ? symmetricEigen(A, n) : topEigen(A, n, k, createRng(1), 300);
    let worst = 0;
    for (let j = 0; j < k; j++) {
      for (let i = 0; i < n; i++) {
        let av = 0;
        for (let m = 0; m < n; m++) av += A[i * n + m]! * e.vectors[m * e.k + j]!;
        worst = Math.max(worst, Math.abs(av - e.values[j]! * e.vectors[i * e.k + j]!) / e.values[0]!);
      }
    }
    t.ok(worst < 1e-4, `n=${n}: max residual ${worst}`);
    t.ok(e.values[0]! >= e.values[1]! && e.values[1]! >= e.values[2]!, 'sorted by decreasing eigenvalue');
  }
});

t.test('whitening makes nearest-mean work where raw distances fail (negative control: shrinkage 1 = no whitening)', async (t) => {
  const { X, y } = blobs(600, 4, 6);
  const acc = (shrinkage: number): number => {
    const enc = trainWhitenedEncoder(X.slice(0, 400), y.slice(0, 400), { shrinkage });
    let ok = 0;
    for (let i = 400; i < 600; i++) {
      const e = encode(enc, X[i]!);
      let best = 0;
      let bestD = Infinity;
      enc.classes.forEach((_, c) => {
        let dd = 0;
        for (let j = 0; j < enc.embeddingDim; j++) dd += (e[j]! - enc.prototypes[c * enc.embeddingDim + j]!) ** 2;
        if (dd < bestD) [best, bestD] = [c, dd];
      });
      if (enc.classes[best] === y[i]) ok++;
    }
    return ok / 200;
  };
  const whitened = acc(0.1);
  const plain = acc(1);
  t.ok(whitened > plain + 0.05, `whitened ${whitened} > unwhitened ${plain}`);
});

t.test('the encoder is fitted on the rows it is given and nothing else', async (t) => {
  const { X, y } = blobs(300, 3, 5);
  const enc = trainWhitenedEncoder(X, y);
  t.equal(enc.training.samples, 300);
  const mean0 = X.reduce((s, r) => s + r[0]!, 0) / X.length;
  t.ok(Math.abs(enc.mean[0]! - mean0) < 1e-4, 'standardization mean is these rows’ mean');
  t.same(enc.classes, ['c0', 'c1', 'c2']);
  t.throws(() => trainWhitenedEncoder([], []), { code: 'DATA_INVALID' });
  t.throws(() => trainWhitenedEncoder([[1, NaN]], ['a']), { code: 'DATA_INVALID', message: /not a finite number/ });
});

t.test('exported to ONNX it gives the same embedding through onnxruntime-node', async (t) => {
  const { X, y } = blobs(200, 4, 12);
  const enc = trainWhitenedEncoder(X, y, { embeddingDim: 8 });
  const bytes = exportEncoderOnnx(enc, { name: 'white', version: '1.0.0' });
  const session = await ort.InferenceSession.create(bytes);
  const n = 5;
  const got = (await session.run({ input: new ort.Tensor('float32', Float32Array.from(X.slice(0, n).flat()), [n, 12]) })).embedding!.data as Float32Array;
  await session.release();
  let worst = 0;
  for (let i = 0; i < n; i++) encode(enc, X[i]!).forEach((v, j) => (worst = Math.max(worst, Math.abs(v - got[i * 8 + j]!))));
  t.ok(worst < 1e-4, `max |diff| ${worst}`);
  t.same(importEncoderOnnx(bytes).layers.map((l) => l.activation), ['linear']);
});
