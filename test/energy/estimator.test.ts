import t from 'tap';
import { EnergyEstimator } from '../../src/energy/estimator.js';
import { PvForecaster } from '../../src/energy/forecast.js';
import { voltageFromSoc, socFromVoltage } from '../../src/energy/ocv.js';
import { energyBudgetWh } from '../../src/energy/budget.js';
import { EnergyHistory, type EnergyHistoryPoint } from '../../src/energy/history.js';
import type { EnergyReading } from '../../src/energy/reading.js';

const MIN = 60_000;
const reading = (time: number, v: number, i: number, extra: Partial<EnergyReading> = {}): EnergyReading => ({ time, source: 'test', batteryVoltage: v, batteryCurrent: i, ...extra });

t.test('OCV curve round-trips', (t) => {
  for (const soc of [0.05, 0.25, 0.5, 0.75, 0.95]) t.ok(Math.abs(socFromVoltage(voltageFromSoc(soc, 'lifepo4', 12.8), 'lifepo4', 12.8) - soc) < 1e-9);
  t.equal(socFromVoltage(20, 'li-ion', 3.7), 1);
  t.equal(socFromVoltage(1, 'lead-acid', 12), 0);
  t.end();
});

t.test('coulomb counting integrates current over monotonic time', (t) => {
  // 100 Wh at 12.8 V = 7.8125 Ah. Start anchored from voltage at 50 %.
  const est = new EnergyEstimator({ capacityWh: 100, nominalVoltage: 12.8, chemistry: 'lifepo4', restMs: 10 * 3_600_000 });
  const v50 = voltageFromSoc(0.5, 'lifepo4', 12.8);
  let s = est.ingest(reading(0, v50, -1), 0);
  t.equal(s.socSource, 'voltage');
  t.ok(Math.abs(s.soc - 0.5) < 1e-6);
  // Discharge 1 A for 2 h in 1-minute readings: −2 Ah = −25.6 %.
  for (let m = 1; m <= 120; m++) s = est.ingest(reading(m * MIN, 12.9, -1), m * MIN);
  t.equal(s.socSource, 'coulomb');
  t.ok(Math.abs(s.soc - (0.5 - 2 / 7.8125)) < 1e-6, `soc ${s.soc}`);
  // A wall-clock jump of a year in the reading timestamps changes nothing: monotonic time drives it.
  const before = s.soc;
  s = est.ingest(reading(365 * 86_400_000, 12.9, 0.5), 121 * MIN);
  t.ok(Math.abs(s.soc - (before + ((-1 + 0.5) / 2) * (1 / 60) / 7.8125)) < 1e-9);
  // A gap longer than maxGapMs is not integrated across.
  const held = s.soc;
  s = est.ingest(reading(0, 12.9, 5), 200 * MIN);
  t.equal(s.soc, held);
  t.end();
});

t.test('SOC from the source wins; rest re-anchors from voltage', (t) => {
  const est = new EnergyEstimator({ capacityWh: 100, nominalVoltage: 12.8, chemistry: 'lifepo4', restMs: 30 * MIN, halfLifeMs: MIN });
  t.equal(est.ingest(reading(0, 13, 2, { soc: 0.42 }), 0).soc, 0.42);
  t.equal(est.state()!.socSource, 'source');
  // Source stops sending SOC; we count from 0.42 and drift (sensor says 0 A but true SOC is 80 %).
  const v80 = voltageFromSoc(0.8, 'lifepo4', 12.8);
  let s = est.ingest(reading(MIN, v80, 0.05), MIN);
  t.equal(s.socSource, 'coulomb');
  t.ok(s.soc < 0.45);
  const anchoredAt: number[] = [];
  for (let m = 2; m <= 40; m++) {
    s = est.ingest(reading(m * MIN, v80, 0.05), m * MIN);
    if (s.socSource === 'voltage') anchoredAt.push(m);
  }
  t.same(anchoredAt, [31], 'at rest for 30 min → re-anchored once, then counting resumes from the anchor');
  t.ok(Math.abs(s.soc - 0.8) < 0.01, `soc ${s.soc}`);
  t.end();
});

