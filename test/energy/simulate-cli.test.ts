import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from '../helpers/cli.js';

// The scenario documented in docs/energy.md: rpi-4 profile, 30 W panel, 100 Wh LiFePO4, 7 days from
// 2026-05-01 at 45° N with days 3 and 5 heavily clouded, one 300 s learning unit every 30 min.
t.test('simulate energy: adaptive never browns out and does >= 90% of the work; fixed browns out', async (t) => {
  const dir = t.testdir();
  const plot = join(dir, 'sim.svg');
  const r = await cli(['simulate', 'energy', '--days', '7', '--board', 'rpi-4', '--panel-watts', '30', '--battery-wh', '100', '--cloudy-days', '3,5', '--seed', '1', '--plot', plot, '--json']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /adaptive day 7\/7/);
  const lines = r.stdout.trim().split('\n');
  const out = JSON.parse(lines[lines.length - 1]!) as {
    adaptive: { brownouts: number; minSoc: number; workDone: number; workAttempted: number; energyForLearningWh: number };
    fixed: { brownouts: number; minSoc: number; workDone: number; workAttempted: number };
    days: number; board: string; cloudyDays: number[];
  };
  t.equal(out.days, 7);
  t.equal(out.board, 'rpi-4');
  t.same(out.cloudyDays, [3, 5]);
  t.equal(out.adaptive.brownouts, 0, 'adaptive never browns out');
  t.ok(out.adaptive.minSoc > 0.05, `adaptive min SOC ${out.adaptive.minSoc} above the cut-off`);
  t.ok(out.fixed.brownouts >= 1, `fixed browns out (${out.fixed.brownouts})`);
  t.equal(out.fixed.workAttempted, 7 * 48 - 1);
  t.ok(out.adaptive.workDone >= 0.9 * out.fixed.workAttempted, `adaptive ${out.adaptive.workDone} >= 90% of ${out.fixed.workAttempted}`);
  t.ok(out.adaptive.energyForLearningWh > 0);
  const svg = readFileSync(plot, 'utf8');
  t.match(svg, /^<svg /);
  t.match(svg, /adaptive: brownouts 0/);
  t.match(svg, /<polyline /);
});

t.test('simulate energy: trace CSV, usage and board errors', async (t) => {
  const dir = t.testdir();
  const csv = join(dir, 'pv.csv');
  writeFileSync(csv, 'hour,pv_watts\n0,0\n6,0\n9,12\n12,25\n15,12\n18,0\n24,0\n');
  const ok = await cli(['simulate', 'energy', '--days', '1', '--trace', csv, '--board', 'rpi-zero-2w', '--plot', join(dir, 'a.svg'), '--json']);
  t.equal(ok.code, 0, ok.stderr);
  const last = JSON.parse(ok.stdout.trim().split('\n').pop()!) as { pvHarvestWh: number; batteryWh: number };
  t.ok(Math.abs(last.pvHarvestWh - 147) < 2, `trace harvest ${last.pvHarvestWh} ≈ 147 Wh (area under the trace)`);
  t.equal(last.batteryWh, 22, 'battery default from the board profile');
  writeFileSync(csv, 'when,power\n1,2\n');
  const bad = await cli(['simulate', 'energy', '--days', '1', '--trace', csv, '--plot', join(dir, 'b.svg')]);
  t.equal(bad.code, 65);
  t.match(bad.stderr, /header needs a time column/);
  const board = await cli(['simulate', 'energy', '--board', 'pi-9000']);
  t.equal(board.code, 78);
  t.match(board.stderr, /BOARD_UNKNOWN.*rpi-4/);
  const usage = await cli(['simulate', 'energy', '--days', '0']);
  t.equal(usage.code, 64);
  const cloudy = await cli(['simulate', 'energy', '--cloudy-days', 'mon']);
  t.equal(cloudy.code, 64);
});
