import t from 'tap';
import { simulateFleet } from '../../src/sync/sim/sim-fleet.js';

/**
 * Issue 10 "nothing lost": a board offline for a week comes back to retained summary digests, sees
 * where it differs and drills down with wants restricted to those buckets.
 */
t.test('a board offline for a week catches up with every contribution it missed', (t) => {
  // hourly updates, 10-minute digests: a week of virtual time in a few seconds
  const week = { nodes: 8, partition: 0.01, partitionMin: 7 * 24 * 60, updateEverySec: 3600, digestIntervalMs: 600_000, steadyMin: 30, maxConvergeSec: 3600, seed: 3 } as const;
  const r = simulateFleet(week);
  t.ok(r.healSec !== null, `caught up ${r.healSec} s after it came back (${r.healRounds} digest rounds)`);
  t.ok(r.converged, 'and the fleet ends on one digest');
  // control: the same week with every want dropped at the broker: digests show the gap, nothing fills it
  const noWants = simulateFleet({ ...week, dropTopic: /\/ccf\/want\//, maxConvergeSec: 1800 });
  t.equal(noWants.healSec, null, 'control: without the drill-down wants the returning board does not catch up');
  t.end();
});
