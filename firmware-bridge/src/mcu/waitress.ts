import { H3lixError } from '../../../src/errors.js';
import type { Clock, TimerHandle } from '../../../src/util/clock.js';

interface Waiter<P, M> {
  matcher: M;
  resolve: (payload: P) => void;
  reject: (err: Error) => void;
  timer: TimerHandle;
}

/**
 * Waits for a response matching a matcher, with a timeout on the injected clock (the shape of
 * zigbee-herdsman's `utils/waitress.ts`). `resolve(payload)` hands a payload to the first waiter
 * whose matcher accepts it and says whether anyone took it.
 */
export class Waitress<P, M> {
  private readonly waiters = new Map<number, Waiter<P, M>>();
  private nextId = 1;

  constructor(
    private readonly clock: Clock,
    private readonly matches: (payload: P, matcher: M) => boolean,
    private readonly describe: (matcher: M, timeoutMs: number) => string,
  ) {}

  /** A promise for the next payload matching `matcher`; rejects with REQUEST_TIMEOUT after `timeoutMs`. */
  waitFor(matcher: M, timeoutMs: number): { id: number; promise: Promise<P> } {
    const id = this.nextId++;
    const promise = new Promise<P>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.waiters.delete(id);
        reject(new H3lixError('REQUEST_TIMEOUT', this.describe(matcher, timeoutMs), { retryable: true }));
      }, timeoutMs);
      this.waiters.set(id, { matcher, resolve, reject, timer });
    });
    return { id, promise };
  }

  resolve(payload: P): boolean {
    for (const [id, w] of this.waiters) {
      if (!this.matches(payload, w.matcher)) continue;
      this.clock.clearTimeout(w.timer);
      this.waiters.delete(id);
      w.resolve(payload);
      return true;
    }
    return false;
  }

  /** Cancel one waiter (its promise stays pending forever; callers race it themselves). */
  remove(id: number): void {
    const w = this.waiters.get(id);
    if (!w) return;
    this.clock.clearTimeout(w.timer);
    this.waiters.delete(id);
  }

  /** Reject every waiter (link closed). */
  rejectAll(err: Error): void {
    for (const [id, w] of this.waiters) {
      this.clock.clearTimeout(w.timer);
      this.waiters.delete(id);
      w.reject(err);
    }
  }

  get size(): number {
    return this.waiters.size;
  }
}
