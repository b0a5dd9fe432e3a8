import t from 'tap';
import * as ort from 'onnxruntime-node';
import { encode, nearestPrototype, trainEncoder, withContextProjection } from '../../src/instance/model/mlp.js';
import { exportEncoderOnnx, importEncoderOnnx } from '../../src/instance/model/onnx-export.js';
import { createRng } from '../../src/util/prng.js';

function blobs(n: number, seed: number): { X: number[][]; y: string[] } {
  const rng = createRng(seed);
  const X: number[][] = [];
  const y: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    X.push(Array.from({ length: 6 }, (_, j) => 50 + (j === c ? 4 : 0) + rng.normal()));
    y.push(`class-${c}`);
  }
  return { X, y };
}

t.test('training is deterministic for a seed and learns the task', async (t) => {
  const { X, y } = blobs(300, 1);
  const a = trainEncoder(X, y, { epochs: 15, seed: 7, hidden: 16, embeddingDim: 8 });
  const b = trainEncoder(X, y, { epochs: 15, seed: 7, hidden: 16, embeddingDim: 8 });
  const c = trainEncoder(X, y, { epochs: 15, seed: 8, hidden: 16, embeddingDim: 8 });
  t.same(a.layers[0]!.weights, b.layers[0]!.weights, 'same seed, same weights');
  t.notSame(a.layers[0]!.weights, c.layers[0]!.weights, 'other seed, other weights');
  t.same(a.classes, ['class-0', 'class-1', 'class-2']);
  t.equal(a.embeddingDim, 8);
  const test = blobs(150, 2);
  const correct = test.X.filter((x, i) => nearestPrototype(a, encode(a, x)) === test.y[i]).length;
  t.ok(correct / test.X.length > 0.9, `held-out prototype accuracy ${correct / test.X.length}`);
  t.ok(a.training.trainAccuracy > 0.9);
});

t.test('progress is reported once per epoch', async (t) => {
  const { X, y } = blobs(60, 3);
  const epochs: number[] = [];
  trainEncoder(X, y, { epochs: 4, onProgress: (p) => epochs.push(p.epoch) });
  t.same(epochs, [1, 2, 3, 4]);
});

t.test('bad training data is rejected with DATA_INVALID', async (t) => {
  t.throws(() => trainEncoder([], []), { code: 'DATA_INVALID', message: /empty/ });
  t.throws(() => trainEncoder([[1, 2], [3]], ['a', 'b']), { code: 'DATA_INVALID', message: /row 1 has 1 features, expected 2/ });
  t.throws(() => trainEncoder([[1], [2]], ['a', 'a']), { code: 'DATA_INVALID', message: /at least 2 classes/ });
  t.throws(() => trainEncoder([[1], [NaN]], ['a', 'b']), { code: 'DATA_INVALID', message: /not a finite number/ });
  t.throws(() => trainEncoder([[1], [2]], ['a']), { code: 'DATA_INVALID', message: /labels/ });
  t.throws(() => trainEncoder([[], []], ['a', 'b']), { code: 'DATA_INVALID', message: /no features/ });
});

t.test('ONNX export matches the TS forward through onnxruntime, with and without context', async (t) => {
  const { X, y } = blobs(120, 4);
  const base = trainEncoder(X, y, { epochs: 5, hidden: 12, embeddingDim: 5 });
  for (const enc of [base, withContextProjection(base, 3, 0.7)]) {
    const bytes = exportEncoderOnnx(enc, { name: 'blob', version: '1.2.3' });
    t.same(exportEncoderOnnx(enc, { name: 'blob', version: '1.2.3' }), bytes, 'export is deterministic');
    const session = await ort.InferenceSession.create(bytes);
    const n = 4;
    const ctx = enc.context ? Float32Array.from({ length: n * 3 }, (_, i) => i - 5) : undefined;
    const feeds: Record<string, ort.Tensor> = { input: new ort.Tensor('float32', Float32Array.from(X.slice(0, n).flat()), [n, 6]) };
    if (ctx) feeds.context = new ort.Tensor('float32', ctx, [n, 3]);
    const got = (await session.run(feeds)).embedding!.data as Float32Array;
    await session.release();
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const want = encode(enc, X[i]!, ctx?.subarray(i * 3, i * 3 + 3));
      want.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - got[i * 5 + j]!))));
    }
    t.ok(worst < 1e-5, `${enc.context ? 'with' : 'without'} context: max |diff| ${worst}`);
    const back = importEncoderOnnx(bytes);
    t.same(back.mean, enc.mean);
    t.same(back.layers.map((l) => l.activation), ['relu', 'linear']);
    t.equal(back.context?.ctxDim, enc.context?.ctxDim);
  }
  t.throws(() => exportEncoderOnnx(base, { name: 'x', version: 'v1' }), { code: 'MODEL_INVALID' });
  t.throws(() => importEncoderOnnx(new Uint8Array([0xff, 0xff, 0xff])), { code: 'MODEL_INVALID' });
  t.throws(() => encode(base, [1, 2]), { code: 'DATA_INVALID' });
  t.throws(() => encode(withContextProjection(base), X[0]!), { code: 'DATA_INVALID', message: /context/ });
  // withContextInput on an encoder without projection adds the default 0.5·I projection.
  const auto = importEncoderOnnx(exportEncoderOnnx(base, { name: 'x', version: '1.0.0', withContextInput: true }));
  t.equal(auto.context?.ctxDim, 5);
});
