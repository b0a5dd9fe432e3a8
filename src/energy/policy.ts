import type { Clock } from '../util/clock.js';
import { TypedEvents } from '../util/events.js';
import type { EnergyThresholds } from './board-profile.js';
import type { EnergyState } from './estimator.js';
import { modeRank, type EnergyMode } from './modes.js';

/** A mode change, as emitted on `EnergyPolicy.events` ('mode'). */
export interface ModeChange {
  from: EnergyMode;
  to: EnergyMode;
  soc: number;
  /** Why, in words (for logs and the snapshot). */
  reason: string;
  /** Wall time of the change, ms. */
  time: number;
}

export type EnergyPolicyEvents = { mode: (change: ModeChange) => void };

/** Options of `EnergyPolicy`. */
export interface EnergyPolicyOptions {
  /** Mode thresholds with hysteresis (board profile, overridden by `energy.thresholds`). Required. */
  thresholds: EnergyThresholds;
  /** Injected clock; dwell time is measured on `monotonic()`. Required. */
  clock: Clock;
  /** Mode before the first reading. Default 'normal'. */
  initialMode?: EnergyMode;
}

/**
 * The mode state machine of DESIGN section 6. Each band has an enter and an exit SOC (the hysteresis
 * band), and a mode is held at least `minDwellSeconds` before leaving it, except that a drop to
 * `survival` is immediate (protecting the battery beats stability). Surplus also needs the battery
 * charging or PV covering the load: a full battery at night is `normal`.
 */
export class EnergyPolicy {
  readonly events = new TypedEvents<EnergyPolicyEvents>();
  private current: EnergyMode;
  private since: number;
  private sinceWall: number;

  constructor(private readonly options: EnergyPolicyOptions) {
    this.current = options.initialMode ?? 'normal';
    this.since = -Infinity;
    this.sinceWall = options.clock.now();
  }

  mode(): EnergyMode {
    return this.current;
  }

  /** Wall time the current mode was entered, ms. */
  modeSince(): number {
    return this.sinceWall;
  }

  /** The mode the thresholds ask for, ignoring dwell time. */
  target(state: Pick<EnergyState, 'soc' | 'pvPower' | 'loadPower' | 'batteryPower'>): { mode: EnergyMode; reason: string } {
    const t = this.options.thresholds;
    const soc = state.soc;
    const cur = this.current;
    if (soc <= t.survival.enter) return { mode: 'survival', reason: `soc ${pct(soc)} <= survival.enter ${pct(t.survival.enter)}` };
    if (cur === 'survival' && soc < t.survival.exit) return { mode: 'survival', reason: `soc ${pct(soc)} < survival.exit ${pct(t.survival.exit)}` };
    if (soc <= t.conserve.enter) return { mode: 'conserve', reason: `soc ${pct(soc)} <= conserve.enter ${pct(t.conserve.enter)}` };
    if (modeRank(cur) <= modeRank('conserve') && soc < t.conserve.exit) return { mode: 'conserve', reason: `soc ${pct(soc)} < conserve.exit ${pct(t.conserve.exit)}` };
    const harvesting = state.pvPower > 0 && (state.batteryPower >= 0 || state.pvPower >= state.loadPower);
    if (soc >= t.surplus.enter && harvesting) return { mode: 'surplus', reason: `soc ${pct(soc)} >= surplus.enter ${pct(t.surplus.enter)} and PV covers load` };
    // Stay in surplus above the exit SOC while PV still covers most of the load.
    if (cur === 'surplus' && soc > t.surplus.exit && state.pvPower >= 0.8 * state.loadPower && state.pvPower > 0) {
      return { mode: 'surplus', reason: `soc ${pct(soc)} > surplus.exit ${pct(t.surplus.exit)}` };
    }
    return { mode: 'normal', reason: `soc ${pct(soc)} in the normal band` };
  }

  /** Feed the latest estimate; returns the (possibly new) mode and emits 'mode' on a change. */
  update(state: Pick<EnergyState, 'soc' | 'pvPower' | 'loadPower' | 'batteryPower'>): EnergyMode {
    const { mode, reason } = this.target(state);
    if (mode === this.current) return mode;
    const dwellMs = this.options.thresholds.minDwellSeconds * 1000;
    const held = this.options.clock.monotonic() - this.since;
    if (mode !== 'survival' && held < dwellMs) return this.current;
    const change: ModeChange = { from: this.current, to: mode, soc: state.soc, reason, time: this.options.clock.now() };
    this.current = mode;
    this.since = this.options.clock.monotonic();
    this.sinceWall = change.time;
    this.events.emit('mode', change);
    return mode;
  }
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}
