/**
 * The collective-learning goals (docs/evaluation.md, issue 8), computed from one run's numbers:
 * CCF within 5 points of central on all classes and within 10 on novel classes, 20 points above the
 * best no-network baseline on novel classes, and at most a tenth of FedAvg's bytes to reach the same
 * accuracy. "The same accuracy" is CCF's final all-class accuracy minus one point; the bytes to reach
 * it are each method's cumulative per-node bytes (sent + received) at the first round at or above it.
 */
import { r4 } from './metrics.js';
import type { FleetEvalResult, Goals } from './types.js';

export function computeGoals(r: FleetEvalResult): Goals {
  const central = r.central!;
  const fed = r.fedAvg!;
  const pts = (x: number): number => Math.round(x * 1000) / 10;
  const target = r4(r.ccf.accuracy - 0.01);
  let cum = 0;
  let ccfBytes = r.bytesPerNode;
  for (const round of r.rounds) {
    cum += round.bytesPerNode;
    if (round.ccf.accuracy >= target) {
      ccfBytes = cum;
      break;
    }
  }
  let fedCum = 0;
  let fedBytes: number | undefined;
  for (const round of fed.series) {
    fedCum += round.bytesPerNode;
    if (round.scores.accuracy >= target) {
      fedBytes = fedCum;
      break;
    }
  }
  const ratio = (fedBytes ?? fedCum) / Math.max(1, ccfBytes);
  const g: Goals = {
    ccfVsCentral: pts(r.ccf.accuracy - central.accuracy),
    ccfNovelVsCentral: pts((r.ccf.novelAccuracy ?? 0) - (central.novelAccuracy ?? 0)),
    ccfNovelVsBestNoNetwork: pts((r.ccf.novelAccuracy ?? 0) - (r.bestNoNetwork.novelAccuracy ?? 0)),
    targetAccuracy: target,
    ccfBytesToTarget: ccfBytes,
    ...(fedBytes !== undefined ? { fedAvgBytesToTarget: fedBytes } : {}),
    bytesRatio: Math.round(ratio * 10) / 10,
    met: { allWithin5: false, novelWithin10: false, novelPlus20: false, bytesTenth: false },
  };
  g.met = { allWithin5: g.ccfVsCentral >= -5, novelWithin10: g.ccfNovelVsCentral >= -10, novelPlus20: g.ccfNovelVsBestNoNetwork >= 20, bytesTenth: ratio >= 10 };
  return g;
}
