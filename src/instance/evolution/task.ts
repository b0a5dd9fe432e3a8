/**
 * Local evolution as a scheduler task (DESIGN section 6): `{ name: 'local-evolution', costEstimateJ,
 * run() }`. The energy scheduler decides when it runs; the lead wires it. The cost estimate is
 * measured CPU seconds of the last run × the board's busy power (before the first run: an estimate
 * from the arithmetic count at `opsPerSecond`).
 */
import type { Rng } from '../../util/prng.js';
import type { LocalHistory } from './history.js';
import { synthesize, trainLocalHead, type LocalHead, type TrainHeadOptions } from './head.js';

/** Options for `LocalEvolutionTask`. */
export interface LocalEvolutionOptions {
  history: LocalHistory;
  /** Field means per key at run time (e.g. from the conditioner's field snapshot). */
  fieldMeans: () => ReadonlyMap<string, ArrayLike<number>>;
  rng: Rng;
  /** Synthetic samples per field key. Default 64. */
  syntheticPerKey?: number;
  /** Std of synthetic samples when local history cannot estimate one. Default 0.1. */
  defaultSpread?: number;
  /** Board busy power in watts (from the board profile). Default 5. */
  busyWatts?: number;
  /** Assumed multiply-adds per second before the first measured run. Default 2e8. */
  opsPerSecond?: number;
  head?: TrainHeadOptions;
  /** Called with the new head after each run (the instance swaps it in under its update lock). */
  onHead?: (head: LocalHead) => void;
}

/** The `local-evolution` scheduler task. */
export class LocalEvolutionTask {
  readonly name = 'local-evolution';
  private lastSeconds: number | undefined;
  private latest: LocalHead | undefined;

  constructor(private readonly opts: LocalEvolutionOptions) {}

  /** Estimated energy of the next run, joules. */
  get costEstimateJ(): number {
    const watts = this.opts.busyWatts ?? 5;
    if (this.lastSeconds !== undefined) return this.lastSeconds * watts;
    const keys = new Set([...this.opts.history.classes(), ...this.opts.fieldMeans().keys()]).size;
    const n = this.opts.history.size() + keys * (this.opts.syntheticPerKey ?? 64);
    const dim = this.opts.history.examples()[0]?.embedding.length ?? 16;
    const ops = (this.opts.head?.steps ?? 200) * n * Math.max(keys, 2) * dim * 2;
    return (ops / (this.opts.opsPerSecond ?? 2e8)) * watts;
  }

  /** The head from the last run. */
  head(): LocalHead | undefined {
    return this.latest;
  }

  /** Retrain the head on local history + synthetic field samples. */
  async run(): Promise<{ trained: boolean; classes: number; seconds: number }> {
    const started = process.cpuUsage();
    const t0 = performance.now();
    const local = this.opts.history.examples();
    const field = this.opts.fieldMeans();
    const spread = this.opts.history.pooledSpread() ?? this.opts.defaultSpread ?? 0.1;
    const synthetic = synthesize(field, this.opts.syntheticPerKey ?? 64, spread, this.opts.rng);
    const head = trainLocalHead(local, synthetic, this.opts.head);
    const cpu = process.cpuUsage(started);
    this.lastSeconds = Math.max((cpu.user + cpu.system) / 1e6, (performance.now() - t0) / 1000);
    if (head) {
      this.latest = head;
      this.opts.onHead?.(head);
    }
    await Promise.resolve();
    return { trained: head !== undefined, classes: head?.classes.length ?? 0, seconds: this.lastSeconds };
  }
}
