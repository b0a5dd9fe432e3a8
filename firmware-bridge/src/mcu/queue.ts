/**
 * Runs async jobs with bounded concurrency in FIFO order (zigbee-herdsman's `utils/queue.ts`): the
 * companion MCU handles one request at a time, so requests go through a queue of concurrency 1.
 */
export class Queue {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly concurrency = 1) {}

  async execute<T>(job: () => Promise<T>): Promise<T> {
    // A finishing job hands its slot straight to the next waiter, so a caller arriving in between
    // cannot overtake the FIFO or exceed the concurrency.
    if (this.active >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await job();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }

  get pending(): number {
    return this.waiting.length;
  }
}
