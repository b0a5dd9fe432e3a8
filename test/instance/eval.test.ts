/**
 * The project's central claim, measured (docs/evaluation.md): on a non-IID split, CCF-conditioned
 * nodes classify classes they never saw locally far better than local-only nodes and within a few
 * points of the pooled-data upper bound, on the demo sensor task and on the household-power task.
 */
import t, { type Test } from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from '../helpers/cli.js';

const datasets = join(import.meta.dirname, '..', '..', 'models', 'datasets');

interface Scores {
  accuracy: number;
  unseenAccuracy: number;
}
interface EvalJson {
  localOnly: Scores;
  ccf: Scores;
  ccfHead: Scores;
  pooled: Scores;
  bytesPerNode: number;
  epsilon: number;
  fedAvgBytesPerRound: number;
  encoder: { sawNodeTrainingData: unknown; sawTestData: unknown; trainedOn: string };
  setup: { epsilonBudget: number; rounds: number };
  rounds: Array<{ round: number; ccf: Scores; bytesPerNode: number }>;
}

async function evalJson(t: Test, args: string[]): Promise<EvalJson> {
  const r = await cli(['eval', ...args, '--json']);
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as EvalJson;
}

function assertClaim(t: Test, j: EvalJson, name: string): void {
  t.ok(j.localOnly.unseenAccuracy <= 0.02, `${name}: local-only on unseen classes ${j.localOnly.unseenAccuracy} ≈ 0 (by construction)`);
  t.ok(j.ccf.unseenAccuracy >= 0.85, `${name}: CCF on unseen classes ${j.ccf.unseenAccuracy} ≥ 0.85`);
  t.ok(j.ccf.unseenAccuracy - j.localOnly.unseenAccuracy >= 0.8, `${name}: CCF beats local-only on unseen classes by ≥ 80 points`);
  t.ok(j.pooled.accuracy - j.ccf.accuracy <= 0.05, `${name}: CCF ${j.ccf.accuracy} within 5 points of pooled ${j.pooled.accuracy}`);
  t.ok(j.ccf.accuracy > j.localOnly.accuracy + 0.5, `${name}: CCF all-class accuracy ${j.ccf.accuracy} ≫ local-only ${j.localOnly.accuracy}`);
  t.ok(j.ccfHead.unseenAccuracy >= 0.8, `${name}: private local head on unseen classes ${j.ccfHead.unseenAccuracy}`);
  t.equal(j.encoder.sawNodeTrainingData, false);
  t.equal(j.encoder.sawTestData, false);
  t.ok(j.epsilon > 0 && j.epsilon <= j.setup.epsilonBudget, `${name}: ε ${j.epsilon} within budget`);
  t.ok(j.bytesPerNode > 0 && j.bytesPerNode < j.fedAvgBytesPerRound, `${name}: ${j.bytesPerNode} B per node over all rounds < one FedAvg round (${j.fedAvgBytesPerRound} B)`);
  t.equal(j.rounds.length, j.setup.rounds);
}

t.test('demo sensor task: the claim holds', async (t) => {
  const j = await evalJson(t, ['--data', join(datasets, 'sensor-vibration.csv'), '--label', 'label', '--seed', '3']);
  assertClaim(t, j, 'sensor');
});

t.test('household power task: the claim holds', async (t) => {
  const j = await evalJson(t, ['--data', join(datasets, 'appliance-power.csv'), '--label', 'label', '--seed', '4']);
  assertClaim(t, j, 'appliance');
});

t.test('a committed model as the encoder (--model): the JSON says it cannot vouch for its training data', async (t) => {
  const j = await evalJson(t, ['--data', join(datasets, 'sensor-vibration.csv'), '--model', join(import.meta.dirname, '..', '..', 'models', 'sensor-encoder'), '--rounds', '3']);
  t.equal(j.encoder.sawTestData, 'unknown');
  t.match(j.encoder.trainedOn, /bench/);
  t.ok(j.ccf.unseenAccuracy >= 0.8 && j.localOnly.unseenAccuracy <= 0.02, `ccf ${j.ccf.unseenAccuracy} vs local ${j.localOnly.unseenAccuracy}`);
});

t.test('novel classes (withheld from the encoder too): CCF still tracks the pooled bound', async (t) => {
  const r = await cli(['eval', '--data', join(datasets, 'sensor-vibration.csv'), '--novel-classes', '2', '--rounds', '3', '--json']);
  t.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as EvalJson & { setup: { novelClasses: string[] }; encoder: { classes: string[] }; ccf: { novelAccuracy: number }; pooled: { novelAccuracy: number } };
  t.equal(j.setup.novelClasses.length, 2);
  t.ok(j.setup.novelClasses.every((c) => !j.encoder.classes.includes(c)), 'the encoder never saw the novel classes');
  t.ok(j.ccf.novelAccuracy >= j.pooled.novelAccuracy - 0.05, `novel: ccf ${j.ccf.novelAccuracy} vs pooled ${j.pooled.novelAccuracy}`);
  t.ok(j.ccf.unseenAccuracy >= 0.8, `unseen ${j.ccf.unseenAccuracy}`);
});

t.test('table output with progress and an SVG plot', async (t) => {
  const dir = t.testdir();
  const plot = join(dir, 'acc.svg');
  const r = await cli(['eval', '--data', join(datasets, 'appliance-power.csv'), '--rounds', '2', '--plot', plot]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /round 1\/2/);
  t.match(r.stdout, /CCF-conditioned/);
  t.match(r.stdout, /pooled data/);
  t.ok(existsSync(plot));
  const svg = readFileSync(plot, 'utf8');
  t.match(svg, /^<svg /);
  t.equal((svg.match(/<path /g) ?? []).length, 5, 'five series');
});

t.test('bad input → clear errors and exit codes', async (t) => {
  const dir = t.testdir();
  const bad = join(dir, 'bad.csv');
  writeFileSync(bad, 'label,a,b\nx,1,2\ny,oops,3\n');
  let r = await cli(['eval', '--data', bad]);
  t.equal(r.code, 65);
  t.match(r.stderr, /line 3, column "a": "oops" is not a finite number/);
  r = await cli(['eval', '--data', join(datasets, 'sensor-vibration.csv'), '--label', 'nope']);
  t.equal(r.code, 65);
  t.match(r.stderr, /no label column "nope"/);
  r = await cli(['eval', '--data', join(dir, 'missing.csv')]);
  t.equal(r.code, 65);
  t.match(r.stderr, /cannot read --data/);
  r = await cli(['eval', '--data', join(datasets, 'sensor-vibration.csv'), '--classes-per-node', '8']);
  t.equal(r.code, 65);
  t.match(r.stderr, /must be below the number of classes/);
  r = await cli(['eval', '--data', join(datasets, 'sensor-vibration.csv'), '--nodes', 'many']);
  t.equal(r.code, 64);
  r = await cli(['eval', '--data', join(datasets, 'sensor-vibration.csv'), '--clip-norm', '-1']);
  t.equal(r.code, 64);
});
