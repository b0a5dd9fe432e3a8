/**
 * Energy scheduler overhead. Rows:
 * - gate decision (`canRun`) vs a bare closure call doing the same comparisons' worth of work;
 * - one scheduled occurrence on a ManualClock (timer fire → gate → run → cost/stats) vs a bare
 *   ManualClock timer firing an async no-op;
 * - 1 ms interval task on the real clock vs a bare setTimeout(1) chain (wall time per run);
 * - `EnergyFeature.ingest` (estimator + forecast + budget + policy + scheduler re-check) per reading
 *   vs the estimator alone.
 */
import { ManualClock, systemClock } from '../src/util/clock.js';
import { EnergyScheduler } from '../src/energy/scheduler.js';
import { EnergyFeature } from '../src/energy/feature.js';
import { EnergyEstimator } from '../src/energy/estimator.js';
import { loadBoardProfile } from '../src/energy/board-profile.js';
import { defaultConfig } from '../src/config/load.js';
import type { EnergyMode } from '../src/energy/modes.js';
import { rate, type BenchRow } from './row.js';

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

function manualScheduler(clock: ManualClock): EnergyScheduler {
  const mode: EnergyMode = 'normal';
  return new EnergyScheduler({ clock, power: { idleWatts: 2.7, busyWatts: 6.4 }, mode: () => mode, budgetWh: () => 50, cpuTimeMs: () => 0 });
}

async function gateRow(): Promise<BenchRow> {
  const s = manualScheduler(new ManualClock());
  s.register({ name: 'train', minMode: 'normal', costEstimateJ: 400, run: async () => undefined });
  let sink = 0;
  const ours = await rate(() => void (sink += s.canRun('train') ? 1 : 0), 700, 1000);
  const modes = ['normal', 'surplus'];
  const bare = await rate(() => void (sink += modes.includes('normal') && 50 >= (400 * 1.5) / 3600 ? 1 : 0), 700, 1000);
  if (sink < 0) console.log(sink);
  return { metric: 'gate decision canRun()', value: 1e9 / ours, unit: 'ns/op', baseline: 1e9 / bare, baselineName: 'bare closure', ratio: bare / ours, target: 'value < 2000 ns', ok: 1e9 / ours < 2000 };
}

async function occurrenceRow(): Promise<BenchRow> {
  const n = 20_000;
  const clock = new ManualClock();
  const s = manualScheduler(clock);
  let runs = 0;
  s.register({ name: 'tick', intervalMs: 1000, run: async () => void (runs += 1) });
  s.start();
  let t0 = performance.now();
  for (let i = 0; i < n; i++) {
    clock.advance(1000);
    await flush();
  }
  await flush();
  const ours = (performance.now() - t0) / n;
  s.stop();
  const bareClock = new ManualClock();
  let bareRuns = 0;
  const arm = (): void => void bareClock.setTimeout(() => {
    arm();
    void (async () => void (bareRuns += 1))();
  }, 1000);
  arm();
  t0 = performance.now();
  for (let i = 0; i < n; i++) {
    bareClock.advance(1000);
    await flush();
  }
  await flush();
  const bare = (performance.now() - t0) / n;
  if (runs !== n || bareRuns !== n) throw new Error(`bench: expected ${n} runs, got ${runs}/${bareRuns}`);
  return { metric: 'scheduled occurrence (ManualClock)', value: ours * 1000, unit: 'µs/run', baseline: bare * 1000, baselineName: 'bare ManualClock timer', ratio: ours / bare, target: 'value < 50 µs', ok: ours * 1000 < 50 };
}

async function realTimerRow(): Promise<BenchRow> {
  const n = 300;
  const s = new EnergyScheduler({ clock: systemClock, power: { idleWatts: 2.7, busyWatts: 6.4 }, mode: () => 'normal', budgetWh: () => 50 });
  let runs = 0;
  let t0 = 0;
  const done = new Promise<number>((resolve) => {
    s.register({
      name: 'tick', intervalMs: 1, run: async () => {
        if (runs === 0) t0 = performance.now();
        runs += 1;
        if (runs === n + 1) resolve(performance.now() - t0);
      },
    });
  });
  s.start();
  const ours = (await done) / n;
  s.stop();
  const bare = await new Promise<number>((resolve) => {
    let k = 0;
    const start = performance.now();
    const next = (): void => {
      k += 1;
      if (k === n) resolve((performance.now() - start) / n);
      else setTimeout(next, 1);
    };
    setTimeout(next, 1);
  });
  return { metric: '1 ms interval task, real clock', value: ours, unit: 'ms/run', baseline: bare, baselineName: 'setTimeout(1) chain', ratio: ours / bare, target: 'ratio <= 1.25', ok: ours / bare <= 1.25 };
}

async function ingestRow(): Promise<BenchRow> {
  const clock = new ManualClock();
  const profile = loadBoardProfile('rpi-4');
  const f = new EnergyFeature({ clock, profile, config: defaultConfig().energy });
  f.scheduler.register({ name: 'train', intervalMs: 600_000, minMode: 'surplus', run: async () => undefined });
  f.start();
  let i = 0;
  const reading = () => ({ time: clock.now(), source: 'bench', batteryVoltage: 13.1 + (i % 7) * 0.01, batteryCurrent: -0.2, pvPower: 10 * Math.max(0, Math.sin((i++ % 1440) / 229)), loadPower: 2.7 });
  const ours = await rate(() => {
    clock.advance(1000);
    f.ingest(reading());
  }, 700, 200);
  await f.stop();
  const est = new EnergyEstimator({ capacityWh: 100, nominalVoltage: 12.8, chemistry: 'lifepo4' });
  let mono = 0;
  const bare = await rate(() => void est.ingest(reading(), (mono += 1000)), 700, 200);
  return { metric: 'EnergyFeature.ingest per reading', value: 1e6 / ours, unit: 'µs/reading', baseline: 1e6 / bare, baselineName: 'estimator only', ratio: bare / ours, target: 'value < 500 µs (readings arrive ~1/s)', ok: 1e6 / ours < 500 };
}

export async function run(): Promise<BenchRow[]> {
  return [await gateRow(), await occurrenceRow(), await realTimerRow(), await ingestRow()];
}
