/**
 * A fixed-bucket latency histogram (seconds), cheap enough to observe on every request or inference.
 * Cumulative counts as Prometheus wants them (`_bucket{le}` counts every value ≤ le). Lives below
 * the features: the learning feature feeds one, the status server renders it.
 */

/** Cumulative histogram data. */
export interface HistogramData {
  buckets: readonly number[];
  counts: readonly number[];
  sum: number;
  count: number;
}

/** Where a latency goes (the histogram, or a test's recorder). */
export interface LatencyObserver {
  observe(seconds: number): void;
}

/** Default buckets, 1 ms .. 2.5 s. */
export const LATENCY_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export class LatencyHistogram implements HistogramData, LatencyObserver {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly buckets: readonly number[] = LATENCY_BUCKETS) {
    this.counts = buckets.map(() => 0);
  }
  /** Negative and non-finite values are ignored. */
  observe(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) return;
    this.sum += seconds;
    this.count += 1;
    for (let i = 0; i < this.buckets.length; i++) if (seconds <= this.buckets[i]!) this.counts[i]! += 1;
  }
}
