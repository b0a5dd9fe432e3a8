import type { SleepConfig } from '../config/sections/energy.js';
import { describeError } from '../errors.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { BoardProfile } from './board-profile.js';
import type { EnergyFeature } from './feature.js';
import { planSleep, type SleepPlan } from './sleep-planner.js';

/** The slice of the companion MCU's power protocol the runtime uses (firmware-bridge `McuPowerClient`). */
export interface McuPowerPort {
  setTime(epochMs: number): Promise<void>;
  status(): Promise<{ wakeReason: string; lastSleepSeconds: number }>;
  requestPowerOff(r: { until: { kind: 'soc'; perMille: number }; graceSeconds: number; haltSeconds: number; maxOffSeconds: number }): Promise<void>;
  shutdownReady(): Promise<void>;
  heartbeat(): Promise<void>;
}

/** Options of {@link SleepControl}. */
export interface SleepControlOptions {
  clock: Clock;
  config: SleepConfig;
  energy: EnergyFeature;
  profile: BoardProfile;
  capacityWh: number;
  /** The MCU while its link is open. */
  port: () => McuPowerPort | undefined;
  /** A sleep is armed on the MCU: stop the daemon gracefully (it calls `stop()`, which acknowledges). */
  onSleep: (reason: string) => void;
  /** The MCU told why the host runs (at every link open). */
  onWake: (wake: { reason: string; sleptSeconds: number }) => void;
  /** Planning period, ms. Default 900000 (15 min). */
  planEveryMs?: number;
  /** Heartbeat period, ms. Default 60000. */
  heartbeatMs?: number;
  logger?: Logger;
}

const MAX_OFF_S = 31 * 86_400;

/** What the status page shows of the power plan (docs/status.md "Wake/sleep plan"). */
export interface SleepControlState {
  /** `energy.sleep.enabled`. */
  enabled: boolean;
  /** The MCU link is open now. */
  linked: boolean;
  /** The last wake the MCU reported, with the local wall time it was read; null before the first link. */
  lastWake: { reason: string; sleptSeconds: number; at: number } | null;
  /** The last decision `planNow` took (every `planEveryMs`), null before the first. */
  lastDecision: { at: number; plan: SleepPlan } | null;
  /** The same decision taken on the current snapshot and forecast, not armed; null without a reading. */
  preview: SleepPlan | null;
  /** When the next planning round runs (wall time), null when none is scheduled. */
  nextPlanAt: number | null;
  /** The reason of an armed sleep (the daemon is going down), null otherwise. */
  armed: string | null;
}

/**
 * Planned sleep in the daemon (DESIGN section 11): every `planEveryMs` the {@link planSleep} decision is
 * taken on the energy snapshot and forecast; a sleep is armed on the companion MCU (POWER_OFF until SOC,
 * capped at the planned wake), then `onSleep` stops the daemon, and `stop()` sends SHUTDOWN_ACK last, so
 * the MCU cuts power `haltSeconds` later. A SHUTDOWN_NOTICE from the MCU (its low-battery cut) takes the
 * same path. Heartbeats keep the MCU's watchdog quiet.
 */
export class SleepControl {
  private armed: string | undefined;
  private planTimer: TimerHandle | undefined;
  private beatTimer: TimerHandle | undefined;
  private awakeSince: number;
  private running = false;
  private lastWake: SleepControlState['lastWake'] = null;
  private lastDecision: SleepControlState['lastDecision'] = null;
  private nextPlanAt: number | null = null;

  constructor(private readonly o: SleepControlOptions) {
    this.awakeSince = o.clock.now();
  }

  start(): void {
    this.running = true;
    this.armPlan();
    this.armBeat();
  }

  /** The MCU link opened: read the wake reason, set the MCU clock. */
  async connected(): Promise<void> {
    const port = this.o.port();
    if (!port) return;
    try {
      const st = await port.status();
      this.lastWake = { reason: st.wakeReason, sleptSeconds: st.lastSleepSeconds, at: this.o.clock.now() };
      this.o.onWake({ reason: st.wakeReason, sleptSeconds: st.lastSleepSeconds });
      const now = this.o.clock.now();
      if (now > Date.UTC(2020, 0, 1)) await port.setTime(now);
    } catch (err) {
      this.o.logger?.warn({ err: describeError(err) }, 'companion MCU status/clock failed');
    }
  }

