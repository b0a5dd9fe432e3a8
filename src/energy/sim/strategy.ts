import { defaultConfig } from '../../config/load.js';
import { ManualClock } from '../../util/clock.js';
import { gaussian, mulberry32 } from '../../util/prng.js';
import type { BoardProfile } from '../board-profile.js';
import { EnergyFeature } from '../feature.js';
import type { EnergyHistoryPoint, EnergyHistoryStore } from '../history.js';
import { planSleep } from '../sleep-planner.js';
import { BatteryModel } from './battery.js';
import type { SimMode, SimulationOptions, Strategy, StrategyResult } from './simulate.js';

interface BusyItem {
  left: number;
  done: (aborted: boolean) => void;
}

/** Host power as the companion MCU sees it. */
type Host = { state: 'awake'; since: number } | { state: 'asleep'; wakeAt: number; wakeSoc: number } | { state: 'boot'; until: number } | { state: 'cut' };

/** The MCU firmware's low-battery protection (firmware-bridge/README.md "Power protocol"): cut at cutoff + this, wake at cutoff + 0.1. */
const MCU_PROTECT_MARGIN = 0.03;

/** The persisted energy history the daemon reloads after a wake (SQLite in the daemon; memory here). */
function memoryHistory(): EnergyHistoryStore {
  const points: EnergyHistoryPoint[] = [];
  return { append: (p) => void points.push(...p), load: (since) => points.filter((x) => x.time >= since) };
}

