/**
 * The collective-learning evaluation (docs/evaluation.md), checked from the data: the split keeps
 * bootstrap, training and test rows apart and the novel classes out of the encoder; every baseline is
 * computed in the same run; and the claim (the field beats every no-network baseline on novel classes
 * and comes near central training) holds on public data, with a negative control (no field).
 */
import t, { type Test } from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultConfig } from '../../src/config/load.js';
import { loadPublicDataset } from '../../src/instance/data/public-datasets.js';
import { runFleetEval } from '../../src/instance/eval/simulate.js';
import { defaultNovelClasses, splitFleet } from '../../src/instance/eval/split.js';
import type { FleetEvalResult } from '../../src/instance/eval/types.js';
import type { TrainedEncoder } from '../../src/instance/model/mlp.js';
import { cli } from '../helpers/cli.js';

const datasets = join(import.meta.dirname, '..', '..', 'models', 'datasets');

async function evalJson(t: Test, args: string[]): Promise<FleetEvalResult & { poisoning?: { dropPoints: number; attackers: string[] } }> {
  const r = await cli(['eval', ...args, '--json']);
  t.equal(r.code, 0, r.stderr.slice(-2000));
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as FleetEvalResult;
}

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

/** The claim on novel classes, as one predicate so that its negative control runs the same check. */
function claim(r: FleetEvalResult): { plus20: boolean; nearCentral: (points: number) => boolean } {
  return {
    plus20: (r.ccf.novelAccuracy ?? 0) - (r.bestNoNetwork.novelAccuracy ?? 0) >= 0.2,
    nearCentral: (points) => r.ccf.accuracy >= r.central!.accuracy - points / 100,
  };
}

t.test('suthaharan (real mote data, anomaly as the novel concept): goals met; without the field they are not', async (t) => {
  const r = await evalJson(t, ['--dataset', 'suthaharan', '--fedavg-rounds', '10']);
  t.ok(claim(r).plus20, `novel: CCF ${r.ccf.novelAccuracy} ≥ best no-network ${r.bestNoNetwork.novelAccuracy} + 20 points`);
  t.ok(claim(r).nearCentral(5), `all: CCF ${r.ccf.accuracy} within 5 points of central ${r.central!.accuracy}`);
  t.ok(r.epsilon <= 10);
  // negative control: blend 0 ignores the field, so CCF is local-only and the claim must fail
  const off = await evalJson(t, ['--dataset', 'suthaharan', '--fedavg-rounds', '2', '--blend', '0']);
  t.notOk(claim(off).plus20, `with the field switched off the novel-class claim fails (${off.ccf.novelAccuracy})`);
});

const digits = '/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz';
t.test('digits (UCI, via python3-sklearn): +20 points on novel classes; the gap to central as measured', { skip: existsSync(digits) ? false : 'python3-sklearn is not installed (digits.csv.gz)' }, async (t) => {
  const r = await evalJson(t, ['--dataset', 'digits', '--fedavg-rounds', '10']);
  t.ok(claim(r).plus20, `novel: CCF ${r.ccf.novelAccuracy} vs best no-network ${r.bestNoNetwork.novelAccuracy}`);
  // The 5-point goal is missed on digits (7.3 points in docs/evaluation.md); this checks the measured gap.
  t.ok(claim(r).nearCentral(10), `all: CCF ${r.ccf.accuracy} within 10 points of central ${r.central!.accuracy}`);
});

t.test('poisoning is measured on the honest nodes against a clean control', async (t) => {
  const r = await evalJson(t, ['--dataset', 'suthaharan', '--poison', '0.25', '--attack', 'sign-flip', '--fedavg-rounds', '2']);
  t.equal(r.poisoning!.attackers.length, 2);
  t.ok(r.poisoning!.dropPoints > 0, `the attack is real: ${r.poisoning!.dropPoints} points lost`);
});

t.test('table output with progress and a two-panel SVG plot', async (t) => {
  const dir = t.testdir();
  const plot = join(dir, 'acc.svg');
  const r = await cli(['eval', '--data', join(datasets, 'appliance-power.csv'), '--rounds', '2', '--fedavg-rounds', '2', '--plot', plot]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /round 1\/2/);
  t.match(r.stdout, /central \(pooled raw data\)/);
  t.match(r.stdout, /best no-network/);
  t.match(r.stdout, /goals: CCF vs central/);
  const svg = readFileSync(plot, 'utf8');
  t.match(svg, /^<svg /);
  t.match(svg, /accuracy against bytes per node/);
});

t.test('bad input → clear errors and exit codes', async (t) => {
  const dir = t.testdir();
  const bad = join(dir, 'bad.csv');
  writeFileSync(bad, 'label,a,b\nx,1,2\ny,oops,3\n');
  let r = await cli(['eval', '--data', bad]);
  t.equal(r.code, 65);
  t.match(r.stderr, /line 3, column "a": "oops" is not a finite number/);
  writeFileSync(bad, 'label,a,b\nx,1,NaN\n');
  r = await cli(['eval', '--data', bad]);
  t.equal(r.code, 65);
  t.match(r.stderr, /line 2, column "b": "NaN" is not a finite number/);
  writeFileSync(bad, 'label,a,b\nx,1,2\ny,1,3\nx,1,4\n');
  r = await cli(['eval', '--data', bad]);
  t.equal(r.code, 65);
  t.match(r.stderr, /bad.csv: column "a" is constant/);
  writeFileSync(bad, 'label,a\nx,1\nx,2\n');
  r = await cli(['eval', '--data', bad]);
  t.equal(r.code, 65);
  t.match(r.stderr, /only one class/);
  writeFileSync(bad, 'label,a\nx,1\ny,2\nx,3\ny,4\n');
  r = await cli(['eval', '--data', bad]);
  t.equal(r.code, 65);
  t.match(r.stderr, /bad.csv: class "x" has 2 rows/);
  r = await cli(['eval', '--data', join(datasets, 'sensor-vibration.csv'), '--label', 'nope']);
  t.equal(r.code, 65);
  t.match(r.stderr, /no label column "nope"/);
  r = await cli(['eval', '--data', join(dir, 'missing.csv')]);
  t.equal(r.code, 65);
  t.match(r.stderr, /cannot read --data/);
  r = await cli(['eval', '--data', join(datasets, 'sensor-vibration.csv'), '--classes-per-node', '8']);
  t.equal(r.code, 65);
  t.match(r.stderr, /must be below the number of classes/);
  for (const [args, why] of [
    [['--nodes', 'many'], /--nodes/],
    [['--clip-norm', '-1'], /--clip-norm/],
    [['--encoder', 'big'], /--encoder big/],
    [['--attack', 'nuke'], /--attack nuke/],
    [['--fedavg-quantization', 'int4'], /--fedavg-quantization/],
    [['--dataset', 'sensor-vibration'], /exactly one of --data/],
  ] as const) {
    r = await cli(['eval', '--data', join(datasets, 'sensor-vibration.csv'), ...args]);
    t.equal(r.code, 64, `${args.join(' ')} → 64`);
    t.match(r.stderr, why);
  }
  r = await cli(['eval', '--dataset', 'nope']);
  t.equal(r.code, 64);
  t.match(r.stderr, /--dataset nope: expected one of/);
});