t.test('EWMA smooths noisy voltage', (t) => {
  const est = new EnergyEstimator({ capacityWh: 100, nominalVoltage: 12.8, chemistry: 'lifepo4', halfLifeMs: 2 * MIN });
  let s = est.ingest(reading(0, 13, 0), 0);
  for (let m = 1; m <= 60; m++) s = est.ingest(reading(m * MIN, m % 2 ? 13.4 : 12.6, 0), m * MIN);
  t.ok(Math.abs(s.batteryVoltage - 13) < 0.15, `smoothed ${s.batteryVoltage}`);
  t.end();
});

t.test('PV forecast from the time-of-day profile and today\'s weather factor', (t) => {
  const f = new PvForecaster();
  const day = 86_400_000;
  const bell = (ms: number): number => {
    const h = (ms % day) / 3_600_000;
    return h > 6 && h < 18 ? 20 * Math.sin((Math.PI * (h - 6)) / 12) : 0;
  };
  // Before a full day: the bell fallback scaled by the peak seen.
  const fresh = new PvForecaster();
  fresh.observe(12 * 3_600_000, 20);
  const early = fresh.forecastWh(12 * 3_600_000, 6);
  t.ok(early > 60 && early < 110, `bell fallback ${early}`);
  // Two clear days of trace.
  for (let m = 0; m < 2 * 1440; m++) f.observe(day + m * MIN, bell(day + m * MIN));
  t.equal(f.days(), 1);
  const t0 = 3 * day; // midnight of day 3: forecast the next 24 h ≈ one clear day (2·20·12/π ≈ 153 Wh)
  f.observe(t0, 0);
  t.equal(f.days(), 2);
  const clear = f.forecastWh(t0, 24);
  t.ok(Math.abs(clear - 152.8) < 5, `clear-day forecast ${clear}`);
  // Day 3 is cloudy (25 %): by 11:00 the factor is ~0.25 and the rest-of-day forecast drops.
  for (let m = 1; m <= 11 * 60; m++) f.observe(t0 + m * MIN, 0.25 * bell(t0 + m * MIN));
  const at11 = t0 + 11 * 3_600_000;
  t.ok(Math.abs(f.factor(at11) - 0.25) < 0.03, `factor ${f.factor(at11)}`);
  const cloudy = f.forecastWh(at11, 7);
  let clearRest = 0;
  for (let m = 0; m < 7 * 60; m += 15) clearRest += bell(at11 + (m + 7.5) * MIN) * 0.25;
  t.ok(cloudy > 0.25 * clearRest && cloudy < 0.6 * clearRest, `cloudy ${cloudy} vs clear ${clearRest}`);
  // At night the factor is neutral.
  t.equal(f.factor(t0 + 2 * 3_600_000), 1);
  t.end();
});

t.test('budget pays for the coming night before any deferrable work', (t) => {
  const night = new Array(48).fill(0); // 12 h of 15-min slots with no PV
  const b = energyBudgetWh({ soc: 0.7, reserveSoc: 0.35, capacityWh: 100, forecastSlotsWh: night, slotHours: 0.25, idleWatts: 2 });
  t.ok(Math.abs(b - (35 - 24)) < 1e-9);
  const sunny = new Array(48).fill(5); // 20 W average: covers the idle load
  t.equal(energyBudgetWh({ soc: 0.7, reserveSoc: 0.35, capacityWh: 100, forecastSlotsWh: sunny, slotHours: 0.25, idleWatts: 2 }), 35);
  t.end();
});

t.test('history is bounded and flushes to a store, keeping points on failure', async (t) => {
  const written: EnergyHistoryPoint[] = [];
  let fail = true;
  const h = new EnergyHistory({
    maxPoints: 3,
    store: {
      append: (pts) => {
        if (fail) throw new Error('disk full');
        written.push(...pts);
      },
      load: (since) => written.filter((p) => p.time >= since),
    },
  });
  for (let i = 0; i < 5; i++) h.add({ time: i, soc: 0.5, batteryVoltage: 13, batteryCurrent: 0, pvPower: 0, loadPower: 2, mode: 'normal' });
  t.equal(h.size(), 3);
  t.same(h.since(3).map((p) => p.time), [3, 4]);
  await t.rejects(h.flush(), /disk full/);
  fail = false;
  t.equal(await h.flush(), 5);
  t.equal(written.length, 5);
  const h2 = new EnergyHistory({ store: { append: () => undefined, load: (since) => written.filter((p) => p.time >= since) } });
  t.equal((await h2.restore(2)).length, 3);
  t.equal(h2.size(), 3);
});
