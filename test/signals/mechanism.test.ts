import t from 'tap';
import { clipL2, l2Norm } from '../../src/signals/clip.js';
import { gaussianRelease } from '../../src/signals/gaussian.js';
import { PrivacyAccountant } from '../../src/signals/accountant.js';
import { SignalAccumulator } from '../../src/signals/accumulator.js';
import { createRng } from '../../src/util/prng.js';
import { H3lixError } from '../../src/errors.js';

t.test('clipping bounds every embedding to C and leaves short ones alone', async (t) => {
  const rng = createRng(7);
  for (let i = 0; i < 500; i++) {
    const v = Array.from({ length: 16 }, () => rng.normal() * rng.range(0.01, 10));
    const c = clipL2(v, 2);
    t.ok(l2Norm(c) <= 2 + 1e-9);
    if (l2Norm(v) <= 2) t.same(Array.from(c), v);
    else t.ok(Math.abs(l2Norm(c) - 2) < 1e-9, 'long vectors land on the sphere, same direction');
  }
});

t.test('Gaussian noise has the calibrated scale (seeded statistics)', async (t) => {
  const rng = createRng(42);
  const C = 1.5;
  const z = 2;
  const dim = 8;
  const sum = new Float64Array(dim).fill(3);
  const N = 4000;
  let s = 0;
  let ss = 0;
  let cs = 0;
  let css = 0;
  for (let i = 0; i < N; i++) {
    const r = gaussianRelease(sum, 100, { clipNorm: C, noiseMultiplier: z, rng });
    for (let j = 0; j < dim; j++) {
      s += r.sum[j]! - 3;
      ss += (r.sum[j]! - 3) ** 2;
    }
    cs += r.count - 100;
    css += (r.count - 100) ** 2;
  }
  const mean = s / (N * dim);
  const std = Math.sqrt(ss / (N * dim) - mean * mean);
  t.ok(Math.abs(mean) < 0.05, `sum noise mean ${mean.toFixed(4)} ≈ 0`);
  t.ok(Math.abs(std - z * C) / (z * C) < 0.03, `sum noise std ${std.toFixed(3)} ≈ z·C = ${z * C}`);
  const cstd = Math.sqrt(css / N - (cs / N) ** 2);
  // count is rounded: var = z^2 + 1/12
  t.ok(Math.abs(cstd - Math.sqrt(z * z + 1 / 12)) < 0.1, `count noise std ${cstd.toFixed(3)} ≈ z`);
  t.ok(Number.isInteger(gaussianRelease(sum, 5, { clipNorm: C, noiseMultiplier: z, rng }).count));
});

t.test('same seed, same noise; different seed, different noise', async (t) => {
  const a = gaussianRelease([1, 2, 3], 10, { clipNorm: 1, noiseMultiplier: 1, rng: createRng(5) });
  const b = gaussianRelease([1, 2, 3], 10, { clipNorm: 1, noiseMultiplier: 1, rng: createRng(5) });
  const c = gaussianRelease([1, 2, 3], 10, { clipNorm: 1, noiseMultiplier: 1, rng: createRng(6) });
  t.same(Array.from(a.sum), Array.from(b.sum));
  t.notSame(Array.from(a.sum), Array.from(c.sum));
});

t.test('accumulator: k threshold on the noised count, per-key clipped sums, bad input rejected', async (t) => {
  const accountant = new PrivacyAccountant({ epsilon: 50, delta: 1e-5 });
  const acc = new SignalAccumulator({ clipNorm: 1, noiseMultiplier: 1, minCount: 20, accountant, rng: createRng(3) });
  for (let i = 0; i < 60; i++) acc.add('many', [10, 0]); // clipped to [1, 0]
  for (let i = 0; i < 2; i++) acc.add('few', [0, 1]);
  t.same(Array.from(acc.local().get('many')!.sum), [60, 0], 'sums are of clipped embeddings');
  const r = acc.release(['public-key']);
  t.same(r.published.map((p) => p.key), ['many'], 'only the key above k is published');
  t.same(r.withheld, ['few', 'public-key'], 'the others are computed and withheld');
  const m = r.published[0]!;
  t.ok(Math.abs(m.sum[0]! - 60) < 5 && Math.abs(m.count - 60) < 5, 'noised values stay near the truth');
  t.not(m.sum[0], 60, 'but are noised');
  t.throws(() => acc.add('many', [1, 2, 3]), H3lixError, 'dimension mismatch');
  t.throws(() => acc.add('many', [NaN, 0]), H3lixError, 'non-finite');
  t.throws(() => acc.add('a/b', [0, 0]), H3lixError, 'key with a topic separator');
  t.throws(() => acc.add('', [0, 0]), H3lixError, 'empty key');
});