export async function simulateStrategy(o: SimulationOptions, strategy: Strategy, startMs: number, pv: (ms: number) => number, mcu: boolean): Promise<StrategyResult> {
  const stepS = o.stepSeconds ?? 60;
  const stepMs = stepS * 1000;
  const unitEveryMs = (o.unitEveryMinutes ?? 30) * 60_000;
  const unitCpuS = o.unitCpuSeconds ?? 300;
  const syncCpuS = o.syncCpuSeconds ?? 3;
  const config = o.config ?? defaultConfig().energy;
  const profile: BoardProfile = { ...o.board, battery: { ...o.board.battery, capacityWh: o.batteryWh } };
  const { idleWatts, busyWatts, sleepWatts, bootSeconds } = profile.power;
  const bootWatts = profile.power.bootWatts ?? (idleWatts + busyWatts) / 2;
  const clock = new ManualClock(startMs);
  const noise = mulberry32(o.seed ^ 0xbeef);
  const battery = new BatteryModel({ ...profile.battery, soc: o.initialSoc ?? 0.7 });
  const history = mcu ? memoryHistory() : undefined;
  const planEveryMs = 15 * 60_000;

  const res: StrategyResult = {
    strategy, brownouts: 0, minSoc: battery.soc, workAttempted: 0, workDone: 0, energyForLearningWh: 0, syncRuns: 0, downtimeHours: 0,
    plannedDowntimeHours: 0, brownoutDowntimeHours: 0, sleeps: 0, mcuShutdowns: 0, bootEnergyWh: 0, uptimePct: 0, pvHarvestWh: 0,
    modeHours: { survival: 0, conserve: 0, normal: 0, surplus: 0, sleep: 0, boot: 0, off: 0 }, samples: [], learningMarks: [], brownoutMarks: [], sleepMarks: [],
  };
  let backlog = 0;
  let busy: BusyItem[] = [];
  const busyWork = (seconds: number): Promise<boolean> => new Promise((resolve) => busy.push({ left: seconds, done: (aborted) => resolve(!aborted) }));
  const abortBusy = () => {
    const dead = busy;
    busy = [];
    for (const item of dead) item.done(true);
  };

  const boot = async (): Promise<EnergyFeature> => {
    const f = new EnergyFeature({ clock, profile, config, fixedSchedule: strategy === 'fixed', historyStore: history });
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
          backlog += 1; // cut mid-unit (brownout or shutdown): the data is still there, the work is not done
        }
      },
    });
    f.start();
    await f.historyRestored(); // resume: the forecaster is warmed from the persisted history
    return f;
  };

  let feature: EnergyFeature | undefined = await boot();
  let host: Host = { state: 'awake', since: startMs };
  let nextPlan = startMs + planEveryMs;
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
    // The companion MCU: wake a sleeping host, finish a boot.
    if (host.state === 'asleep' && (t >= host.wakeAt || battery.soc >= host.wakeSoc)) {
      host = { state: 'boot', until: t + bootSeconds * 1000 };
    }
    if (host.state === 'boot' && t >= host.until) {
      feature = await boot();
      host = { state: 'awake', since: t };
      nextPlan = t + planEveryMs;
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
    let loadW = idleWatts + (busyWatts - idleWatts) * (busyS / stepS);
    if (host.state === 'asleep') loadW = sleepWatts;
    else if (host.state === 'boot') {
      loadW = bootWatts;
      res.bootEnergyWh += (bootWatts * stepS) / 3600;
    }
    const wasCut = battery.cut;
    const b = battery.step(pvW, loadW, stepS);
    res.pvHarvestWh += (pvW * stepS) / 3600;
    if (!wasCut && battery.cut) {
      res.brownoutMarks.push(t);
      abortBusy();
      await feature?.stop();
      feature = undefined;
      host = { state: 'cut' };
    } else if (wasCut && !battery.cut) {
      feature = await boot(); // the board reboots: fresh process, SOC re-anchored from voltage
      host = { state: 'awake', since: t };
    }
    let mode: SimMode = host.state === 'asleep' ? 'sleep' : host.state === 'boot' ? 'boot' : 'off';
    if (feature && host.state === 'awake') {
      const snap = feature.ingest({
        time: t,
        source: 'sim',
        batteryVoltage: b.voltage + 0.01 * gaussian(noise),
        batteryCurrent: b.current + 0.02 * gaussian(noise),
        ...(mcu ? { soc: Math.min(1, Math.max(0, battery.soc + 0.005 * gaussian(noise))) } : {}), // the MCU counts coulombs
        pvPower: pvW,
        loadPower: b.loadW,
      });
      mode = snap.mode;
      if (i % 5 === 0) res.samples.push({ t, soc: battery.soc, estSoc: snap.state.soc, pvW, loadW: b.loadW, mode });
      if (mcu) {
        const sleep = decideSleep(t, snap.state.soc, battery.soc, feature, host.since, nextPlan);
        if (sleep) {
          res.sleeps += 1;
          if (sleep.byMcu) res.mcuShutdowns += 1;
          res.sleepMarks.push(t);
          abortBusy(); // graceful: state persisted, the unit in flight is redone after the wake
          await feature.stop();
          feature = undefined;
          host = { state: 'asleep', wakeAt: sleep.wakeAt, wakeSoc: sleep.wakeSoc };
        } else if (t >= nextPlan) nextPlan = t + planEveryMs;
      }
    } else if (i % 5 === 0) {
      res.samples.push({ t, soc: battery.soc, pvW, loadW: b.loadW, mode });
    }
    res.modeHours[mode] += stepS / 3600;
    clock.advance(stepMs);
    await new Promise<void>((r) => setImmediate(r));
  }
  await feature?.stop();
  res.brownouts = battery.brownouts;
  res.minSoc = battery.minSoc;
  res.plannedDowntimeHours = res.modeHours.sleep + res.modeHours.boot;
  res.brownoutDowntimeHours = res.modeHours.off;
  res.downtimeHours = res.plannedDowntimeHours + res.brownoutDowntimeHours;
  res.uptimePct = (100 * (o.days * 24 - res.downtimeHours)) / (o.days * 24);
  return res;

  function decideSleep(t: number, estSoc: number, mcuSoc: number, f: EnergyFeature, since: number, planAt: number): { wakeAt: number; wakeSoc: number; byMcu: boolean } | undefined {
    const cutoff = profile.battery.cutoffSoc;
    if (mcuSoc <= cutoff + MCU_PROTECT_MARGIN) return { wakeAt: Infinity, wakeSoc: cutoff + 0.1, byMcu: true };
    if (!config.sleep.enabled || t < planAt) return undefined;
    const plan = planSleep(
      {
        now: t, soc: estSoc, capacityWh: o.batteryWh, slotsWh: f.forecaster.series(t, config.sleep.horizonHours), slotHours: f.forecaster.slotHours(),
        awakeWatts: idleWatts * 1.02, sleepWatts, bootWh: (bootWatts * bootSeconds) / 3600, chargeEfficiency: profile.battery.chargeEfficiency, awakeSince: since,
      },
      config.sleep,
    );
    return plan.sleep ? { wakeAt: plan.wakeAt, wakeSoc: plan.wakeSoc, byMcu: false } : undefined;
  }
}
