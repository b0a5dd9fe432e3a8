/**
 * Poisoning against the plausibility gate (docs/evaluation.md, "Poisoning"), on UCI digits (Debian
 * python3-sklearn): 20 % of the nodes sign-flip their contributions. With the gate the honest nodes
 * lose at most 2 points. The negative control (gate off) is eval-poison-nogate.test.ts: one eval per
 * file keeps each file well inside tap's per-file timeout on a loaded CI machine.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { evalJson } from './eval-helpers.js';

const digits = '/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz';
const poisonArgs = ['--dataset', 'digits', '--poison', '0.2', '--attack', 'sign-flip', '--no-classifier-baselines'];

t.test('sign-flip by 20 % of the nodes: ≤ 2 points lost with the gate', { skip: existsSync(digits) ? false : 'python3-sklearn is not installed (digits.csv.gz)' }, async (t) => {
  const on = await evalJson(t, poisonArgs);
  t.equal(on.central, undefined, '--no-classifier-baselines skipped central');
  t.ok(on.poisoning!.dropPoints <= 2, `gate on: ${on.poisoning!.dropPoints} points lost`);
});