  /** The MCU asked the host down (SHUTDOWN_NOTICE): it is already armed. */
  notice(reason: string): void {
    if (this.armed) return;
    this.armed = `MCU: ${reason}`;
    this.o.onSleep(this.armed);
  }

  /** Take the decision now; arms and returns the plan when it says sleep. */
  async planNow(): Promise<SleepPlan | undefined> {
    const port = this.o.port();
    if (!port || this.armed || !this.o.config.enabled) return undefined;
    const now = this.o.clock.now();
    const plan = this.decide(now);
    if (!plan) return undefined;
    this.lastDecision = { at: now, plan };
    if (!plan.sleep) return plan;
    const maxOff = Math.max(60, Math.min(MAX_OFF_S, Math.ceil((plan.wakeAt - now) / 1000)));
    await port.requestPowerOff({ until: { kind: 'soc', perMille: Math.round(plan.wakeSoc * 1000) }, graceSeconds: this.o.config.graceSeconds, haltSeconds: this.o.config.haltSeconds, maxOffSeconds: maxOff });
    this.armed = plan.reason;
    this.o.logger?.info({ reason: plan.reason, wakeSoc: plan.wakeSoc, maxOffSeconds: maxOff }, 'planned sleep armed on the companion MCU; stopping');
    this.o.onSleep(plan.reason);
    return plan;
  }

  /** The state for the status page: wake, last decision, the decision as it would be taken now. */
  state(): SleepControlState {
    const preview = this.decide(this.o.clock.now()) ?? null;
    return { enabled: this.o.config.enabled, linked: this.o.port() !== undefined, lastWake: this.lastWake, lastDecision: this.lastDecision, preview, nextPlanAt: this.running && !this.armed ? this.nextPlanAt : null, armed: this.armed ?? null };
  }

  /** {@link planSleep} on the current snapshot and forecast; undefined before the first reading. */
  private decide(now: number): SleepPlan | undefined {
    const snap = this.o.energy.snapshot();
    if (!snap) return undefined;
    const { idleWatts, sleepWatts, bootSeconds, busyWatts } = this.o.profile.power;
    const f = this.o.energy.forecaster;
    return planSleep(
      {
        now, soc: snap.state.soc, capacityWh: this.o.capacityWh, slotsWh: f.series(now, this.o.config.horizonHours), slotHours: f.slotHours(),
        awakeWatts: idleWatts * 1.02, sleepWatts, bootWh: ((this.o.profile.power.bootWatts ?? (idleWatts + busyWatts) / 2) * bootSeconds) / 3600,
        chargeEfficiency: this.o.profile.battery.chargeEfficiency, awakeSince: this.awakeSince,
      },
      this.o.config,
    );
  }

  /** Whether a sleep is armed (the daemon is on its way down). */
  get sleeping(): string | undefined {
    return this.armed;
  }

  /** Stop timers; if a sleep is armed, acknowledge it (the last thing before the MCU cuts power). */
  async stop(): Promise<void> {
    this.running = false;
    if (this.planTimer) this.o.clock.clearTimeout(this.planTimer);
    if (this.beatTimer) this.o.clock.clearTimeout(this.beatTimer);
    const port = this.o.port();
    if (!this.armed || !port) return;
    try {
      await port.shutdownReady();
      this.o.logger?.info({ reason: this.armed }, 'shutdown acknowledged; the companion MCU cuts power after the halt time');
    } catch (err) {
      this.o.logger?.warn({ err: describeError(err) }, 'SHUTDOWN_ACK failed; the MCU cuts at its grace timeout');
    }
  }

  private armPlan(): void {
    const every = this.o.planEveryMs ?? 900_000;
    this.nextPlanAt = this.o.clock.now() + every;
    this.planTimer = this.o.clock.setTimeout(() => {
      if (!this.running) return;
      this.planNow()
        .catch((err: unknown) => this.o.logger?.warn({ err: describeError(err) }, 'sleep planning failed'))
        .finally(() => this.running && !this.armed && this.armPlan());
    }, every);
  }

  private armBeat(): void {
    this.beatTimer = this.o.clock.setTimeout(() => {
      if (!this.running) return;
      this.o.port()?.heartbeat().catch(() => undefined); // a missed beat is the watchdog's business
      this.armBeat();
    }, this.o.heartbeatMs ?? 60_000);
  }
}
