import { H3lixError } from '../errors.js';

/**
 * The update lock (DESIGN section 6): model swaps and training take it so nothing swaps mid-run.
 * `run` waits its turn (FIFO); `tryRun` refuses at once with SCHEDULER_LOCKED when held.
 */
export class UpdateLock {
  private holder: string | undefined;
  private queue: Array<{ name: string; grant: () => void }> = [];
  private releaseListeners = new Set<() => void>();

  /** Name of the current holder, if any. */
  heldBy(): string | undefined {
    return this.holder;
  }

  isHeld(): boolean {
    return this.holder !== undefined;
  }

  /** Run `fn` holding the lock, waiting for it if necessary. */
  async run<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
    if (this.holder !== undefined) {
      await new Promise<void>((grant) => this.queue.push({ name, grant }));
    } else {
      this.holder = name;
    }
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** Run `fn` holding the lock, or throw SCHEDULER_LOCKED (retryable) if it is held. */
  async tryRun<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
    if (this.holder !== undefined) {
      throw new H3lixError('SCHEDULER_LOCKED', `update lock held by "${this.holder}"; "${name}" must wait`, { retryable: true });
    }
    return this.run(name, fn);
  }

  /** Called (synchronously) each time the lock becomes free. Returns an unsubscribe. */
  onRelease(fn: () => void): () => void {
    this.releaseListeners.add(fn);
    return () => this.releaseListeners.delete(fn);
  }

  private release(): void {
    const next = this.queue.shift();
    if (next) {
      // Hand over directly so no third party can slip in between.
      this.holder = next.name;
      next.grant();
      return;
    }
    this.holder = undefined;
    for (const fn of [...this.releaseListeners]) fn();
  }
}
