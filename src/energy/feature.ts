import type { EnergyConfig } from '../config/sections/energy.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { describeError } from '../errors.js';
import type { BoardProfile } from './board-profile.js';
import { energyBudgetWh } from './budget.js';
import { EnergyEstimator } from './estimator.js';
import { PvForecaster } from './forecast.js';
import { EnergyHistory, type EnergyHistoryStore } from './history.js';
import { EnergyPolicy, type ModeChange } from './policy.js';
import type { EnergyReading } from './reading.js';
import { EnergyScheduler } from './scheduler.js';
import { EnergySnapshot, type PublishedEnergy } from './snapshot.js';

/** Options of `EnergyFeature`. */
export interface EnergyFeatureOptions {
  clock: Clock;
  /** The board profile (`loadBoardProfile(config.node.board)`). Required. */
  profile: BoardProfile;
  /** The `energy:` config section. Required. */
  config: EnergyConfig;
  /** Subscribe to readings (e.g. a firmware-bridge source's event); returns an unsubscribe. Default none: call `ingest`. */
  readings?: (listener: (r: EnergyReading) => void) => () => void;
  /** Publish a snapshot (the lead maps it to `energy/<node>`, retained QoS 0). Default none. */
  publish?: (snapshot: PublishedEnergy) => void | Promise<void>;
  /** Energy history persistence (SQLite in the daemon). Default memory only. */
  historyStore?: EnergyHistoryStore;
  /** History flush period, ms. Default 300000. */
  flushIntervalMs?: number;
  /** Local solar time offset for the forecaster, minutes. Default 0. */
  utcOffsetMinutes?: number;
  /** Fixed (non-adaptive) scheduling, for the simulator's baseline. Default false. */
  fixedSchedule?: boolean;
  logger?: Logger;
}

/**
 * The energy brain as one daemon feature: readings → estimator (EWMA, coulomb counting) →
 * forecaster + policy (modes with hysteresis) → snapshot published on `energy/<node>`; the scheduler
 * gates tasks on the resulting mode and budget. `start()`/`stop()`; no work in the constructor
 * beyond wiring objects.
 */
export class EnergyFeature {
  readonly policy: EnergyPolicy;
  readonly scheduler: EnergyScheduler;
  readonly estimator: EnergyEstimator;
  readonly forecaster: PvForecaster;
  readonly history: EnergyHistory;
  private readonly capacityWh: number;
  private readonly reserveSoc: number;
  private latest: EnergySnapshot | undefined;
  private lastPublishMono = -Infinity;
  private lastHistoryTime = -Infinity;
  private lastHistoryMode: string | undefined;
  private unsubscribe: (() => void) | undefined;
  private unlistenMode: (() => void) | undefined;
  private flushTimer: ReturnType<Clock['setTimeout']> | undefined;
  private running = false;
  private ingested = 0;
  private restoring: Promise<number> = Promise.resolve(0);

  constructor(private readonly options: EnergyFeatureOptions) {
    const { profile, config, clock } = options;
    this.capacityWh = config.capacityWh ?? profile.battery.capacityWh;
    const thresholds = config.thresholds ?? profile.thresholds;
    this.reserveSoc = config.reserveSoc ?? thresholds.conserve.enter;
    this.estimator = new EnergyEstimator({
      capacityWh: this.capacityWh,
      nominalVoltage: profile.battery.nominalVoltage,
      chemistry: profile.battery.chemistry,
      halfLifeMs: config.ewmaHalfLifeSeconds * 1000,
      restCurrentA: config.restCurrentA,
      restMs: config.restMinutes * 60_000,
    });
    this.forecaster = new PvForecaster({ utcOffsetMinutes: options.utcOffsetMinutes ?? 0 });
    this.history = new EnergyHistory({ maxPoints: config.historyMaxPoints, store: options.historyStore });
    this.policy = new EnergyPolicy({ thresholds, clock });
    this.scheduler = new EnergyScheduler({
      clock,
      power: profile.power,
      mode: () => this.policy.mode(),
      budgetWh: () => this.latest?.budgetWh,
      cadence: config.cadence,
      adaptive: !options.fixedSchedule,
      budgetSafetyFactor: config.budgetSafetyFactor,
      logger: options.logger,
    });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unlistenMode = this.policy.events.on('mode', (c) => this.onMode(c));
    if (this.options.readings) this.unsubscribe = this.options.readings((r) => this.ingest(r));
    this.scheduler.start();
    if (this.options.historyStore) {
      this.restoring = this.restoreHistory();
      this.armFlush();
    }
  }

