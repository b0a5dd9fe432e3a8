/** The plausibility gate: what it accepts, what it refuses, and that an origin caught once is distrusted everywhere. */
import t from 'tap';
import { CcfField } from '../../src/ccf/field.js';
import { defaultConfig } from '../../src/config/load.js';
import { PlausibilityGate } from '../../src/instance/conditioning/plausibility.js';
import { ManualClock } from '../../src/util/clock.js';

const cfg = defaultConfig();
const proto = new Map<string, number[]>([
  ['a', [4, 0, 0, 0]],
  ['b', [0, 4, 0, 0]],
  ['c', [0, 0, 4, 0]],
]);

function fieldWith(entries: Array<[origin: string, key: string, mean: number[], count: number]>): CcfField {
  const clock = new ManualClock();
  const field = new CcfField({ nodeId: 'me', clock, config: cfg.ccf, quantization: 'int8' });
  for (const [origin, key, mean, count] of entries) {
    const other = new CcfField({ nodeId: origin, clock, config: cfg.ccf, quantization: 'int8' });
    other.contributeLocal(key, Float32Array.from(mean, (v) => v * count), count);
    field.merge(other.contributions());
  }
  return field;
}

t.test('radius is half the median nearest-prototype distance; tolerance widens for noisy small means', async (t) => {
  const g = new PlausibilityGate({ prototypes: proto, noiseStd: 10 });
  t.ok(Math.abs(g.radius - Math.SQRT2 * 2) < 1e-9, `radius ${g.radius}`);
  t.ok(g.tolerance(4, 10) > g.tolerance(4, 1000), 'fewer examples → more slack');
});

t.test('honest means pass; sign-flip, scale and label-swap are refused, and their origin is distrusted on every key', async (t) => {
  const field = fieldWith([
    ['honest', 'a', [3.8, 0.2, 0, 0], 200],
    ['honest', 'novel', [0, 0, 0, 4], 200],
    ['flip', 'a', [-4, 0, 0, 0], 200],
    ['flip', 'novel', [0, 0, 0, -4], 200],
    ['scale', 'b', [0, 9.5, 0, 0], 200],
    ['swap', 'c', [4, 0, 0, 0], 200],
    ['copy', 'novel2', [0, 4, 0.1, 0], 200],
  ]);
  const g = new PlausibilityGate({ prototypes: proto });
  const { accept, distrusted } = g.predicate(field, new Map(), cfg.ccf.clipNorm, 'me');
  t.same([...distrusted].sort(), ['flip', 'scale', 'swap']);
  const m = (v: number[]): Float64Array => Float64Array.from(v);
  t.ok(accept('honest', 'a', m([3.8, 0.2, 0, 0])));
  t.ok(accept('honest', 'novel', m([0, 0, 0, 4])), 'an unanchored key with a plausible mean passes');
  t.notOk(accept('flip', 'novel', m([0, 0, 0, -4])), 'distrusted on the key the board cannot check');
  t.notOk(accept('copy', 'novel2', m([0, 4, 0.1, 0])), 'a novel key that copies another class is refused');
  t.ok(accept('me', 'a', m([-4, 0, 0, 0])), 'the board always trusts itself');
  // the field honours the predicate; without it the flipped origin pulls the value
  const gated = field.value('a', 0, accept)!;
  const open = field.value('a', 0)!;
  t.ok(gated[0]! > 3, `gated value ${gated[0]}`);
  t.ok(open[0]! < gated[0]! - 1, `ungated value ${open[0]} is pulled by the flip (negative control)`);
});

t.test('the board’s own mean is the anchor once it has enough examples', async (t) => {
  const field = fieldWith([['o', 'a', [0, 0, 0, 4], 200]]);
  const g = new PlausibilityGate({ prototypes: proto, minAnchorCount: 20 });
  const local = new Map([['a', { sum: [0, 0, 0, 400], count: 100 }]]);
  t.equal(g.predicate(field, local, cfg.ccf.clipNorm, 'me').distrusted.size, 0, 'agrees with the local mean (the prototype would have refused it)');
  t.equal(g.predicate(field, new Map(), cfg.ccf.clipNorm, 'me').distrusted.size, 1, 'against the prototype alone it is refused');
});
