import t from 'tap';
import { buildPrototypes, contextVector, scoreEmbedding } from '../../src/instance/conditioning/prototypes.js';
import { Conditioner } from '../../src/instance/conditioning/conditioner.js';
import { CcfField } from '../../src/ccf/field.js';
import { defaultConfig } from '../../src/config/load.js';
import { ManualClock } from '../../src/util/clock.js';

const local = new Map([
  ['a', { sum: [4, 0], count: 4 }], // mean [1, 0]
  ['b', { sum: [0, 2], count: 2 }], // mean [0, 1]
]);

t.test('prototype = (1 − blend)·local mean + blend·field value; field-only classes come from the field', async (t) => {
  const field = new Map<string, number[]>([
    ['a', [0, 0]],
    ['c', [-1, -1]],
  ]);
  const p = buildPrototypes(local, field, 0.25);
  t.same(
    p.map((x) => [x.key, x.source, Array.from(x.vector)]),
    [
      ['a', 'blend', [0.75, 0]],
      ['b', 'local', [0, 1]],
      ['c', 'field', [-1, -1]],
    ],
  );
  t.same(buildPrototypes(local, field, 0).map((x) => x.key), ['a', 'b'], 'blend 0 = local only');
  t.same(Array.from(buildPrototypes(local, field, 1)[0]!.vector), [0, 0], 'blend 1 = field wherever it has the class');
});

t.test('scores: softmax over −distance or cosine, best label first', async (t) => {
  const protos = buildPrototypes(local, new Map([['c', [-1, -1]]]), 0.5);
  const d = scoreEmbedding([-0.9, -1.2], protos, 'distance');
  t.equal(d.label, 'c', 'a class never seen locally is predicted from the field');
  t.ok(Math.abs(Object.values(d.scores).reduce((s, x) => s + x, 0) - 1) < 1e-9);
  t.equal(scoreEmbedding([5, 0.1], protos, 'cosine').label, 'a');
  t.equal(scoreEmbedding([50, 0], protos, 'distance', 1).label, 'a', 'query clipped into prototype space');
  t.equal(scoreEmbedding([1, 2], [], 'distance').label, undefined);
});

t.test('context vector = mean field vector over the active keys', async (t) => {
  const field = new Map<string, number[]>([
    ['a', [1, 3]],
    ['b', [3, 1]],
  ]);
  t.same(Array.from(contextVector(field, ['a', 'b', 'missing'], 2)), [2, 2]);
  t.same(Array.from(contextVector(field, [], 2)), [0, 0]);
});

t.test('Conditioner on a real CcfField: predicts a class it never saw once a peer contributes it', async (t) => {
  const clock = new ManualClock();
  const cfg = defaultConfig();
  const mine = new CcfField({ nodeId: 'me', clock, config: cfg.ccf, quantization: 'int8' });
  const peer = new CcfField({ nodeId: 'peer', clock, config: cfg.ccf, quantization: 'int8' });
  const cond = new Conditioner({ local: () => local, field: mine, clock, blend: 0.5, score: 'distance', maxAgeMs: 1000 });
  t.equal(cond.predict([-1, -1]).label === 'c', false, 'unknown before the field has c');
  peer.contributeLocal('c', Float32Array.from([-30, -30]), 30); // mean [-1, -1]
  mine.merge(peer.contributions());
  t.notOk(cond.prototypes().some((p) => p.key === 'c'), 'cached prototypes until maxAge or invalidate');
  cond.invalidate();
  t.equal(cond.predict([-1, -1]).label, 'c', 'predicted after the merge');
  t.ok(cond.prototypes().find((p) => p.key === 'c')!.source === 'field');
  clock.advance(2000);
  t.equal(cond.prototypes().length, 3);
  const ctx = cond.context(2, ['c']);
  t.ok(Math.abs(ctx[0]! + 1) < 0.05 && Math.abs(ctx[1]! + 1) < 0.05, 'context carries the field vector');
});
