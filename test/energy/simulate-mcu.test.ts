import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from '../helpers/cli.js';
import { defaultConfig } from '../../src/config/load.js';
import { loadBoardProfile } from '../../src/energy/board-profile.js';
import { simulateEnergy } from '../../src/energy/sim/simulate.js';

interface Summary { brownouts: number; workDone: number; sleeps: number; mcuShutdowns: number; plannedDowntimeHours: number; brownoutDowntimeHours: number; uptimePct: number; bootEnergyWh: number }
const last = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!) as { adaptive: Summary; fixed: Summary; mcu: boolean; workVsFixedPct: number; days: number; pvHarvestWh: number };

// The default scenario: rpi-4, 30 W, 100 Wh, 7 days, seeded cloudy days 1, 4, 5.
t.test('default 7-day scenario: planned sleep gives 0 brownouts and >= 90 % of the fixed schedule\'s work; without the MCU it browns out', async (t) => {
  const dir = t.testdir();
  const withMcu = await cli(['simulate', 'energy', '--days', '7', '--board', 'rpi-4', '--plot', join(dir, 'a.svg'), '--json']);
  t.equal(withMcu.code, 0, withMcu.stderr);
  const a = last(withMcu.stdout);
  t.equal(a.mcu, true);
  t.equal(a.adaptive.brownouts, 0, 'every off period planned');
  t.equal(a.adaptive.brownoutDowntimeHours, 0);
  t.ok(a.adaptive.sleeps >= 1 && a.adaptive.plannedDowntimeHours > 0, `${a.adaptive.sleeps} planned sleeps, ${a.adaptive.plannedDowntimeHours} h`);
  t.equal(a.adaptive.mcuShutdowns, 0, 'the planner, not the MCU safety net, did it');
  t.ok(a.adaptive.bootEnergyWh > 0, 'boots cost energy');
  t.ok(a.adaptive.workDone >= 0.9 * a.fixed.workDone, `work ${a.adaptive.workDone} vs fixed ${a.fixed.workDone} (${a.workVsFixedPct} %)`);
  t.ok(a.fixed.brownouts >= 1, 'the fixed baseline (no MCU) browns out');
  const noMcu = await cli(['simulate', 'energy', '--days', '7', '--board', 'rpi-4', '--no-mcu', '--plot', join(dir, 'b.svg'), '--json']);
  const b = last(noMcu.stdout);
  t.equal(b.mcu, false);
  t.ok(b.adaptive.brownouts >= 1, `negative control: with --no-mcu the adaptive schedule browns out (${b.adaptive.brownouts})`);
  t.equal(b.adaptive.sleeps, 0);
});

t.test('planner off: the MCU\'s own low-battery shutdown still prevents the brownout', async (t) => {
  const config = defaultConfig().energy;
  const r = await simulateEnergy({ days: 3, board: loadBoardProfile('rpi-4'), panelWatts: 30, batteryWh: 100, seed: 1, cloudyDays: [1, 2], config: { ...config, sleep: { ...config.sleep, enabled: false } } });
  t.equal(r.adaptive.brownouts, 0);
  t.ok(r.adaptive.mcuShutdowns >= 1, `${r.adaptive.mcuShutdowns} MCU shutdowns`);
  const off = await simulateEnergy({ days: 3, board: loadBoardProfile('rpi-4'), panelWatts: 30, batteryWh: 100, seed: 1, cloudyDays: [1, 2], mcu: false });
  t.ok(off.adaptive.brownouts >= 1, 'the same days without an MCU brown out');
});

t.test('--trace with ISO-8601 / epoch-ms times is played as recorded; gaps and disorder are errors', async (t) => {
  const dir = t.testdir();
  const start = Date.UTC(2025, 5, 1);
  const rows = ['time,pv_watts'];
  for (let m = 0; m <= 3 * 1440; m += 10) {
    const h = (m % 1440) / 60;
    const day = Math.floor(m / 1440);
    const w = h > 6 && h < 18 ? 20 * Math.sin((Math.PI * (h - 6)) / 12) * (day === 1 ? 0.1 : 1) : 0; // day 2 clouded
    rows.push(`${new Date(start + m * 60_000).toISOString()},${w.toFixed(3)}`);
  }
  const csv = join(dir, 'rec.csv');
  writeFileSync(csv, rows.join('\n'));
  const r = await cli(['simulate', 'energy', '--trace', csv, '--board', 'rpi-4', '--plot', join(dir, 'r.svg'), '--json']);
  t.equal(r.code, 0, r.stderr);
  const out = last(r.stdout);
  t.equal(out.days, 3, 'length from the trace');
  const expected = (20 * 12 * 2) / Math.PI * (1 + 0.1 + 1); // ∫ of the half-sines
  t.ok(Math.abs(out.pvHarvestWh - expected) < 3, `harvest ${out.pvHarvestWh} Wh ≈ ${expected.toFixed(1)} Wh: the clouded day is not folded into a repeating day`);
  const epoch = join(dir, 'epoch.csv');
  writeFileSync(epoch, rows.map((l, i) => (i === 0 ? l : `${Date.parse(l.split(',')[0]!)},${l.split(',')[1]}`)).join('\n'));
  const e = await cli(['simulate', 'energy', '--trace', epoch, '--plot', join(dir, 'e.svg'), '--json']);
  t.equal(e.code, 0, e.stderr);
  t.equal(last(e.stdout).pvHarvestWh, out.pvHarvestWh, 'epoch ms reads the same');
  const gap = join(dir, 'gap.csv');
  writeFileSync(gap, [...rows.slice(0, 100), ...rows.slice(130)].join('\n'));
  const g = await cli(['simulate', 'energy', '--trace', gap, '--plot', join(dir, 'g.svg')]);
  t.equal(g.code, 65);
  t.match(g.stderr, /line 101: gap of 5\.17 h after/);
  const back = join(dir, 'back.csv');
  writeFileSync(back, [rows[0], rows[2], rows[1], ...rows.slice(3)].join('\n'));
  const bk = await cli(['simulate', 'energy', '--trace', back, '--plot', join(dir, 'k.svg')]);
  t.equal(bk.code, 65);
  t.match(bk.stderr, /line 3: time .* does not increase/);
  const long = await cli(['simulate', 'energy', '--trace', csv, '--days', '5', '--plot', join(dir, 'l.svg')]);
  t.equal(long.code, 64);
  t.match(long.stderr, /longer than the trace \(3\.00 days/);
});
