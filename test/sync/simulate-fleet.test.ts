import t from 'tap';
import { simulateFleet } from '../../src/sync/sim/sim-fleet.js';

/**
 * Issue 10 item 1 on the real sync code (CcfSync: field, codec, signatures, anti-entropy) over the
 * simulated broker: fixed-size summary digests keep what each board sends at its single-node floor,
 * where the whole-vector protocol before it (the baseline, same run, same seed) grows with the fleet.
 * 36 nodes: above the size where wants are answered by a subset (16) and digests slow down (32).
 */
t.test('36 nodes: a board sends about what it would alone; the whole-vector baseline does not', (t) => {
  const common = { steadyMin: 2, partition: 0.1, partitionMin: 1, seed: 7 } as const;
  const floor = simulateFleet({ ...common, nodes: 1, partition: 0 });
  const summary = simulateFleet({ ...common, nodes: 36 });
  const legacy = simulateFleet({ ...common, nodes: 36, legacy: true });
  t.ok(summary.converged, 'summary protocol: one digest at the end');
  t.ok(legacy.converged, 'baseline: one digest at the end');
  const ratio = summary.bytesPerNodePerHour / floor.bytesPerNodePerHour;
  const legacyRatio = legacy.bytesPerNodePerHour / floor.bytesPerNodePerHour;
  t.ok(ratio <= 2, `sent per node ${summary.bytesPerNodePerHour.toFixed(0)} B/h = ${ratio.toFixed(2)}× the single-node floor ${floor.bytesPerNodePerHour.toFixed(0)} B/h (goal ≤ 2)`);
  t.ok(legacyRatio > 2, `control: the whole-vector baseline sends ${legacyRatio.toFixed(1)}× the floor (${legacy.bytesPerNodePerHour.toFixed(0)} B/h), so the bound can fail`);
  t.ok(summary.receivedBytesPerNodePerHour < legacy.receivedBytesPerNodePerHour / 2, `received per node ${summary.receivedBytesPerNodePerHour.toFixed(0)} B/h vs baseline ${legacy.receivedBytesPerNodePerHour.toFixed(0)} B/h`);
  t.ok(summary.healRounds !== null && summary.healRounds <= 5, `partition of 10 % healed in ${summary.healRounds} digest rounds (goal ≤ 5)`);
  t.ok(summary.digestBytes < legacy.digestBytes, `digest ${summary.digestBytes.toFixed(0)} B vs ${legacy.digestBytes.toFixed(0)} B`);
  t.end();
});
