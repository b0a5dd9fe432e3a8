/**
 * The negative control of eval-poison.test.ts: the same sign-flip attack by 20 % of the nodes with the
 * plausibility gate switched off costs the honest nodes far more than 2 points, so the attack is real
 * and the gate is what stops it.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { evalJson } from './eval-helpers.js';

const digits = '/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz';
const poisonArgs = ['--dataset', 'digits', '--poison', '0.2', '--attack', 'sign-flip', '--no-classifier-baselines'];

t.test('sign-flip by 20 % of the nodes with the gate off: > 10 points lost', { skip: existsSync(digits) ? false : 'python3-sklearn is not installed (digits.csv.gz)' }, async (t) => {
  const off = await evalJson(t, [...poisonArgs, '--no-plausibility-gate']);
  t.ok(off.poisoning!.dropPoints > 10, `gate off: ${off.poisoning!.dropPoints} points lost`);
});
