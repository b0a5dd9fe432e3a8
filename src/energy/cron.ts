import cron from 'node-cron';
import type { Clock, TimerHandle } from '../util/clock.js';
import { H3lixError } from '../errors.js';

/** Something that calls `fire` on a cron expression's wall-clock cadence. */
export interface CronDriver {
  schedule(expression: string, fire: () => void): { stop(): void };
}

/**
 * Cron on the injected clock: node-cron parses and matches the 5-field expression (minute
 * resolution), and a monotonic timer ticks once per wall-clock minute. Wall-clock jumps are safe:
 * only the CURRENT minute is matched, so a +1 year jump does not replay the missed year, and a fire
 * needs at least 59 s of monotonic time since the previous one, so a −1 year jump (or an NTP step
 * back of a few seconds) cannot run the same occurrence twice. Times match in the process time zone
 * unless `timezone` is given.
 */
export class ClockCronDriver implements CronDriver {
  constructor(
    private readonly clock: Clock,
    private readonly timezone?: string,
  ) {}

  schedule(expression: string, fire: () => void): { stop(): void } {
    if (expression.trim().split(/\s+/).length !== 5 || !cron.validate(expression)) {
      throw new H3lixError('CONFIG_INVALID', `cron expression "${expression}" is not a valid 5-field cron expression`);
    }
    const matcher = cron.createTask(expression, () => undefined, this.timezone ? { timezone: this.timezone } : {});
    let timer: TimerHandle | undefined;
    let lastFireMono = -Infinity;
    let stopped = false;
    const tick = (): void => {
      if (stopped) return;
      const wall = this.clock.now();
      const minute = new Date(Math.floor(wall / 60_000) * 60_000);
      const mono = this.clock.monotonic();
      if (matcher.match(minute) && mono - lastFireMono >= 59_000) {
        lastFireMono = mono;
        fire();
      }
      arm();
    };
    const arm = (): void => {
      const intoMinute = this.clock.now() % 60_000;
      // Land a little after the minute boundary; never spin faster than once a second.
      timer = this.clock.setTimeout(tick, Math.max(1_000, 60_000 - intoMinute + 50));
    };
    arm();
    return {
      stop: () => {
        stopped = true;
        if (timer) this.clock.clearTimeout(timer);
        void matcher.destroy();
      },
    };
  }
}
