import t from 'tap';
import fc from 'fast-check';
import { capWeights, clippedMean, decay } from '../../src/ccf/robust.js';
import { ManualClock } from '../../src/util/clock.js';
import { contribution, makeField } from './fixtures.js';

const NOW = new ManualClock().now();
const at = (wall = NOW) => ({ wall, logical: 0 });

t.test('single origin: value is its clipped mean', async (t) => {
  const f = makeField('me', { config: { clipNorm: 10 } });
  f.merge([contribution({ origin: 'o', key: 'k', sum: Float32Array.of(6, 8), count: 2, hlc: at() })]);
  t.same([...f.value('k', NOW)!], [3, 4]);
  f.merge([contribution({ origin: 'o', key: 'k', version: 2, sum: Float32Array.of(60, 80), count: 1, hlc: at() })]);
  t.same([...f.value('k', NOW)!], [6, 8], 'norm 100 clipped to 10');
  t.equal(f.value('nothing', NOW), undefined);
  f.merge([contribution({ origin: 'z', key: 'zero', count: 0, hlc: at() })]);
  t.equal(f.value('zero', NOW), undefined, 'count 0 carries no mean');
});

t.test('few origins: coordinate-wise median', async (t) => {
  const f = makeField('me', { config: { medianBelowOrigins: 5 } });
  f.merge([
    contribution({ origin: 'a', key: 'k', sum: Float32Array.of(1, -5), count: 1, hlc: at() }),
    contribution({ origin: 'b', key: 'k', sum: Float32Array.of(2, 0), count: 1, hlc: at() }),
    contribution({ origin: 'c', key: 'k', sum: Float32Array.of(9, 1), count: 1, hlc: at() }),
  ]);
  t.same([...f.value('k', NOW)!], [2, 0]);
});

t.test('many origins: trimmed mean ignores the extremes', async (t) => {
  const f = makeField('me', { config: { medianBelowOrigins: 5, trimFraction: 0.1, maxOriginShare: 0.1 } });
  const cs = [];
  for (let i = 0; i < 10; i++) cs.push(contribution({ origin: `o${i}`, key: 'k', sum: Float32Array.of(i), count: 1, hlc: at() }));
  f.merge(cs);
  // weights equal, 10% trimmed each end removes o0 and o9: mean of 1..8 = 4.5
  t.equal(f.value('k', NOW)![0], 4.5);
});

t.test('age decay: weight halves every half-life', async (t) => {
  const f = makeField('me', { config: { medianBelowOrigins: 1, trimFraction: 0, maxOriginShare: 1, halfLifeSeconds: 100 } });
  f.merge([
    contribution({ origin: 'fresh', key: 'k', sum: Float32Array.of(0), count: 1, hlc: at(NOW) }),
    contribution({ origin: 'old', key: 'k', sum: Float32Array.of(3), count: 1, hlc: at(NOW - 100_000) }),
  ]);
  t.equal(f.value('k', NOW)![0], Math.fround(1), 'weights 1 and 0.5: (0*1 + 3*0.5)/1.5 = 1');
  t.equal(f.value('k', NOW + 900_000)![0], Math.fround(1), 'later: both decay, their ratio (and the value) stays');
  f.merge([contribution({ origin: 'fresh', key: 'k', version: 2, sum: Float32Array.of(0), count: 1, hlc: at(NOW + 900_000) })]);
  t.ok(Math.abs(f.value('k', NOW + 900_000)![0]! - 3 / (2 ** 10 + 1)) < 1e-6, 'a refreshed origin outweighs one ten half-lives old: 3/1025');
  t.equal(decay(NOW + 5000, NOW, 100), 1, 'future stamps get no bonus weight');
  t.equal(decay(NOW - 200_000, NOW, 100), 0.25);
});

t.test('few origins (cap cannot be met): counts are ignored but age decay still weighs', async (t) => {
  const f = makeField('me', { config: { medianBelowOrigins: 5, maxOriginShare: 0.1, halfLifeSeconds: 100 } });
  f.merge([
    contribution({ origin: 'fresh', key: 'k', sum: Float32Array.of(0), count: 1, hlc: at(NOW) }),
    contribution({ origin: 'stale', key: 'k', sum: Float32Array.of(3e6), count: 1e6, hlc: at(NOW - 200_000) }),
  ]);
  // weights 1 and 0.25 (count 1e6 ignored): the weighted median is the fresh origin's value
  t.equal(f.value('k', NOW)![0], 0);
  f.merge([contribution({ origin: 'stale', key: 'k', version: 2, sum: Float32Array.of(3), count: 1, hlc: at(NOW) })]);
  t.equal(f.value('k', NOW)![0], 1.5, 'equally fresh: midpoint');
});

t.test('capWeights: no origin above its share, order kept (fast-check)', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: 1e-6, max: 1e30, noNaN: true }), { minLength: 1, maxLength: 30 }), fc.double({ min: 0.01, max: 1, noNaN: true }), (w, s) => {
      const c = capWeights(w, s);
      const total = c.reduce((a, b) => a + b, 0);
      const share = w.length * s <= 1 ? 1 / w.length : s;
      for (let i = 0; i < w.length; i++) {
        if (c[i]! / total > share * (1 + 1e-9)) return false;
        for (let j = 0; j < w.length; j++) if (w[i]! > w[j]! && c[i]! < c[j]! * (1 - 1e-9)) return false;
      }
      return true;
    }),
    { numRuns: 1000 },
  );
  t.same(capWeights([], 0.1), []);
  t.same(capWeights([1, 1, 1], 0.5), [1, 1, 1], 'already within share');
});

