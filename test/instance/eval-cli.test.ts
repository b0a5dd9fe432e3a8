/** `h3lix eval` as a user runs it: table, plot, poisoning with its controls, and every bad input. */
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from '../helpers/cli.js';
import { evalJson } from './eval-helpers.js';

const datasets = join(import.meta.dirname, '..', '..', 'models', 'datasets');

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
