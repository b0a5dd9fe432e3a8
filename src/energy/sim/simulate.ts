import { defaultConfig } from '../../config/load.js';
import type { EnergyConfig } from '../../config/sections/energy.js';
import { ManualClock } from '../../util/clock.js';
import type { BoardProfile } from '../board-profile.js';
import { EnergyFeature } from '../feature.js';
import type { EnergyMode } from '../modes.js';
import { BatteryModel } from './battery.js';
import { gaussian, mulberry32 } from '../../util/prng.js';
import { pvModel } from './solar.js';

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
  mode: EnergyMode | 'off';
}

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
  downtimeHours: number;
  pvHarvestWh: number;
  modeHours: Record<EnergyMode | 'off', number>;
  samples: SimSample[];
  /** Wall times a learning unit started. */
  learningMarks: number[];
  /** Wall times of brownouts. */
  brownoutMarks: number[];
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
}

/** Pick cloudy days from the seed: each day with probability 2/7. */
export function seededCloudyDays(days: number, seed: number): number[] {
  const rand = mulberry32(seed ^ 0xc10d);
  const out: number[] = [];
  for (let d = 1; d <= days; d++) if (rand() < 2 / 7) out.push(d);
  return out;
}

/**
 * Run the REAL EnergyFeature (estimator, forecaster, policy, scheduler) on a ManualClock against a
 * battery/PV model, twice: energy-adaptive and a fixed schedule (same tasks, `fixedSchedule: true`).
 */
export async function simulateEnergy(o: SimulationOptions): Promise<SimulationResult> {
  const startMs = o.startMs ?? Date.UTC(2026, 4, 1);
  const cloudyDays = o.cloudyDays ?? seededCloudyDays(o.days, o.seed);
  const latitudeDeg = o.latitudeDeg ?? 45;
  const pv = o.pv ?? pvModel({ panelWatts: o.panelWatts, latitudeDeg, startMs, cloudyDays, seed: o.seed });
  const run = (s: Strategy): Promise<StrategyResult> => simulateStrategy(o, s, startMs, pv);
  const adaptive = await run('adaptive');
  const fixed = await run('fixed');
  return { adaptive, fixed, days: o.days, board: o.board.name, panelWatts: o.panelWatts, batteryWh: o.batteryWh, seed: o.seed, latitudeDeg, cloudyDays, startMs };
}

interface BusyItem {
  left: number;
  done: (aborted: boolean) => void;
}

