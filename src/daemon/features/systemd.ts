import { createSdNotifier, watchdogIntervalMs, type SdNotifier } from '../../util/sd-notify.js';
import type { TimerHandle } from '../../util/clock.js';
import type { DaemonContext, Feature, FeatureFactory } from '../feature.js';

/** Options of {@link systemdFeatures}. */
export interface SystemdFeatureOptions {
  env?: NodeJS.ProcessEnv;
  /** Default: process.pid. */
  pid?: number;
  /** Default: `systemd-notify`. */
  command?: string;
}

/**
 * systemd `Type=notify` support (devices/systemd/h3lix.service): READY=1 once every feature before it
 * has started (so it goes LAST in the feature list), WATCHDOG=1 every WatchdogSec/2 from the event loop
 * (a blocked loop stops the pings and systemd restarts the daemon), STOPPING=1 on shutdown. Empty when
 * $NOTIFY_SOCKET is unset (not started by systemd).
 */
export function systemdFeatures(o: SystemdFeatureOptions = {}): FeatureFactory[] {
  const env = o.env ?? process.env;
  if (!env.NOTIFY_SOCKET) return [];
  return [(ctx) => new SystemdFeature(ctx, env, o)];
}

class SystemdFeature implements Feature {
  readonly name = 'systemd';
  private notifier: SdNotifier | undefined;
  private timer: TimerHandle | undefined;
  private stopped = false;

  constructor(private readonly ctx: DaemonContext, private readonly env: NodeJS.ProcessEnv, private readonly o: SystemdFeatureOptions) {}

  async start(): Promise<void> {
    const log = this.ctx.logger;
    this.notifier = createSdNotifier({ env: this.env, ...(this.o.pid ? { pid: this.o.pid } : {}), ...(this.o.command ? { command: this.o.command } : {}), onError: (reason) => log.warn({ reason }, 'systemd: notification not sent') });
    await this.notifier?.notify(['READY=1', `STATUS=node ${this.ctx.nodeId} ready`]);
    const every = watchdogIntervalMs(this.env, this.o.pid ?? process.pid);
    if (every !== undefined) {
      log.info({ everyMs: every }, 'systemd: watchdog pings');
      const tick = (): void => {
        if (this.stopped) return;
        void this.notifier?.notify(['WATCHDOG=1']);
        this.timer = this.ctx.clock.setTimeout(tick, every);
        this.timer.unref?.();
      };
      this.timer = this.ctx.clock.setTimeout(tick, every);
      this.timer.unref?.();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.ctx.clock.clearTimeout(this.timer);
    await this.notifier?.notify(['STOPPING=1']);
  }
}
