import type { Clock, TimerHandle } from '../../util/clock.js';

interface Timer {
  at: number;
  id: number;
  fn: () => void;
}

/**
 * A virtual clock for fleet simulations: like `ManualClock` (util/clock.ts) but with a binary heap,
 * so tens of thousands of pending timers (every node's debounces plus every in-flight broker
 * delivery) cost O(log n) per event instead of a scan. Timers at the same instant fire in the order
 * they were set.
 */
export class SimClock implements Clock {
  private wall: number;
  private mono = 0;
  private seq = 0;
  private readonly heap: Timer[] = [];
  private readonly cancelled = new Set<number>();

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
    this.push({ at: this.mono + Math.max(0, ms), id, fn });
    return { id, unref: () => undefined } as unknown as TimerHandle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.cancelled.add((handle as unknown as { id: number }).id);
  }

  /** Run every timer due up to now + `ms`, in time order; returns the number fired. */
  advance(ms: number): number {
    const target = this.mono + ms;
    let fired = 0;
    while (this.heap.length && this.heap[0]!.at <= target) {
      const t = this.pop();
      if (this.cancelled.delete(t.id)) continue;
      this.wall += t.at - this.mono;
      this.mono = t.at;
      fired++;
      t.fn();
    }
    this.wall += target - this.mono;
    this.mono = target;
    return fired;
  }

  /** Timers still pending (cancelled ones not yet popped included). */
  pendingTimers(): number {
    return this.heap.length;
  }

  private less(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.id < b.id);
  }

  private push(t: Timer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Timer {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
