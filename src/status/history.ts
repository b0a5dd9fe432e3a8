/**
 * The chart's data: the energy history of the last N days, downsampled for a phone (DESIGN section 9:
 * the history lives in SQLite). The window ends at the NEWEST point, not at the wall clock, so a
 * board that booted without a real-time clock still shows its last days.
 */
import type { EnergyHistoryPoint } from '../energy/history.js';

/** Compact arrays keep the page's payload small: [time ms, soc 0..1, pv W, battery V, battery A]. */
export type ChartPoint = [number, number, number, number, number];

export interface ChartHistory {
  from: number;
  to: number;
  /** Averages over equal time buckets, oldest first. */
  points: ChartPoint[];
  /** Every mode change at full resolution: [time ms, mode], oldest first (the first is the window's start mode). */
  modes: Array<[number, string]>;
  /** Points in the window before downsampling. */
  sourcePoints: number;
}

const r = (x: number, d: number): number => Number(x.toFixed(d));

/** Downsample `points` (oldest first) over the last `days` into at most `maxPoints` bucket averages. */
export function chartHistory(points: readonly EnergyHistoryPoint[], days: number, maxPoints: number): ChartHistory {
  if (points.length === 0) return { from: 0, to: 0, points: [], modes: [], sourcePoints: 0 };
  const to = points.reduce((m, p) => Math.max(m, p.time), -Infinity);
  const from = to - days * 86_400_000;
  const inWindow = points.filter((p) => p.time >= from && p.time <= to);
  const modes: Array<[number, string]> = [];
  for (const p of inWindow) if (modes.length === 0 || modes.at(-1)![1] !== p.mode) modes.push([p.time, p.mode]);
  const span = Math.max(1, to - from);
  const width = span / Math.max(1, maxPoints);
  const buckets = new Map<number, { n: number; t: number; soc: number; pv: number; v: number; a: number }>();
  for (const p of inWindow) {
    const i = Math.min(maxPoints - 1, Math.floor((p.time - from) / width));
    let b = buckets.get(i);
    if (!b) buckets.set(i, (b = { n: 0, t: 0, soc: 0, pv: 0, v: 0, a: 0 }));
    b.n += 1;
    b.t += p.time;
    b.soc += p.soc;
    b.pv += p.pvPower;
    b.v += p.batteryVoltage;
    b.a += p.batteryCurrent;
  }
  const out: ChartPoint[] = [...buckets.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([, b]) => [Math.round(b.t / b.n), r(b.soc / b.n, 3), r(b.pv / b.n, 1), r(b.v / b.n, 2), r(b.a / b.n, 2)]);
  return { from, to, points: out, modes, sourcePoints: inWindow.length };
}
