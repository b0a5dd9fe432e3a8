/**
 * The signal publisher feature: every `publishIntervalSeconds` it releases the accumulator's noised
 * per-key sums into the CCF field as local contributions (`contributeLocal`), which the sync then
 * ships as signed deltas. When the privacy budget is spent it stops publishing for good and reports it.
 */
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { ReleaseResult, SignalAccumulator } from './accumulator.js';

/** The slice of `CcfField` the publisher needs. */
export interface LocalContributionSink {
  contributeLocal(key: string, sum: Float32Array, count: number): unknown;
}

/** Options for `SignalPublisher`. */
export interface SignalPublisherOptions {
  accumulator: SignalAccumulator;
  field: LocalContributionSink;
  /** Keys already public in the field (released too, see `SignalAccumulator.release`). Default none. */
  publicKeys?: () => Iterable<string>;
  clock: Clock;
  /** Seconds between releases (config `signals.publishIntervalSeconds`, default 3600). */
  intervalSeconds: number;
  logger?: Logger;
  /** Called after every release attempt (telemetry, tests). */
  onRelease?: (r: ReleaseResult) => void;
}

/** Periodic, budget-limited publication of learning signals. */
export class SignalPublisher {
  private timer: TimerHandle | undefined;
  private running = false;
  private exhausted = false;
  private releases = 0;
  private published = 0;

  constructor(private readonly opts: SignalPublisherOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Whether publishing stopped because the privacy budget is spent. */
  budgetSpent(): boolean {
    return this.exhausted;
  }

  stats(): { releases: number; publishedKeys: number; budgetSpent: boolean } {
    return { releases: this.releases, publishedKeys: this.published, budgetSpent: this.exhausted };
  }

  /** Release now (also what the timer does). Scheduler tasks may call it directly. */
  publishNow(): ReleaseResult {
    const publicKeys = this.opts.publicKeys?.() ?? [];
    const r = this.opts.accumulator.release(publicKeys);
    if (r.skipped === 'budget-spent') {
      if (!this.exhausted) this.opts.logger?.warn({ epsilon: r.epsilon }, 'privacy budget spent: signal publishing stopped');
      this.exhausted = true;
      this.stop();
    } else if (!r.skipped) {
      this.releases++;
      for (const s of r.published) this.opts.field.contributeLocal(s.key, s.sum, s.count);
      this.published += r.published.length;
      this.opts.logger?.debug({ published: r.published.length, withheld: r.withheld.length, epsilon: r.epsilon }, 'signals released');
    }
    this.opts.onRelease?.(r);
    return r;
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = undefined;
      try {
        this.publishNow();
      } catch (err) {
        this.opts.logger?.error({ err }, 'signal release failed');
      }
      this.schedule();
    }, this.opts.intervalSeconds * 1000);
  }
}
