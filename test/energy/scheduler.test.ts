import t from 'tap';
import { ManualClock } from '../../src/util/clock.js';
import { EnergyScheduler, type EnergySchedulerOptions } from '../../src/energy/scheduler.js';
import { EnergyPolicy } from '../../src/energy/policy.js';
import { loadBoardProfile } from '../../src/energy/board-profile.js';
import { mulberry32 } from '../../src/util/prng.js';
import type { EnergyMode } from '../../src/energy/modes.js';

const MIN = 60_000;
const YEAR = 365 * 86_400_000;
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup(over: Partial<EnergySchedulerOptions> = {}) {
  const clock = new ManualClock();
  const env = { mode: 'normal' as EnergyMode, budget: 100 as number | undefined };
  const s = new EnergyScheduler({ clock, power: { idleWatts: 2.7, busyWatts: 6.4 }, mode: () => env.mode, budgetWh: () => env.budget, cpuTimeMs: () => 0, cadence: { sync: { surplus: 0.5, normal: 1, conserve: 6, survival: 30 } }, ...over });
  return { clock, env, s };
}

async function step(clock: ManualClock, ms: number, by = MIN): Promise<void> {
  for (let done = 0; done < ms; done += by) {
    clock.advance(Math.min(by, ms - done));
    await flush();
  }
}

t.test('policy hysteresis: noisy SOC around a threshold does not flap', (t) => {
  const clock = new ManualClock();
  const th = loadBoardProfile('rpi-4').thresholds; // conserve enter 0.35 exit 0.45, dwell 600 s
  const p = new EnergyPolicy({ thresholds: th, clock });
  const changes: string[] = [];
  p.events.on('mode', (c) => changes.push(`${c.from}->${c.to}`));
  const rand = mulberry32(7);
  const feed = (soc: number): EnergyMode => p.update({ soc, pvPower: 0, loadPower: 3, batteryPower: -3 });
  // 6 h of readings every 10 s, SOC 0.35 ± 0.04 noise: one entry into conserve, no exit.
  for (let i = 0; i < 2160; i++) {
    feed(0.35 + (rand() - 0.5) * 0.08);
    clock.advance(10_000);
  }
  t.same(changes, ['normal->conserve']);
  // Exit needs SOC >= 0.45 ...
  feed(0.44);
  t.equal(p.mode(), 'conserve');
  feed(0.46);
  t.equal(p.mode(), 'normal');
  // ... and dwell: straight back down is refused for minDwellSeconds, except a drop to survival.
  feed(0.3);
  t.equal(p.mode(), 'normal');
  clock.advance(600_000);
  feed(0.3);
  t.equal(p.mode(), 'conserve');
  feed(0.1);
  t.equal(p.mode(), 'survival', 'survival bypasses dwell');
  // Surplus needs PV covering the load: a full battery at night stays normal.
  clock.advance(3_600_000);
  feed(0.5);
  clock.advance(3_600_000);
  t.equal(p.update({ soc: 0.95, pvPower: 0, loadPower: 3, batteryPower: -3 }), 'normal');
  clock.advance(3_600_000);
  t.equal(p.update({ soc: 0.95, pvPower: 20, loadPower: 3, batteryPower: 17 }), 'surplus');
  t.end();
});

t.test('interval tasks: cadence multiplier per mode, mode gate, non-deferrable drop', async (t) => {
  const { clock, env, s } = setup();
  const runs: number[] = [];
  s.register({ name: 'sync', intervalMs: 10 * MIN, cadence: 'sync', deferrable: false, run: async () => void runs.push(clock.monotonic()) });
  s.register({ name: 'train', intervalMs: 30 * MIN, minMode: 'surplus', run: async () => undefined });
  s.start();
  t.equal(s.cadenceFor('sync'), 1);
  await step(clock, 60 * MIN);
  t.equal(runs.length, 6);
  env.mode = 'conserve';
  s.notifyEnergyChanged();
  t.equal(s.cadenceFor('sync'), 6);
  t.equal(s.intervalFor('sync'), 60 * MIN);
  await step(clock, 120 * MIN);
  t.equal(runs.length, 8, 'one sync an hour in conserve');
  t.notOk(s.canRun('train'));
  t.equal(s.check('train').reason, 'mode');
  env.mode = 'surplus';
  s.notifyEnergyChanged();
  t.equal(s.check('train').reason, 'running', 'the deferred occurrence started at once');
  await flush();
  t.equal(s.cadenceFor('sync'), 0.5);
  t.ok(s.canRun('train'));
  const st = s.stats().find((x) => x.name === 'train')!;
  t.ok(st.skipped.mode >= 1, 'train was deferred by mode');
  t.ok(st.runs >= 1, 'deferred train ran once surplus came');
  s.stop();
});

