import type { EnergyConfig } from '../../config/sections/energy.js';
import type { BoardProfile } from '../board-profile.js';
import type { EnergyMode } from '../modes.js';
import { mulberry32 } from '../../util/prng.js';
import { pvModel } from './solar.js';
import { simulateStrategy } from './strategy.js';

/** Options of `simulateEnergy`. */
export interface SimulationOptions {
  days: number;
  board: BoardProfile;
  /** Panel rating, W. */
  panelWatts: number;
  /** Battery capacity, Wh (overrides the profile's). */
  batteryWh: number;
  seed: number;
  /** Latitude, degrees. Default 45. */
  latitudeDeg?: number;
  /** Start (midnight UTC = solar midnight at longitude 0), ms. Default 2026-05-01. */
  startMs?: number;
  /** 1-based heavily clouded days. Default: each day cloudy with probability 2/7 (seeded). */
  cloudyDays?: number[];
  /** PV watts at a wall time, replacing the clear-sky model (e.g. `pvFromTraceCsv`). */
  pv?: (wallMs: number) => number;
  /** Initial SOC. Default 0.7. */
  initialSoc?: number;
  /** Simulation step, s. Default 60. */
  stepSeconds?: number;
  /** A learning unit arrives every this many minutes. Default 30. */
  unitEveryMinutes?: number;
  /** CPU seconds (all cores busy) per learning unit. Default 300. */
  unitCpuSeconds?: number;
  /** Sync base interval, minutes, and CPU seconds per sync. Default 10 and 3. */
  syncEveryMinutes?: number;
  syncCpuSeconds?: number;
  /** Least mode for learning units (DESIGN section 6: evolution runs in surplus). Default 'normal'. */
  learningMinMode?: EnergyMode;
  /** The energy config section. Default `defaultConfig().energy`. */
  config?: EnergyConfig;
  /**
   * The companion MCU manages the host's power in the adaptive run: planned sleeps (the sleep planner),
   * its low-battery shutdown, boots that cost time and energy. false = today's behaviour (no sleep).
   * The fixed baseline never has it. Default true.
   */
  mcu?: boolean;
  /** Called at the start of each simulated day. */
  onProgress?: (strategy: Strategy, day: number) => void;
}

export type Strategy = 'adaptive' | 'fixed';

/** A plot sample. */
export interface SimSample {
  t: number;
  soc: number;
  estSoc?: number;
  pvW: number;
  loadW: number;
  mode: SimMode;
}

/** A plot/accounting state: an energy mode while awake, `sleep` (planned, MCU holds the host off), `boot`, or `off` (brownout). */
export type SimMode = EnergyMode | 'sleep' | 'boot' | 'off';

/** The outcome of one strategy. */
export interface StrategyResult {
  strategy: Strategy;
  brownouts: number;
  minSoc: number;
  /** Learning units offered (arrived), the same for both strategies. */
  workAttempted: number;
  workDone: number;
  energyForLearningWh: number;
  syncRuns: number;
  /** Hours not running: planned sleep + boots + brownout. */
  downtimeHours: number;
  /** Hours held off by the MCU on purpose (incl. boots after them). */
  plannedDowntimeHours: number;
  /** Hours without power after brownouts (uncontrolled). */
  brownoutDowntimeHours: number;
  /** Planned sleeps (graceful: shutdown handshake, then the MCU cuts). */
  sleeps: number;
  /** Of those, started by the MCU's low-battery protection rather than the planner. */
  mcuShutdowns: number;
  bootEnergyWh: number;
  /** Share of the time the daemon was running, %. */
  uptimePct: number;
  pvHarvestWh: number;
  modeHours: Record<SimMode, number>;
  samples: SimSample[];
  /** Wall times a learning unit started. */
  learningMarks: number[];
  /** Wall times of brownouts. */
  brownoutMarks: number[];
  /** Wall times of planned sleeps. */
  sleepMarks: number[];
}

export interface SimulationResult {
  adaptive: StrategyResult;
  fixed: StrategyResult;
  days: number;
  board: string;
  panelWatts: number;
  batteryWh: number;
  seed: number;
  latitudeDeg: number;
  cloudyDays: number[];
  startMs: number;
  mcu: boolean;
}

/** Pick cloudy days from the seed: each day with probability 2/7. */
export function seededCloudyDays(days: number, seed: number): number[] {
  const rand = mulberry32(seed ^ 0xc10d);
  const out: number[] = [];
  for (let d = 1; d <= days; d++) if (rand() < 2 / 7) out.push(d);
  return out;
}

/**
 * Run the REAL EnergyFeature (estimator, forecaster, policy, scheduler) and sleep planner on a ManualClock
 * against a battery/PV model, twice: energy-adaptive (with the companion MCU unless `mcu: false`) and a
 * fixed schedule (same tasks, `fixedSchedule: true`, no MCU).
 */
export async function simulateEnergy(o: SimulationOptions): Promise<SimulationResult> {
  const startMs = o.startMs ?? Date.UTC(2026, 4, 1);
  const cloudyDays = o.cloudyDays ?? seededCloudyDays(o.days, o.seed);
  const latitudeDeg = o.latitudeDeg ?? 45;
  const pv = o.pv ?? pvModel({ panelWatts: o.panelWatts, latitudeDeg, startMs, cloudyDays, seed: o.seed });
  const mcu = o.mcu ?? true;
  const adaptive = await simulateStrategy(o, 'adaptive', startMs, pv, mcu);
  const fixed = await simulateStrategy(o, 'fixed', startMs, pv, false);
  return { adaptive, fixed, days: o.days, board: o.board.name, panelWatts: o.panelWatts, batteryWh: o.batteryWh, seed: o.seed, latitudeDeg, cloudyDays, startMs, mcu };
}

