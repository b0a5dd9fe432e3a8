/**
 * Poisoning against the plausibility gate (docs/evaluation.md, "Poisoning"), on UCI digits (Debian
 * python3-sklearn): 20 % of the nodes sign-flip their contributions. With the gate the honest nodes
 * lose at most 2 points; with the gate switched off (the negative control) they lose far more.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { evalJson } from './eval-helpers.js';

const digits = '/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz';
t.test('sign-flip by 20 % of the nodes: ≤ 2 points with the gate, much more without', { skip: existsSync(digits) ? false : 'python3-sklearn is not installed (digits.csv.gz)' }, async (t) => {
  const on = await evalJson(t, ['--dataset', 'digits', '--poison', '0.2', '--attack', 'sign-flip', '--fedavg-rounds', '1']);
  t.ok(on.poisoning!.dropPoints <= 2, `gate on: ${on.poisoning!.dropPoints} points lost`);
  const off = await evalJson(t, ['--dataset', 'digits', '--poison', '0.2', '--attack', 'sign-flip', '--fedavg-rounds', '1', '--no-plausibility-gate']);
  t.ok(off.poisoning!.dropPoints > 10, `gate off: ${off.poisoning!.dropPoints} points lost (the attack is real and the gate is what stops it)`);
});