/** Honest origins' clipped means: their per-coordinate hull is the reference for the bound. */
function hull(means: Float64Array[]): Array<[number, number]> {
  return [...means[0]!].map((_, d) => [Math.min(...means.map((m) => m[d]!)), Math.max(...means.map((m) => m[d]!))]);
}

const honestArb = (minN: number, maxN: number) =>
  fc.array(fc.record({ v: fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: 4, maxLength: 4 }), count: fc.double({ min: 0.5, max: 50, noNaN: true }) }), { minLength: minN, maxLength: maxN });
const poisonArb = fc.record({
  v: fc.array(fc.oneof(fc.constantFrom(1e30, -1e30, 3e38, -3e38), fc.double({ min: -1e6, max: 1e6, noNaN: true })), { minLength: 4, maxLength: 4 }),
  count: fc.oneof(fc.constantFrom(1e30, 3e38, 1e-30), fc.double({ min: 1e-3, max: 1e9, noNaN: true })),
});

function scenario(honest: Array<{ v: number[]; count: number }>, poison: { v: number[]; count: number }, config: Record<string, number>) {
  const f = makeField('me', { config });
  const cs = honest.map((h, i) => contribution({ origin: `h${String(i).padStart(2, '0')}`, key: 'k', sum: Float32Array.from(h.v.map((x) => x * h.count)), count: h.count, hlc: at() }));
  f.merge(cs);
  const means = f.contributions().map((c) => clippedMean(c, config.clipNorm ?? 10)!);
  const honestValue = f.value('k', NOW)!;
  f.merge([contribution({ origin: 'evil', key: 'k', sum: Float32Array.from(poison.v), count: Math.fround(poison.count), hlc: at(NOW + 1e9) })]);
  return { hull: hull(means), honestValue, poisoned: f.value('k', NOW)! };
}

t.test('poisoning bound, trimmed mean: with share <= trimFraction the value stays inside the honest hull', async (t) => {
  const config = { clipNorm: 10, trimFraction: 0.1, maxOriginShare: 0.1, medianBelowOrigins: 5 };
  fc.assert(
    fc.property(honestArb(10, 20), poisonArb, (honest, poison) => {
      const { hull: h, poisoned } = scenario(honest, poison, config);
      return [...poisoned].every((x, d) => x >= Math.fround(h[d]![0]) - 1e-5 && x <= Math.fround(h[d]![1]) + 1e-5);
    }),
    { numRuns: 300 },
  );
  t.pass();
});

t.test('poisoning bound, general: shift from the honest hull <= 2C * share / (1 - 2 trim)', async (t) => {
  const config = { clipNorm: 10, trimFraction: 0.1, maxOriginShare: 0.1, medianBelowOrigins: 5 };
  fc.assert(
    fc.property(honestArb(4, 12), poisonArb, (honest, poison) => {
      const { hull: h, poisoned } = scenario(honest, poison, config);
      const n = honest.length + 1;
      const share = n * config.maxOriginShare <= 1 ? 1 / n : config.maxOriginShare;
      const bound = (2 * config.clipNorm * share) / (1 - 2 * config.trimFraction);
      return [...poisoned].every((x, d) => x >= h[d]![0] - bound - 1e-5 && x <= h[d]![1] + bound + 1e-5);
    }),
    { numRuns: 300 },
  );
  t.pass();
});

t.test('poisoning bound, median mode: with >= 3 honest origins the value stays inside the honest hull', async (t) => {
  const config = { clipNorm: 10, trimFraction: 0.1, maxOriginShare: 0.1, medianBelowOrigins: 100 };
  fc.assert(
    fc.property(honestArb(3, 8), poisonArb, (honest, poison) => {
      const { hull: h, poisoned } = scenario(honest, poison, config);
      return [...poisoned].every((x, d) => x >= Math.fround(h[d]![0]) - 1e-5 && x <= Math.fround(h[d]![1]) + 1e-5);
    }),
    { numRuns: 300 },
  );
  t.pass();
});

t.test('a concrete attack: huge vector, huge count, future stamp', async (t) => {
  const config = { clipNorm: 10, trimFraction: 0.1, maxOriginShare: 0.1, medianBelowOrigins: 5 };
  const honest = Array.from({ length: 12 }, (_, i) => ({ v: [1 + i * 0.01, -1, 0.5, 0], count: 10 }));
  const { honestValue, poisoned } = scenario(honest, { v: [3e38, -3e38, 3e38, 3e38], count: 3e38 }, config);
  const shift = Math.hypot(...[...poisoned].map((x, d) => x - honestValue[d]!));
  t.ok(shift < 0.2, `value moved by ${shift.toFixed(4)} only`);
});

t.test('origins disagreeing on dimension: the majority dimension is used', async (t) => {
  const f = makeField();
  f.merge([
    contribution({ origin: 'a', key: 'k', sum: Float32Array.of(1, 1), hlc: at() }),
    contribution({ origin: 'b', key: 'k', sum: Float32Array.of(1, 1), hlc: at() }),
    contribution({ origin: 'c', key: 'k', sum: Float32Array.of(5, 5, 5), hlc: at() }),
  ]);
  t.equal(f.value('k', NOW)!.length, 2);
});

t.test('clippedMean survives float overflow', async (t) => {
  const m = clippedMean(contribution({ origin: 'o', key: 'k', sum: Float32Array.of(3e38, 3e38), count: 1e-30 }), 10)!;
  t.ok(Math.abs(Math.hypot(m[0]!, m[1]!) - 10) < 1e-9);
  t.equal(clippedMean(contribution({ origin: 'o', key: 'k', count: 0 }), 10), undefined);
});
