/**
 * Injected time. Wall time (`now`) may jump (a board without an RTC sets its clock on first network
 * sync); `monotonic` never goes backwards and is what intervals and timeouts are measured with.
 */
export interface Clock {
  /** Wall-clock milliseconds since the Unix epoch. */
  now(): number;
  /** Monotonic milliseconds from an arbitrary origin. */
  monotonic(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export interface TimerHandle {
  unref?(): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/**
 * A manual clock for tests: time moves only when `advance` is called, timers fire in order.
 * `jumpWall` moves wall time without moving monotonic time (an RTC-less board syncing NTP).
 */
export class ManualClock implements Clock {
  private wall: number;
  private mono = 0;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();

  constructor(startWallMs = Date.UTC(2026, 5, 21, 0, 0, 0)) {
    this.wall = startWallMs;
  }

  now(): number {
    return this.wall;
  }

  monotonic(): number {
    return this.mono;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    this.timers.set(id, { at: this.mono + Math.max(0, ms), fn });
    return { id } as TimerHandle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete((handle as { id: number }).id);
  }

  /** Move both clocks forward by `ms`, firing due timers in time order. */
  advance(ms: number): void {
    const target = this.mono + ms;
    for (;;) {
      let nextId = -1;
      let nextAt = Infinity;
      for (const [id, t] of this.timers) {
        if (t.at <= target && t.at < nextAt) {
          nextAt = t.at;
          nextId = id;
        }
      }
      if (nextId < 0) break;
      const t = this.timers.get(nextId)!;
      this.timers.delete(nextId);
      this.wall += t.at - this.mono;
      this.mono = t.at;
      t.fn();
    }
    this.wall += target - this.mono;
    this.mono = target;
  }

  /** Jump wall time only (positive or negative); monotonic time and timers are unaffected. */
  jumpWall(deltaMs: number): void {
    this.wall += deltaMs;
  }

  pendingTimers(): number {
    return this.timers.size;
  }
}
