/**
 * Which scorer predicts (docs/signals.md): the local head when it is installed and covers every class
 * the prototypes know, else the prototypes. Unit level: a fake local-stats source, a real CcfField.
 */
import t from 'tap';
import { Conditioner } from '../../src/instance/conditioning/conditioner.js';
import { predictHead, synthesize, trainLocalHead, type LocalHead } from '../../src/instance/evolution/head.js';
import type { LocalStats } from '../../src/instance/conditioning/prototypes.js';
import { CcfField } from '../../src/ccf/field.js';
import { defaultConfig } from '../../src/config/load.js';
import { ManualClock } from '../../src/util/clock.js';
import { createRng } from '../../src/util/prng.js';
import { H3lixError } from '../../src/errors.js';

const centres: Record<string, number[]> = { a: [1, 0], b: [0, 1], c: [-1, -1] };

function train(classes: string[], seed = 1, steps = 200): LocalHead {
  const rng = createRng(seed);
  const means = new Map(classes.map((k) => [k, centres[k]!]));
  return trainLocalHead(synthesize(means, 40, 0.15, rng), [], { steps })!;
}

function setup(localKeys: string[], opts: { clipNorm?: number; useHead?: boolean } = {}) {
  const clock = new ManualClock();
  const local = new Map<string, LocalStats>(localKeys.map((k) => [k, { sum: centres[k]!.map((v) => v * 2), count: 2 }]));
  const field = new CcfField({ nodeId: 'n1', clock, config: defaultConfig().ccf, quantization: 'int8' });
  const conditioner = new Conditioner({ local: () => local, field, clock, blend: 0.5, score: 'distance', maxAgeMs: 0, ...opts });
  return { conditioner, field, local };
}

t.test('no head: prototypes score', async (t) => {
  const { conditioner } = setup(['a', 'b']);
  t.equal(conditioner.head(), undefined);
  const p = conditioner.predict([0.9, 0.1]);
  t.equal(p.source, 'prototypes');
  t.equal(p.label, 'a');
});

t.test('a head covering every prototype class scores; its scores are the head softmax', async (t) => {
  const { conditioner } = setup(['a', 'b']);
  const head = train(['a', 'b']);
  conditioner.installHead(head);
  t.equal(conditioner.head(), head);
  const p = conditioner.predict([0.2, 0.8]);
  t.equal(p.source, 'head');
  t.equal(p.label, 'b');
  t.same(p.scores, predictHead(head, [0.2, 0.8]).scores, 'exactly the head softmax');
  t.ok(Math.abs(Object.values(p.scores).reduce((a, b) => a + b, 0) - 1) < 1e-12);
});

t.test('a class the prototypes know but the head does not: back to prototypes until retrained', async (t) => {
  const { conditioner, field } = setup(['a', 'b']);
  conditioner.installHead(train(['a', 'b']));
  field.contributeLocal('c', Float32Array.from([-2, -2]), 2); // the field now holds c
  const p = conditioner.predict([-1, -0.9]);
  t.equal(p.source, 'prototypes', 'head is older than the prototypes');
  t.equal(p.label, 'c', 'prototypes predict the new field class');
  conditioner.installHead(train(['a', 'b', 'c'], 2)); // next evolution round
  const q = conditioner.predict([-1, -0.9]);
  t.equal(q.source, 'head');
  t.equal(q.label, 'c', 'the retrained head predicts a class never seen locally');
});

t.test('head classes the prototypes no longer know are dropped and the rest renormalised', async (t) => {
  const { conditioner } = setup(['a', 'b']);
  const head = train(['a', 'b', 'c']);
  conditioner.installHead(head);
  const p = conditioner.predict([-1, -1]); // nearest c, which the prototypes do not know
  t.equal(p.source, 'head');
  t.same(Object.keys(p.scores).sort(), ['a', 'b']);
  t.ok(p.label === 'a' || p.label === 'b');
  t.ok(Math.abs(p.scores.a! + p.scores.b! - 1) < 1e-12);
  t.same(p, { ...predictHead(head, [-1, -1], ['a', 'b']), source: 'head' });
  t.same(predictHead(head, [-1, -1], []), { label: undefined, scores: {} }, 'empty restriction: no label');
});

t.test('useHead false, a dimension mismatch or no prototypes: prototypes', async (t) => {
  const off = setup(['a', 'b'], { useHead: false });
  off.conditioner.installHead(train(['a', 'b']));
  t.equal(off.conditioner.predict([1, 0]).source, 'prototypes');
  const empty = setup([]);
  empty.conditioner.installHead(train(['a', 'b']));
  t.same(empty.conditioner.predict([1, 0]), { label: undefined, scores: {}, source: 'prototypes' }, 'no prototypes: nothing known, no label');
  const { conditioner } = setup(['a', 'b']);
  conditioner.installHead(train(['a', 'b']));
  t.equal(conditioner.predict([1, 0, 0]).source, 'prototypes', 'embedding of another dimension');
  conditioner.installHead(undefined);
  t.equal(conditioner.head(), undefined);
  t.equal(conditioner.predict([1, 0]).source, 'prototypes', 'removed head');
});

t.test('the query is clipped to clipNorm before the head scores it, as history and field were', async (t) => {
  const { conditioner } = setup(['a', 'b'], { clipNorm: 1 });
  const head = train(['a', 'b']);
  conditioner.installHead(head);
  const p = conditioner.predict([30, 40]);
  t.same(p.scores, predictHead(head, [0.6, 0.8]).scores);
});

t.test('an inconsistent head is rejected and the installed one stays', async (t) => {
  const { conditioner } = setup(['a', 'b']);
  const good = train(['a', 'b']);
  conditioner.installHead(good);
  const bad: Array<[LocalHead, RegExp]> = [
    [{ ...good, classes: ['a'], weights: good.weights.slice(0, 2), bias: good.bias.slice(0, 1) }, /1 classes/],
    [{ ...good, classes: ['a', 'a'] }, /duplicate/],
    [{ ...good, dim: 0 }, /dim 0/],
    [{ ...good, weights: good.weights.slice(1) }, /3 weights/],
    [{ ...good, bias: new Float64Array(3) }, /3 biases/],
    [{ ...good, bias: Float64Array.from([0, Number.NaN]) }, /non-finite/],
  ];
  for (const [head, re] of bad) {
    const err = t.throws(() => conditioner.installHead(head)) as H3lixError;
    t.equal(err.code, 'DATA_INVALID');
    t.match(err.message, re);
  }
  t.equal(conditioner.head(), good);
});
