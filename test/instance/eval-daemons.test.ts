/**
 * The daemon path (`h3lix eval --daemons`, docs/evaluation.md): the same split and encoder through real
 * daemons (embedded aedes on loopback, the durable outbox, CCF sync, the ONNX encoder in its inference
 * worker), observations on obs/<node>, predictions from pred/<node>. Its accuracy must be within 2
 * points of the in-process run, and every test row must come back.
 */
import t from 'tap';
import { evalJson } from './eval-helpers.js';

t.test('suthaharan through 8 real daemons: within 2 points of the in-process run', async (t) => {
  const j = await evalJson(t, ['--dataset', 'suthaharan', '--rounds', '3', '--fedavg-rounds', '1', '--daemons']);
  const d = j.daemons!;
  t.equal(d.predictions, d.testRows, `all ${d.testRows} test rows answered on pred/<node>`);
  t.ok(Math.abs(d.diffPoints) <= 2, `daemons ${d.ccf.accuracy} vs in-process ${j.ccf.accuracy}: ${d.diffPoints} points`);
  t.ok(d.ccf.accuracy > j.localOnly.accuracy + 0.2, `and the field mattered through the daemons too (local-only ${j.localOnly.accuracy})`);
});
