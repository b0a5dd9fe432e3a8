import type { Clock, TimerHandle } from '../util/clock.js';
import { TypedEvents } from '../util/events.js';
import type { Logger } from '../util/logger.js';
import { H3lixError, describeError } from '../errors.js';
import { ClockCronDriver, type CronDriver } from './cron.js';
import { modeAtLeast, modesFrom, type EnergyMode, type PerMode } from './modes.js';
import { emptyStats, type SkipReason, type TaskRunContext, type TaskSpec, type TaskStats } from './task.js';
import { UpdateLock } from './update-lock.js';

/** Options of `EnergyScheduler`. */
export interface EnergySchedulerOptions {
  /** Injected clock: intervals on `monotonic()`, cron on `now()`. Required. */
  clock: Clock;
  /** Board power model (profile `power`), W. Required. */
  power: { idleWatts: number; busyWatts: number };
  /** Current energy mode (usually `EnergyPolicy.mode`). Required. */
  mode: () => EnergyMode;
  /** Energy budget for deferrable work, Wh (see `energyBudgetWh`); undefined = unknown → deny. Required. */
  budgetWh: () => number | undefined;
  /** Interval multipliers per cadence class and mode (config `energy.cadence`). Default: none (×1). */
  cadence?: Record<string, PerMode<number>>;
  /** false = a fixed schedule: every occurrence runs at its base interval whatever the mode and budget (the simulator's baseline). Default true. */
  adaptive?: boolean;
  /** Budget must cover cost × this. Default 1.5. */
  budgetSafetyFactor?: number;
  /** Re-check period of a deferred occurrence, ms. Default 60000. */
  retryMs?: number;
  /** Weight of the newest run in the learned cost EWMA. Default 0.3. */
  costAlpha?: number;
  /** Process CPU time, ms. Default `process.cpuUsage()` user+system. */
  cpuTimeMs?: () => number;
  /** Cron driver. Default `ClockCronDriver` on `clock`. */
  cron?: CronDriver;
  /** Shared update lock. Default a new one. */
  lock?: UpdateLock;
  logger?: Logger;
}

export type SchedulerEvents = {
  ran: (name: string, info: { energyJ: number; cpuMs: number; forced: boolean; ok: boolean }) => void;
  skipped: (name: string, reason: SkipReason) => void;
};

/** The gate's answer for a task right now. */
export interface GateDecision {
  ok: boolean;
  reason?: SkipReason;
}

interface Entry {
  spec: TaskSpec;
  stats: TaskStats;
  timer?: TimerHandle;
  retry?: TimerHandle;
  cronHandle?: { stop(): void };
  /** Monotonic due time of the last occurrence (interval tasks: next one = this + interval). */
  lastDue: number;
  pending?: { due: number; reasons: Set<SkipReason> };
  running: boolean;
  costJ: number;
}

/**
 * The energy-adaptive scheduler (DESIGN section 6). Interval tasks run on monotonic timers (immune to
 * wall-clock jumps), cron tasks on `ClockCronDriver`. Each occurrence passes a gate: mode allowed,
 * update lock free (for `updateLock` tasks), and for deferrable tasks the energy budget covering the
 * learned cost × safety factor. A gated deferrable occurrence stays pending (re-checked every
 * `retryMs` and on `notifyEnergyChanged`); later occurrences coalesce into it, so nothing double-runs.
 * Past its deadline an occurrence runs if mode ≥ conserve, else it is reported missed.
 */
export class EnergyScheduler {
  readonly events = new TypedEvents<SchedulerEvents>();
  readonly lock: UpdateLock;
  private readonly entries = new Map<string, Entry>();
  private readonly adaptive: boolean;
  private readonly cpuTimeMs: () => number;
  private readonly cron: CronDriver;
  private started = false;
  private lastMode: EnergyMode | undefined;
  private unlisten: (() => void) | undefined;

