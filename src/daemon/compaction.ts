import type { CcfField } from '../ccf/field.js';
import type { FieldStore } from '../store/field-store.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { Feature } from './feature.js';

/**
 * Options of {@link CompactionFeature}.
 * - `field`, `fieldStore`, `clock`: required.
 * - `everyMs`: how often to compact. Default min(retention / 10, 1 h), computed by the daemon.
 * - `logger`: default none.
 */
export interface CompactionOptions {
  field: CcfField;
  fieldStore: Pick<FieldStore, 'removeOrigin'>;
  clock: Clock;
  everyMs: number;
  logger?: Logger;
}

/**
 * Retention (DESIGN §3: "origins silent past a retention horizon are compacted away"): periodically
 * drops such origins from the field (which keeps a tombstone so relays cannot resurrect them) and
 * deletes their rows from the store. The sync vector keeps its entry for them, so peers that have not
 * compacted yet do not see us as lagging.
 */
export class CompactionFeature implements Feature {
  readonly name = 'compaction';
  private timer: TimerHandle | undefined;
  private running = false;

  constructor(private readonly opts: CompactionOptions) {}

  start(): Promise<void> {
    this.running = true;
    this.arm();
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.running = false;
    if (this.timer) this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
    return Promise.resolve();
  }

  /** Compact now; returns the origins removed. */
  compactNow(): string[] {
    const { field, fieldStore, clock } = this.opts;
    const before = new Set(field.origins());
    if (field.compact(clock.now()) === 0) return [];
    const after = new Set(field.origins());
    const removed = [...before].filter((o) => !after.has(o));
    for (const o of removed) fieldStore.removeOrigin(o);
    this.opts.logger?.info({ removed }, 'compacted origins silent past the retention horizon');
    return removed;
  }

  private arm(): void {
    this.timer = this.opts.clock.setTimeout(() => {
      if (!this.running) return;
      try {
        this.compactNow();
      } catch (err) {
        this.opts.logger?.warn({ err: (err as Error).message }, 'compaction failed');
      }
      this.arm();
    }, this.opts.everyMs);
    this.timer.unref?.();
  }
}
