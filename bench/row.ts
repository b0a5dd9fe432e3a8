/** One benchmark result row. `ratio` = value / baseline unless the bench says otherwise. */
export interface BenchRow {
  suite?: string;
  metric: string;
  value: number;
  unit: string;
  baseline?: number;
  baselineName?: string;
  ratio?: number;
  /** The target, in words (e.g. "ratio <= 0.125"). */
  target?: string;
  ok?: boolean;
}

/** Time `fn` for about `ms` milliseconds; returns operations per second. */
export async function rate(fn: () => unknown | Promise<unknown>, ms = 1000, batch = 100): Promise<number> {
  for (let i = 0; i < batch; i++) await fn();
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < ms) {
    for (let i = 0; i < batch; i++) await fn();
    n += batch;
  }
  return n / ((performance.now() - start) / 1000);
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}
