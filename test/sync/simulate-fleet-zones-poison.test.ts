import t from 'tap';
import { simulateFleet, type FleetSimOptions } from '../../src/sync/sim/sim-fleet.js';

// Zones of zones (docs/sync.md "Zones of zones"): the poisoning bound. Same tree as
// simulate-fleet-zones.test.ts (125 boards, 25 sites of 5, 5 zones).
const common: Omit<FleetSimOptions, 'nodes'> = { sites: 25, zoneFanout: 5, aggregate: true, contributions: 2, steadyMin: 1, partition: 0, seed: 7, maxConvergeSec: 240 };

/**
 * The poisoning bound at three robust steps (site, zone, the board's fleet value over the zones), with
 * zones that differ (zone z's boards around a centre spread over [−6, 6] per coordinate). With 5
 * origins per step, weight share s = 0.2 and trim t = 0.2 (one origin each end), one origin moved by
 * at most 2·C (the clip) moves a step's value by at most 2·C·s/(1−2t), and each step passes δ on as
 * δ·s/(1−2t): B = 2·C·(s/(1−2t))³ = 20/27 ≈ 0.74. The control switches the robust step off in the
 * site and zone aggregates: the board then sets its site, its site its zone, and the zone moves the
 * fleet value by a whole rank of the trimmed mean.
 */
t.test('one malicious board moves the fleet value by at most the three-step bound; without the aggregates\' robust step, beyond it', (t) => {
  const ccf = { maxOriginShare: 0.2, trimFraction: 0.2, medianBelowOrigins: 2 };
  const p: Omit<FleetSimOptions, 'nodes'> = { ...common, ccf, dims: 2, siteSpread: 6, partition: 0 };
  const poison = { board: 26, vector: [6, 6], count: 1e6 }; // site 1, zone 1 (centre −3), not a gateway
  const honest = simulateFleet({ ...p, nodes: 125 });
  const robust = simulateFleet({ ...p, nodes: 125, poison });
  const unsafe = simulateFleet({ ...p, nodes: 125, poison, unsafeSiteMean: true });
  for (const r of [honest, robust, unsafe]) t.ok(r.converged, `${r.nodes} boards converged`);
  const move = (a: typeof honest, b: typeof honest) => Math.max(...Object.keys(a.values.board0).flatMap((k) => a.values.board0[k]!.map((x, i) => Math.abs(b.values.board0[k]![i]! - x))));
  const bound = 2 * 10 * (0.2 / (1 - 2 * 0.2)) ** 3;
  const dRobust = move(honest, robust);
  const dUnsafe = move(honest, unsafe);
  t.ok(dRobust <= bound, `robust zones: the poisoner moved the fleet value by ${dRobust.toFixed(4)} ≤ B = ${bound.toFixed(4)}`);
  t.ok(dUnsafe > bound, `control (aggregates' robust step off): moved by ${dUnsafe.toFixed(3)} > B = ${bound.toFixed(4)}`);
  t.end();
});