  /**
   * Settles when the history load begun by `start()` is done: the number of persisted points loaded
   * (0 without a store, or when the load failed, which is logged). Await it before relying on a
   * warmed forecaster after a restart.
   */
  historyRestored(): Promise<number> {
    return this.restoring;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.unsubscribe?.();
    this.unlistenMode?.();
    this.scheduler.stop();
    if (this.flushTimer) this.options.clock.clearTimeout(this.flushTimer);
    await this.history.flush().catch((err: unknown) => this.options.logger?.warn({ err: describeError(err) }, 'energy history flush failed'));
  }

  /** Fold in one reading: estimate, forecast, mode, history, scheduler re-check, publish (throttled). */
  ingest(r: EnergyReading): EnergySnapshot {
    const { clock, config } = this.options;
    this.ingested += 1;
    const state = this.estimator.ingest(r, clock.monotonic());
    this.forecaster.observe(r.time, state.pvPower);
    const horizon = config.forecastHorizonHours;
    const slots = this.forecaster.series(r.time, horizon);
    const forecastWh = slots.reduce((a, b) => a + b, 0);
    const budgetWh = energyBudgetWh({
      soc: state.soc,
      reserveSoc: this.reserveSoc,
      capacityWh: this.capacityWh,
      forecastSlotsWh: slots,
      slotHours: this.forecaster.slotHours(),
      idleWatts: this.options.profile.power.idleWatts,
    });
    const modeBefore = this.policy.mode();
    this.latest = new EnergySnapshot(state, modeBefore, this.policy.modeSince(), forecastWh, horizon, budgetWh);
    const mode = this.policy.update(state); // may emit 'mode' → onMode publishes
    if (mode !== modeBefore) this.latest = new EnergySnapshot(state, mode, this.policy.modeSince(), forecastWh, horizon, budgetWh);
    // One history point per historyIntervalSeconds of reading time, so historyMaxPoints spans days
    // whatever the source's rate; a mode change, or a clock that went backwards, records at once.
    const sinceLast = r.time - this.lastHistoryTime;
    if (sinceLast >= config.historyIntervalSeconds * 1000 || sinceLast < 0 || mode !== this.lastHistoryMode) {
      this.history.add({ time: r.time, soc: state.soc, batteryVoltage: state.batteryVoltage, batteryCurrent: state.batteryCurrent, pvPower: state.pvPower, loadPower: state.loadPower, mode });
      this.lastHistoryTime = r.time;
      this.lastHistoryMode = mode;
    }
    this.scheduler.notifyEnergyChanged();
    if (clock.monotonic() - this.lastPublishMono >= config.publishIntervalSeconds * 1000) this.publishLatest();
    return this.latest;
  }

  /** The latest snapshot (undefined before the first reading). */
  snapshot(): EnergySnapshot | undefined {
    return this.latest;
  }

  private onMode(change: ModeChange): void {
    this.options.logger?.info({ from: change.from, to: change.to, soc: change.soc, reason: change.reason }, 'energy mode change');
    this.lastPublishMono = -Infinity; // publish at once on the next ingest step
  }

  private publishLatest(): void {
    if (!this.latest || !this.options.publish) return;
    this.lastPublishMono = this.options.clock.monotonic();
    try {
      const done = this.options.publish(this.latest.toPublished());
      if (done instanceof Promise) done.catch((err: unknown) => this.options.logger?.warn({ err: describeError(err) }, 'energy publish failed'));
    } catch (err) {
      this.options.logger?.warn({ err: describeError(err) }, 'energy publish failed');
    }
  }

  /**
   * Load the persisted history (DESIGN section 9) into memory and replay its PV trace into the
   * forecaster (today's weather factor and the time-of-day profile), so a restarted daemon forecasts
   * from where it left off. The replay happens only if no live reading came first: the forecaster
   * needs samples in time order.
   */
  private async restoreHistory(): Promise<number> {
    const before = this.ingested;
    try {
      const loaded = await this.history.restore(Number.NEGATIVE_INFINITY);
      if (this.ingested === before) {
        for (const p of loaded) this.forecaster.observe(p.time, p.pvPower);
      } else {
        this.options.logger?.info({ points: loaded.length }, 'readings arrived before the energy history loaded; forecaster not warmed from it');
      }
      if (loaded.length) this.options.logger?.info({ points: loaded.length, from: loaded[0]!.time, to: loaded.at(-1)!.time }, 'energy history restored');
      return loaded.length;
    } catch (err) {
      this.options.logger?.warn({ err: describeError(err) }, 'energy history load failed; starting with empty history');
      return 0;
    }
  }

  private armFlush(): void {
    this.flushTimer = this.options.clock.setTimeout(() => {
      if (!this.running) return;
      this.history.flush().catch((err: unknown) => this.options.logger?.warn({ err: describeError(err) }, 'energy history flush failed'));
      this.armFlush();
    }, this.options.flushIntervalMs ?? 300_000);
  }
}
