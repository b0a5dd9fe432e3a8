import type { Command } from 'commander';
import type { EnergyReading } from '../../energy/reading.js';
import { H3lixError } from '../../errors.js';
import { systemClock } from '../../util/clock.js';
import { createLogger } from '../../util/logger.js';
import { openEnergySource } from '../../../firmware-bridge/src/source/open.js';
import { ExitCode } from '../exit-codes.js';
import { parsePositiveInt, parsePositiveNumber, writeLine, type CliContext } from '../context.js';

interface WatchOptions {
  source: string;
  count?: number;
  json?: boolean;
  verbose?: boolean;
  timeout?: number;
}

/** Find the `energy` parent command another module may have registered, or create it. */
export function energyParent(program: Command): Command {
  return program.commands.find((c) => c.name() === 'energy') ?? program.command('energy').description('solar/battery energy: watch a firmware-bridge source');
}

/** One human-readable line per reading. */
export function formatReading(r: EnergyReading): string {
  const parts = [new Date(r.time).toISOString(), `batt ${r.batteryVoltage.toFixed(2)} V ${r.batteryCurrent >= 0 ? '+' : ''}${r.batteryCurrent.toFixed(2)} A`];
  if (r.soc !== undefined) parts.push(`soc ${(r.soc * 100).toFixed(1)}%`);
  if (r.pvVoltage !== undefined || r.pvPower !== undefined) parts.push(`pv ${r.pvVoltage?.toFixed(2) ?? '?'} V ${r.pvPower?.toFixed(1) ?? '?'} W`);
  if (r.loadPower !== undefined) parts.push(`load ${r.loadPower.toFixed(1)} W`);
  return parts.join('  ');
}

/** `h3lix energy watch --source URI [--count N] [--json] [--verbose] [--timeout S]`. */
export function registerEnergyWatchCommands(program: Command, ctx: CliContext): void {
  energyParent(program)
    .command('watch')
    .description('print readings from a serial energy source (vedirect:PATH, mcu:PATH, modbus-epever:PATH?unit=1, modbus-renogy:PATH, tcp://HOST:PORT?protocol=...)')
    .requiredOption('-s, --source <uri>', 'source URI, e.g. vedirect:/dev/ttyUSB0 or tcp://10.0.0.5:4001?protocol=vedirect')
    .option('-n, --count <n>', 'exit 0 after this many readings', parsePositiveInt('--count'))
    .option('--json', 'one JSON object (an EnergyReading: SI units, time in ms) per line')
    .option('-v, --verbose', 'show every rejected frame with its reason on stderr')
    .option('--timeout <seconds>', 'give up (exit 69) if --count readings have not arrived by then', parsePositiveNumber('--timeout', 0.1))
    .action(async (opts: WatchOptions) => {
      const logger = createLogger(opts.verbose ? 'info' : 'warn', ctx.stderr);
      const source = openEnergySource(opts.source, { clock: systemClock, logger });
      let readings = 0;
      const rejects: Record<string, number> = {};
      let timer: ReturnType<typeof setTimeout> | undefined;
      let onSignal: (() => void) | undefined;
      const done = new Promise<void>((resolve, reject) => {
        source.events.on('reading', (r) => {
          if (opts.count !== undefined && readings >= opts.count) return;
          readings++;
          writeLine(ctx.stdout, opts.json ? JSON.stringify(r) : formatReading(r));
          if (opts.count !== undefined && readings >= opts.count) resolve();
        });
        source.events.on('reject', (r) => {
          rejects[r.reason] = (rejects[r.reason] ?? 0) + 1;
          if (opts.verbose) writeLine(ctx.stderr, `rejected: ${r.reason}: ${r.detail}`);
        });
        source.events.on('status', (s) => {
          const retry = s.retryInMs !== undefined ? `, retry in ${s.retryInMs} ms` : '';
          writeLine(ctx.stderr, `${opts.source}: ${s.state}${s.reason ? ` (${s.reason})` : ''}${retry}`);
        });
        if (opts.timeout !== undefined) {
          const secs = opts.timeout;
          timer = setTimeout(() => reject(new H3lixError('SERIAL_UNAVAILABLE', `${readings} of ${opts.count ?? 'requested'} readings within ${secs} s from ${opts.source}`, { retryable: true })), secs * 1000);
        }
        onSignal = () => resolve();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
      });
      source.start();
      try {
        await done;
      } finally {
        if (timer) clearTimeout(timer);
        if (onSignal) {
          process.removeListener('SIGINT', onSignal);
          process.removeListener('SIGTERM', onSignal);
        }
        await source.stop();
        const rej = Object.entries(rejects).map(([k, v]) => `${k}: ${v}`).join(', ');
        writeLine(ctx.stderr, `${readings} readings, ${Object.values(rejects).reduce((a, b) => a + b, 0)} rejected${rej ? ` (${rej})` : ''}`);
      }
      ctx.setExitCode(ExitCode.OK);
    });
}