async function simulateStrategy(o: SimulationOptions, strategy: Strategy, startMs: number, pv: (ms: number) => number): Promise<StrategyResult> {
  const stepS = o.stepSeconds ?? 60;
  const stepMs = stepS * 1000;
  const unitEveryMs = (o.unitEveryMinutes ?? 30) * 60_000;
  const unitCpuS = o.unitCpuSeconds ?? 300;
  const syncCpuS = o.syncCpuSeconds ?? 3;
  const config = o.config ?? defaultConfig().energy;
  const profile: BoardProfile = { ...o.board, battery: { ...o.board.battery, capacityWh: o.batteryWh } };
  const { idleWatts, busyWatts } = profile.power;
  const clock = new ManualClock(startMs);
  const noise = mulberry32(o.seed ^ 0xbeef);
  const battery = new BatteryModel({ ...profile.battery, soc: o.initialSoc ?? 0.7 });

  const res: StrategyResult = {
    strategy, brownouts: 0, minSoc: battery.soc, workAttempted: 0, workDone: 0, energyForLearningWh: 0, syncRuns: 0, downtimeHours: 0, pvHarvestWh: 0,
    modeHours: { survival: 0, conserve: 0, normal: 0, surplus: 0, off: 0 }, samples: [], learningMarks: [], brownoutMarks: [],
  };
  let backlog = 0;
  let busy: BusyItem[] = [];
  const busyWork = (seconds: number): Promise<boolean> => new Promise((resolve) => busy.push({ left: seconds, done: (aborted) => resolve(!aborted) }));

  const boot = (): EnergyFeature => {
    const f = new EnergyFeature({ clock, profile, config, fixedSchedule: strategy === 'fixed' });
    f.scheduler.register({
      name: 'sync', intervalMs: (o.syncEveryMinutes ?? 10) * 60_000, cadence: 'sync', deferrable: false,
      run: async (ctx) => {
        ctx.reportCpuMs(syncCpuS * 1000);
        if (await busyWork(syncCpuS)) res.syncRuns += 1;
      },
    });
    f.scheduler.register({
      name: 'train', intervalMs: unitEveryMs, cadence: 'learning', minMode: o.learningMinMode ?? 'normal', deferrable: true, updateLock: true,
      costEstimateJ: unitCpuS * (busyWatts - idleWatts), ready: () => backlog > 0,
      run: async (ctx) => {
        backlog -= 1;
        res.learningMarks.push(clock.now());
        ctx.reportCpuMs(unitCpuS * 1000);
        if (await busyWork(unitCpuS)) {
          res.workDone += 1;
          res.energyForLearningWh += (unitCpuS * (busyWatts - idleWatts)) / 3600;
        } else {
          backlog += 1; // cut mid-unit by a brownout: the data is still there, the work is not done
        }
      },
    });
    f.start();
    return f;
  };

  let feature: EnergyFeature | undefined = boot();
  const steps = Math.round((o.days * 86_400) / stepS);
  let nextArrival = startMs + unitEveryMs;
  for (let i = 0; i < steps; i++) {
    const t = clock.now();
    if ((i * stepS) % 86_400 === 0) o.onProgress?.(strategy, (i * stepS) / 86_400 + 1);
    while (nextArrival <= t) {
      backlog += 1;
      res.workAttempted += 1;
      nextArrival += unitEveryMs;
    }
    // CPU work: one "all cores busy" worth per second, FIFO.
    let busyS = 0;
    if (feature) {
      while (busy.length > 0 && busyS < stepS) {
        const item = busy[0]!;
        const take = Math.min(item.left, stepS - busyS);
        item.left -= take;
        busyS += take;
        if (item.left <= 1e-9) {
          busy.shift();
          item.done(false);
        }
      }
    }
    const pvW = Math.max(0, pv(t));
    const loadW = idleWatts + (busyWatts - idleWatts) * (busyS / stepS);
    const wasCut = battery.cut;
    const b = battery.step(pvW, loadW, stepS);
    res.pvHarvestWh += (pvW * stepS) / 3600;
    if (!wasCut && battery.cut) {
      res.brownoutMarks.push(t);
      const dead = busy;
      busy = [];
      for (const item of dead) item.done(true);
      await feature?.stop();
      feature = undefined;
    } else if (wasCut && !battery.cut) {
      feature = boot(); // the board reboots: fresh process, SOC re-anchored from voltage
    }
    let mode: EnergyMode | 'off' = 'off';
    if (feature) {
      const snap = feature.ingest({
        time: t,
        source: 'sim',
        batteryVoltage: b.voltage + 0.01 * gaussian(noise),
        batteryCurrent: b.current + 0.02 * gaussian(noise),
        pvPower: pvW,
        loadPower: b.loadW,
      });
      mode = snap.mode;
      if (i % 5 === 0) res.samples.push({ t, soc: battery.soc, estSoc: snap.state.soc, pvW, loadW: b.loadW, mode });
    } else if (i % 5 === 0) {
      res.samples.push({ t, soc: battery.soc, pvW, loadW: 0, mode });
    }
    res.modeHours[mode] += stepS / 3600;
    clock.advance(stepMs);
    await new Promise<void>((r) => setImmediate(r));
  }
  await feature?.stop();
  res.brownouts = battery.brownouts;
  res.minSoc = battery.minSoc;
  res.downtimeHours = res.modeHours.off;
  return res;
}