  constructor(private readonly options: EnergySchedulerOptions) {
    this.adaptive = options.adaptive ?? true;
    this.lock = options.lock ?? new UpdateLock();
    this.cpuTimeMs = options.cpuTimeMs ?? (() => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    });
    this.cron = options.cron ?? new ClockCronDriver(options.clock);
  }

  /** Register a task (before or after `start`). Duplicate name or bad cadence → H3lixError. */
  register(spec: TaskSpec): void {
    if (this.entries.has(spec.name)) throw new H3lixError('INTERNAL', `task "${spec.name}" is already registered`);
    if (spec.intervalMs !== undefined && !(spec.intervalMs > 0)) throw new H3lixError('CONFIG_INVALID', `task "${spec.name}": intervalMs must be > 0`);
    if (spec.intervalMs !== undefined && spec.cron !== undefined) throw new H3lixError('CONFIG_INVALID', `task "${spec.name}": give intervalMs or cron, not both`);
    const costJ = spec.costEstimateJ ?? 0;
    const entry: Entry = { spec, stats: emptyStats(spec.name, costJ), lastDue: this.options.clock.monotonic(), running: false, costJ };
    this.entries.set(spec.name, entry);
    if (this.started) this.arm(entry, true);
  }

  /** Start the timers. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.lastMode = this.options.mode();
    this.unlisten = this.lock.onRelease(() => this.recheckAll());
    for (const e of this.entries.values()) this.arm(e, true);
  }

  /** Stop all timers; running tasks finish but nothing new starts. */
  stop(): void {
    this.started = false;
    this.unlisten?.();
    for (const e of this.entries.values()) this.disarm(e);
  }

  /** Multiplier for a cadence class in the current mode (1 for an unknown class or a fixed schedule). */
  cadenceFor(cadence: string): number {
    if (!this.adaptive) return 1;
    return this.options.cadence?.[cadence]?.[this.options.mode()] ?? 1;
  }

  /** The effective interval of a task now, ms (undefined for cron or gate-only tasks). */
  intervalFor(name: string): number | undefined {
    const e = this.entries.get(name);
    if (!e || e.spec.intervalMs === undefined) return undefined;
    return e.spec.intervalMs * (e.spec.cadence ? this.cadenceFor(e.spec.cadence) : 1);
  }

  /** Would `name` be allowed to start now? (mode, lock, budget; not its cadence). */
  check(name: string): GateDecision {
    const e = this.entries.get(name);
    if (!e) throw new H3lixError('INTERNAL', `no task "${name}" registered`);
    return this.gate(e);
  }

  /** Shorthand for `check(name).ok`. */
  canRun(name: string): boolean {
    return this.check(name).ok;
  }

  /** Run a task now through the gate (for event-driven work). Resolves false if gated. */
  async runNow(name: string): Promise<boolean> {
    const e = this.entries.get(name);
    if (!e) throw new H3lixError('INTERNAL', `no task "${name}" registered`);
    const d = this.gate(e);
    if (!d.ok) {
      this.count(e, d.reason!, new Set());
      return false;
    }
    await this.execute(e, false);
    return true;
  }

  /** Run `fn` holding the update lock (waits its turn). */
  withUpdateLock<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
    return this.lock.run(name, fn);
  }

  /** Call after each energy update: re-times cadence-scaled tasks on a mode change, re-checks deferred ones. */
  notifyEnergyChanged(): void {
    if (!this.started) return;
    const mode = this.options.mode();
    if (mode !== this.lastMode) {
      this.lastMode = mode;
      if (this.adaptive) for (const e of this.entries.values()) if (e.spec.cadence && e.spec.intervalMs !== undefined) this.arm(e, false);
    }
    this.recheckAll();
  }

  /** Per-task counters. */
  stats(): TaskStats[] {
    return [...this.entries.values()].map((e) => ({ ...e.stats, skipped: { ...e.stats.skipped }, costEstimateJ: e.costJ }));
  }

  /** Learned cost estimate of a task, J. */
  costEstimateJ(name: string): number | undefined {
    return this.entries.get(name)?.costJ;
  }

  private allowed(spec: TaskSpec): readonly EnergyMode[] {
    return spec.allowedModes ?? modesFrom(spec.minMode ?? 'survival');
  }

  private gate(e: Entry): GateDecision {
    if (e.running) return { ok: false, reason: 'running' };
    if (e.spec.updateLock && this.lock.isHeld()) return { ok: false, reason: 'locked' };
    if (!this.adaptive) return { ok: true };
    if (!this.allowed(e.spec).includes(this.options.mode())) return { ok: false, reason: 'mode' };
    if (e.spec.deferrable ?? true) {
      const budget = this.options.budgetWh();
      const need = (e.costJ * (this.options.budgetSafetyFactor ?? 1.5)) / 3600;
      if (budget === undefined || budget < need) return { ok: false, reason: 'budget' };
    }
    return { ok: true };
  }

  private arm(e: Entry, first: boolean): void {
    if (e.timer) this.options.clock.clearTimeout(e.timer);
    e.timer = undefined;
    if (e.spec.cron !== undefined) {
      if (first) e.cronHandle = this.cron.schedule(e.spec.cron, () => this.onDue(e));
      return;
    }
    const interval = this.intervalFor(e.spec.name);
    if (interval === undefined) return;
    const now = this.options.clock.monotonic();
    if (first) e.lastDue = now;
    const delay = first && e.spec.firstDelayMs !== undefined ? e.spec.firstDelayMs : Math.max(0, e.lastDue + interval - now);
    e.timer = this.options.clock.setTimeout(() => {
      e.timer = undefined;
      e.lastDue = this.options.clock.monotonic();
      this.arm(e, false);
      this.onDue(e);
    }, delay);
  }

  private disarm(e: Entry): void {
    if (e.timer) this.options.clock.clearTimeout(e.timer);
    if (e.retry) this.options.clock.clearTimeout(e.retry);
    e.cronHandle?.stop();
    e.timer = e.retry = e.cronHandle = undefined;
  }

  private onDue(e: Entry): void {
    if (!this.started) return;
    if (e.pending || e.running) {
      e.stats.coalesced += 1;
      if (e.running && !e.pending) this.count(e, 'running', new Set());
      return;
    }
    e.pending = { due: this.options.clock.monotonic(), reasons: new Set() };
    this.attempt(e);
  }

  private recheckAll(): void {
    for (const e of this.entries.values()) if (e.pending && !e.running) this.attempt(e);
  }

  private attempt(e: Entry): void {
    const p = e.pending;
    if (!p || e.running || !this.started) return;
    if (e.spec.ready && !e.spec.ready()) {
      this.count(e, 'idle', p.reasons);
      e.pending = undefined;
      return;
    }
    const d = this.gate(e);
    if (d.ok) {
      e.pending = undefined;
      void this.execute(e, false);
      return;
    }
    const late = e.spec.deadlineMs !== undefined && this.options.clock.monotonic() - p.due >= e.spec.deadlineMs;
    if (late && d.reason !== 'running' && d.reason !== 'locked') {
      e.pending = undefined;
      if (modeAtLeast(this.options.mode(), 'conserve')) {
        e.stats.deadlineRuns += 1;
        void this.execute(e, true);
      } else {
        this.count(e, 'missed', p.reasons);
      }
      return;
    }
    this.count(e, d.reason!, p.reasons);
    if (!(e.spec.deferrable ?? true) && d.reason === 'mode') {
      e.pending = undefined; // a non-deferrable occurrence is dropped, the next one comes on cadence
      return;
    }
    this.armRetry(e);
  }

  private armRetry(e: Entry): void {
    if (e.retry) return;
    let wait = this.options.retryMs ?? 60_000;
    if (e.spec.deadlineMs !== undefined && e.pending) {
      const left = e.pending.due + e.spec.deadlineMs - this.options.clock.monotonic();
      if (left > 0) wait = Math.min(wait, left);
    }
    e.retry = this.options.clock.setTimeout(() => {
      e.retry = undefined;
      this.attempt(e);
    }, wait);
  }

  private count(e: Entry, reason: SkipReason, seen: Set<SkipReason>): void {
    if (seen.has(reason)) return;
    seen.add(reason);
    e.stats.skipped[reason] += 1;
    this.events.emit('skipped', e.spec.name, reason);
  }

  private async execute(e: Entry, forced: boolean): Promise<void> {
    e.running = true;
    if (e.retry) this.options.clock.clearTimeout(e.retry);
    e.retry = undefined;
    const ctxMode = this.options.mode();
    let reported: number | undefined;
    const ctx: TaskRunContext = { mode: ctxMode, forcedByDeadline: forced, reportCpuMs: (ms) => (reported = (reported ?? 0) + ms) };
    const cpu0 = this.cpuTimeMs();
    e.stats.lastRunAt = this.options.clock.now();
    let ok = true;
    const body = async (): Promise<void> => {
      try {
        await e.spec.run(ctx);
      } catch (err) {
        ok = false;
        this.options.logger?.warn({ task: e.spec.name, err: describeError(err) }, 'scheduled task failed');
      }
    };
    try {
      if (e.spec.updateLock) await this.lock.run(e.spec.name, body);
      else await body();
    } finally {
      const cpuMs = Math.max(0, reported ?? this.cpuTimeMs() - cpu0);
      const energyJ = (cpuMs / 1000) * (this.options.power.busyWatts - this.options.power.idleWatts);
      const alpha = this.options.costAlpha ?? 0.3;
      e.costJ = e.stats.runs + e.stats.failures === 0 && e.spec.costEstimateJ === undefined ? energyJ : e.costJ + alpha * (energyJ - e.costJ);
      if (ok) e.stats.runs += 1;
      else e.stats.failures += 1;
      e.stats.energyJ += energyJ;
      e.running = false;
      this.events.emit('ran', e.spec.name, { energyJ, cpuMs, forced, ok });
    }
  }
}

