import type { Clock } from '../util/clock.js';
import type { HlcStamp } from './types.js';

export interface HybridLogicalClockOptions {
  /** Wall time source (`now()` in ms). Required; inject ManualClock in tests. */
  clock: Pick<Clock, 'now'>;
  /**
   * A remote stamp whose wall part is more than this many ms ahead of our physical clock is not adopted
   * (the stamp is still ordered, we just tick locally), so one peer with a wild clock cannot drag every
   * HLC in the fleet into the future. Default 3_600_000 (1 hour).
   */
  maxForwardMs?: number;
}

/** Total order on HLC stamps: wall first, then logical. Returns <0, 0, >0. */
export function compareHlc(a: HlcStamp, b: HlcStamp): number {
  return a.wall !== b.wall ? (a.wall < b.wall ? -1 : 1) : a.logical === b.logical ? 0 : a.logical < b.logical ? -1 : 1;
}

/**
 * Hybrid logical clock, Kulkarni, Demirbas et al., "Logical Physical Clocks" (OPODIS 2014), Fig. 5:
 * `l` tracks the largest physical time seen, `c` counts events within the same `l`. Stamps are
 * monotonic even when the wall clock steps backwards (an RTC-less board syncing NTP).
 */
export class HybridLogicalClock {
  private l = 0;
  private c = 0;
  private readonly clock: Pick<Clock, 'now'>;
  private readonly maxForwardMs: number;
  /** Remote stamps ignored because they were too far ahead (for telemetry). */
  rejectedAhead = 0;

  constructor(options: HybridLogicalClockOptions) {
    this.clock = options.clock;
    this.maxForwardMs = options.maxForwardMs ?? 3_600_000;
  }

  private physical(): number {
    return Math.max(0, Math.floor(this.clock.now()));
  }

  /** Stamp a local or send event. */
  now(): HlcStamp {
    const pt = this.physical();
    const prev = this.l;
    this.l = Math.max(prev, pt);
    this.c = this.l === prev ? this.c + 1 : 0;
    return { wall: this.l, logical: this.c };
  }

  /** Stamp a receive event of a message stamped `remote`. */
  observe(remote: HlcStamp): HlcStamp {
    const pt = this.physical();
    if (remote.wall - pt > this.maxForwardMs) {
      this.rejectedAhead++;
      return this.now();
    }
    const prev = this.l;
    this.l = Math.max(prev, remote.wall, pt);
    if (this.l === prev && this.l === remote.wall) this.c = Math.max(this.c, remote.logical) + 1;
    else if (this.l === prev) this.c++;
    else if (this.l === remote.wall) this.c = remote.logical + 1;
    else this.c = 0;
    return { wall: this.l, logical: this.c };
  }

  /** The last stamp issued (for persistence). */
  peek(): HlcStamp {
    return { wall: this.l, logical: this.c };
  }

  /** Restore a persisted stamp so stamps stay monotonic across restarts. */
  restore(stamp: HlcStamp): void {
    if (compareHlc(stamp, this.peek()) > 0) {
      this.l = stamp.wall;
      this.c = stamp.logical;
    }
  }
}
