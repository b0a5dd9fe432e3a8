/**
 * The collective-learning claim on public data (docs/evaluation.md): the field beats every
 * no-network baseline on novel classes and comes near central training; with the field switched off
 * (blend 0) the same check fails.
 */
import t from 'tap';
import { claim, evalJson } from './eval-helpers.js';

t.test('suthaharan (real mote data, anomaly as the novel concept): goals met; without the field they are not', async (t) => {
  const r = await evalJson(t, ['--dataset', 'suthaharan', '--fedavg-rounds', '10']);
  t.ok(claim(r).plus20, `novel: CCF ${r.ccf.novelAccuracy} ≥ best no-network ${r.bestNoNetwork.novelAccuracy} + 20 points`);
  t.ok(claim(r).nearCentral(5), `all: CCF ${r.ccf.accuracy} within 5 points of central ${r.central!.accuracy}`);
  t.ok(r.epsilon <= 10);
  // negative control: blend 0 ignores the field, so CCF is local-only and the claim must fail
  const off = await evalJson(t, ['--dataset', 'suthaharan', '--fedavg-rounds', '2', '--blend', '0']);
  t.notOk(claim(off).plus20, `with the field switched off the novel-class claim fails (${off.ccf.novelAccuracy})`);
});
