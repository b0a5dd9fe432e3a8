import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { H3lixError } from '../../errors.js';
import { loadBoardProfile } from '../../energy/board-profile.js';
import { simulateEnergy, type StrategyResult } from '../../energy/sim/simulate.js';
import { pvFromTraceCsv } from '../../energy/sim/solar.js';
import { simulationSvg } from '../../energy/sim/svg.js';
import { ExitCode } from '../exit-codes.js';
import { registerSimulateFleet } from './simulate-fleet.js';
import { UsageError, parsePositiveInt, parsePositiveNumber, writeLine, type CliContext } from '../context.js';

interface SimulateOpts {
  days?: number;
  trace?: string;
  board: string;
  panelWatts: number;
  batteryWh?: number;
  seed: number;
  latitude: number;
  start: string;
  cloudyDays?: string;
  unitCpuSeconds: number;
  plot: string;
  json?: boolean;
  mcu: boolean;
}

function parseCloudy(value: string): string {
  if (value !== 'none' && !/^\d+(,\d+)*$/.test(value.trim())) throw new UsageError(`--cloudy-days must be a comma-separated list of day numbers or "none", got "${value}"`);
  return value.trim();
}

/** `h3lix simulate energy`: the real scheduler and policy on a ManualClock against a battery/PV model. */
export function registerSimulateCommands(program: Command, ctx: CliContext): void {
  const simulate = program.command('simulate').description('offline simulations of runtime subsystems');
  registerSimulateFleet(simulate, ctx);
  simulate
    .command('energy')
    .description('simulate days of solar/battery operation: energy-adaptive scheduling vs a fixed schedule running the same learning work (real policy and scheduler, accelerated clock)')
    .option('--days <n>', 'days to simulate (default 7; with a recorded --trace: the whole trace)', parsePositiveInt('--days', 1, 3660))
    .option('--trace <csv>', 'PV trace CSV replacing the clear-sky model: time (ISO-8601 or epoch ms: played as recorded, gaps are an error) or hour/minute (a daily profile, repeated), and pvPower/pv_watts')
    .option('--board <name>', 'board profile from devices/profiles', 'rpi-4')
    .option('--panel-watts <w>', 'panel rating, W', parsePositiveNumber('--panel-watts', 0.1, 100_000), 30)
    .option('--battery-wh <wh>', 'battery capacity, Wh (default: the board profile)', parsePositiveNumber('--battery-wh', 1, 1_000_000))
    .option('--seed <n>', 'random seed (weather, sensor noise)', parsePositiveInt('--seed', 0, 2 ** 31), 1)
    .option('--latitude <deg>', 'latitude for the clear-sky model, degrees (negative = south)', parsePositiveNumber('--latitude', -66, 66), 45)
    .option('--start <date>', 'start date (UTC midnight = solar midnight)', '2026-05-01')
    .option('--cloudy-days <list>', 'heavily clouded days, e.g. 3,5 or none (default: seeded, ~2 in 7)', parseCloudy)
    .option('--unit-cpu-seconds <s>', 'CPU seconds (all cores) per learning unit; one unit arrives every 30 min', parsePositiveNumber('--unit-cpu-seconds', 1, 1800), 300)
    .option('--plot <path>', 'write an SVG plot here', './energy-sim.svg')
    .option('--no-mcu', "no companion MCU: the adaptive run never sleeps (today's behaviour)")
    .option('--json', 'print the result as one JSON object (last stdout line)')
    .action(async (opts: SimulateOpts) => {
      const board = loadBoardProfile(opts.board);
      let startMs = Date.parse(`${opts.start}T00:00:00Z`);
      if (!Number.isFinite(startMs)) throw new UsageError(`--start must be a date like 2026-05-01, got "${opts.start}"`);
      const cloudyDays = opts.cloudyDays === undefined ? undefined : opts.cloudyDays === 'none' ? [] : opts.cloudyDays.split(',').map(Number);
      const trace = opts.trace ? pvFromTraceCsv(opts.trace) : undefined;
      const pv = trace?.pv;
      let days = opts.days ?? 7;
      if (trace?.span) {
        // a recorded trace is played as recorded: it sets the start, and by default the length
        startMs = trace.span.startMs;
        const traceDays = (trace.span.endMs - trace.span.startMs) / 86_400_000;
        if (opts.days === undefined) days = Math.floor(traceDays);
        if (days < 1) throw new H3lixError('DATA_INVALID', `${opts.trace}: the trace covers ${traceDays.toFixed(2)} days; a recorded trace needs at least one whole day`);
        if (days > traceDays + 1e-9) throw new UsageError(`--days ${days} is longer than the trace (${traceDays.toFixed(2)} days from ${new Date(trace.span.startMs).toISOString()})`);
      }
      const batteryWh = opts.batteryWh ?? board.battery.capacityWh;
      const started = performance.now();
      const result = await simulateEnergy({
        days, board, panelWatts: opts.panelWatts, batteryWh, seed: opts.seed, latitudeDeg: opts.latitude, startMs, cloudyDays, pv,
        unitCpuSeconds: opts.unitCpuSeconds, mcu: opts.mcu,
        onProgress: (s, day) => writeLine(ctx.stderr, `simulate: ${s} day ${day}/${days}`),
      });
      try {
        writeFileSync(opts.plot, simulationSvg(result));
      } catch (err) {
        throw new H3lixError('STORE_IO', `cannot write plot ${opts.plot}: ${(err as Error).message}`, { cause: err });
      }
      writeLine(ctx.stderr, `simulate: done in ${((performance.now() - started) / 1000).toFixed(1)} s, plot ${opts.plot}`);
      const summary = (s: StrategyResult) => ({
        brownouts: s.brownouts,
        minSoc: Number(s.minSoc.toFixed(4)),
        workDone: s.workDone,
        workAttempted: s.workAttempted,
        energyForLearningWh: Number(s.energyForLearningWh.toFixed(2)),
        syncRuns: s.syncRuns,
        downtimeHours: Number(s.downtimeHours.toFixed(2)),
        plannedDowntimeHours: Number(s.plannedDowntimeHours.toFixed(2)),
        brownoutDowntimeHours: Number(s.brownoutDowntimeHours.toFixed(2)),
        sleeps: s.sleeps,
        mcuShutdowns: s.mcuShutdowns,
        bootEnergyWh: Number(s.bootEnergyWh.toFixed(2)),
        uptimePct: Number(s.uptimePct.toFixed(2)),
        modeHours: Object.fromEntries(Object.entries(s.modeHours).map(([k, v]) => [k, Number(v.toFixed(2))])),
      });
      const out = {
        adaptive: summary(result.adaptive),
        fixed: summary(result.fixed),
        days: result.days,
        board: result.board,
        panelWatts: result.panelWatts,
        batteryWh: result.batteryWh,
        seed: result.seed,
        latitude: result.latitudeDeg,
        cloudyDays: opts.trace ? [] : result.cloudyDays,
        trace: opts.trace ?? null,
        mcu: result.mcu,
        workVsFixedPct: result.fixed.workDone > 0 ? Number(((100 * result.adaptive.workDone) / result.fixed.workDone).toFixed(1)) : null,
        pvHarvestWh: Number(result.adaptive.pvHarvestWh.toFixed(1)),
        plot: opts.plot,
      };
      const rows: string[][] = [['strategy', 'brownouts', 'min SOC', 'learning units', 'learning Wh', 'syncs', 'sleeps', 'planned off h', 'brownout off h', 'uptime']];
      for (const [name, s] of [[result.mcu ? 'adaptive+mcu' : 'adaptive', out.adaptive], ['fixed', out.fixed]] as const) {
        rows.push([name, String(s.brownouts), `${(s.minSoc * 100).toFixed(1)}%`, `${s.workDone}/${s.workAttempted}`, s.energyForLearningWh.toFixed(1), String(s.syncRuns), String(s.sleeps), s.plannedDowntimeHours.toFixed(1), s.brownoutDowntimeHours.toFixed(1), `${s.uptimePct.toFixed(1)}%`]);
      }
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      const weather = opts.trace ? `trace ${opts.trace}${trace?.span ? ` from ${new Date(startMs).toISOString().slice(0, 10)}` : ' (daily profile)'}` : `${result.panelWatts} W panel, cloudy days: ${result.cloudyDays.join(',') || 'none'}`;
      writeLine(ctx.stdout, `${result.board}, ${result.batteryWh} Wh battery, ${result.days} days, ${weather}, PV ${out.pvHarvestWh} Wh`);
      for (const r of rows) writeLine(ctx.stdout, r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
      if (opts.json) writeLine(ctx.stdout, JSON.stringify(out));
      ctx.setExitCode(ExitCode.OK);
    });
}