t.test('budget gate and learned cost (EWMA of CPU time × busy-idle delta)', async (t) => {
  const { clock, env, s } = setup();
  let cpu = 0;
  const s2 = new EnergyScheduler({ clock, power: { idleWatts: 2.7, busyWatts: 6.4 }, mode: () => env.mode, budgetWh: () => env.budget, cpuTimeMs: () => cpu, costAlpha: 0.5 });
  let n = 0;
  s2.register({
    name: 'train', intervalMs: 10 * MIN, minMode: 'normal',
    run: async (ctx) => {
      n += 1;
      if (n <= 2) ctx.reportCpuMs(100_000); // 100 s reported → 370 J
      else cpu += 50_000; // measured from process CPU: 50 s → 185 J
    },
  });
  s2.start();
  await step(clock, 10 * MIN);
  t.equal(s2.costEstimateJ('train'), 370, 'first run sets the estimate');
  await step(clock, 10 * MIN);
  t.equal(s2.costEstimateJ('train'), 370);
  await step(clock, 10 * MIN);
  t.equal(s2.costEstimateJ('train'), 277.5, 'EWMA towards the measured 185 J');
  // Budget 0.1 Wh = 360 J < 277.5 × 1.5: deferred, re-checked, runs when budget returns.
  env.budget = 0.1;
  await step(clock, 30 * MIN);
  const st = s2.stats()[0]!;
  t.equal(st.runs, 3);
  t.equal(st.skipped.budget, 1, 'one pending occurrence, counted once');
  t.ok(st.coalesced >= 2, 'later occurrences merged, not queued');
  env.budget = undefined;
  t.equal(s2.check('train').reason, 'budget', 'unknown budget denies');
  env.budget = 1;
  s2.notifyEnergyChanged();
  await flush();
  t.equal(s2.stats()[0]!.runs, 4, 'ran once, not once per missed occurrence');
  t.ok(Math.abs(s2.stats()[0]!.energyJ - (370 + 370 + 185 + 185)) < 1e-9);
  s2.stop();
  s.stop();
});

t.test('deadlines: run if mode >= conserve, otherwise reported missed', async (t) => {
  const { clock, env, s } = setup();
  env.mode = 'conserve';
  let runs = 0;
  const forced: boolean[] = [];
  s.register({ name: 'consolidate', intervalMs: 6 * 60 * MIN, minMode: 'normal', deadlineMs: 60 * MIN, run: async (ctx) => { runs += 1; forced.push(ctx.forcedByDeadline); } });
  s.start();
  await step(clock, 6 * 60 * MIN);
  t.equal(runs, 0, 'deferred in conserve');
  await step(clock, 60 * MIN);
  t.equal(runs, 1, 'past its deadline in conserve: runs');
  t.same(forced, [true]);
  env.mode = 'survival';
  await step(clock, 6 * 60 * MIN);
  t.equal(runs, 1);
  const st = s.stats()[0]!;
  t.equal(st.skipped.missed, 1, 'past its deadline in survival: missed');
  t.equal(st.deadlineRuns, 1);
  s.stop();
});

for (const jump of [YEAR, -YEAR]) {
  t.test(`wall clock jump ${jump > 0 ? '+' : '-'}1 year: no misfire, no double run`, async (t) => {
    const { clock, s } = setup();
    const interval: number[] = [];
    const cron: number[] = [];
    s.register({ name: 'every-10m', intervalMs: 10 * MIN, run: async () => void interval.push(clock.monotonic()) });
    s.register({ name: 'quarter-hourly', cron: '*/15 * * * *', run: async () => void cron.push(clock.monotonic()) });
    s.start();
    await step(clock, 60 * MIN, 7_000);
    t.equal(interval.length, 6);
    t.equal(cron.length, 3, ':15 :30 :45 (00:00 was the start instant)');
    clock.jumpWall(jump + 7 * MIN); // lands mid-quarter in another year
    await step(clock, 60 * MIN, 7_000);
    t.equal(interval.length, 12, 'interval cadence unchanged');
    t.same(interval.map((m, i) => m - (i + 1) * 10 * MIN), new Array(12).fill(0), 'each interval run exactly on its monotonic time');
    t.equal(cron.length, 7, 'then :15 :30 :45 :00 of the new hour: no catch-up burst, no repeat');
    const gaps = cron.slice(1).map((m, i) => m - cron[i]!);
    t.ok(gaps.every((g) => g >= 59_000), `no double run (gaps ${gaps.map((g) => g / MIN).join(',')} min)`);
    s.stop();
  });
}

t.test('cron matches one minute once even if the wall clock steps back a few seconds', async (t) => {
  const { clock, s } = setup();
  const runs: number[] = [];
  s.register({ name: 'hourly', cron: '0 * * * *', run: async () => void runs.push(clock.now()) });
  s.start();
  await step(clock, 61 * MIN, 5_000);
  t.equal(runs.length, 1);
  clock.jumpWall(-(clock.now() % (60 * MIN)) - 20_000); // back to 20 s before the hour again
  await step(clock, 2 * MIN, 5_000);
  t.equal(runs.length, 2, 'the hour matches again after the step back (new occurrence) ...');
  clock.jumpWall(-30_000);
  await step(clock, 40_000, 5_000);
  t.equal(runs.length, 2, '... but not twice within the same monotonic minute');
  t.throws(() => s.register({ name: 'bad', cron: 'every day', run: async () => undefined }), { code: 'CONFIG_INVALID' });
  s.stop();
});

t.test('update lock: training and model swap never overlap', async (t) => {
  const { clock, s } = setup();
  let inside = 0;
  let maxInside = 0;
  const releases: Array<() => void> = [];
  const body = (): Promise<void> => {
    inside += 1;
    maxInside = Math.max(maxInside, inside);
    return new Promise<void>((r) => releases.push(() => { inside -= 1; r(); }));
  };
  s.register({ name: 'train-head', intervalMs: 10 * MIN, updateLock: true, run: body });
  s.register({ name: 'model-swap', intervalMs: 10 * MIN, updateLock: true, run: body });
  s.start();
  await step(clock, 10 * MIN);
  t.equal(inside, 1, 'only one of the two started');
  t.equal(s.lock.heldBy(), 'train-head');
  t.equal(s.check('model-swap').reason, 'locked');
  const external = s.withUpdateLock('manual-swap', body);
  await t.rejects(s.lock.tryRun('other', () => undefined), { code: 'SCHEDULER_LOCKED' });
  releases.shift()!();
  await flush();
  t.equal(inside, 1, 'the waiting withUpdateLock caller got it next');
  releases.shift()!();
  await external;
  await flush();
  t.equal(inside, 1, 'then the deferred model swap ran');
  t.equal(s.lock.heldBy(), 'model-swap');
  releases.shift()!();
  await flush();
  t.equal(maxInside, 1);
  t.equal(s.stats().find((x) => x.name === 'model-swap')!.skipped.locked, 1);
  s.stop();
});

t.test('runNow gates event-driven work; register rejects duplicates and bad cadence', async (t) => {
  const { env, s } = setup();
  let n = 0;
  s.register({ name: 'signals', minMode: 'normal', run: async () => void (n += 1) });
  t.equal(await s.runNow('signals'), true);
  env.mode = 'survival';
  t.equal(await s.runNow('signals'), false);
  t.equal(n, 1);
  t.equal(s.stats()[0]!.skipped.mode, 1);
  t.throws(() => s.register({ name: 'signals', run: async () => undefined }));
  t.throws(() => s.register({ name: 'x', intervalMs: 0, run: async () => undefined }), { code: 'CONFIG_INVALID' });
  t.throws(() => s.check('nope'));
});

t.test('a fixed (non-adaptive) scheduler ignores mode, budget and cadence', async (t) => {
  const { clock, env, s } = setup({ adaptive: false });
  env.mode = 'survival';
  env.budget = -50;
  let n = 0;
  s.register({ name: 'train', intervalMs: 30 * MIN, cadence: 'sync', minMode: 'surplus', run: async () => void (n += 1) });
  s.start();
  t.equal(s.cadenceFor('sync'), 1);
  await step(clock, 120 * MIN);
  t.equal(n, 4);
  s.stop();
});
