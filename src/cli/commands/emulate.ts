import type { Command } from 'commander';
import { systemClock } from '../../util/clock.js';
import { createLogger } from '../../util/logger.js';
import { Emulator, EMULATED_PROTOCOLS, type EmulatedProtocol } from '../../../firmware-bridge/src/emulator/emulator.js';
import { loadTraceCsv } from '../../../firmware-bridge/src/emulator/trace.js';
import { ExitCode } from '../exit-codes.js';
import { emulateFirmware, FIRMWARE_PROTOCOLS } from './emulate-firmware.js';
import { parsePositiveInt, parsePositiveNumber, untilSignalOrTimeout, UsageError, writeLine, type CliContext } from '../context.js';

interface EmulateOptions {
  protocol: string;
  pty?: string;
  device?: string;
  trace?: string;
  speed: number;
  seed: number;
  startHour: number;
  interval: number;
  duration?: number;
  nv?: string;
  json?: boolean;
}

/** `h3lix emulate --protocol vedirect|mcu|modbus-epever|modbus-renogy --pty PATH [--trace CSV] [--speed X]`. */
export function registerEmulateCommands(program: Command, ctx: CliContext): void {
  program
    .command('emulate')
    .description('play a solar day as a VE.Direct charger, companion MCU or Modbus charge controller on a socat pseudo-terminal (or a serial device)')
    .requiredOption('-p, --protocol <name>', `one of ${[...EMULATED_PROTOCOLS, ...FIRMWARE_PROTOCOLS].join(', ')} (mcu-qemu: the reference firmware under QEMU; mcu-host: its host build)`)
    .option('--pty <path>', 'create a pty pair with socat; consumers open this path (e.g. /tmp/ttyVE0)')
    .option('--device <path>', 'write to this existing serial device instead of a pty')
    .option('--trace <csv>', 'play PV power from a CSV (header: time,pv_w[,load_w]; time in seconds or HH:MM[:SS])')
    .option('--speed <x>', 'simulated seconds per real second', parsePositiveNumber('--speed', 0.001, 1e6), 1)
    .option('--seed <n>', 'cloud PRNG seed', parsePositiveInt('--seed', 0), 1)
    .option('--start-hour <h>', 'simulated start, hours after midnight', parsePositiveNumber('--start-hour', 0, 24), 10)
    .option('--interval <ms>', 'real ms between blocks/readings (VE.Direct devices send one block per 1000 ms)', parsePositiveInt('--interval', 10, 3_600_000), 1000)
    .option('--nv <file>', 'mcu-qemu: run the boot stage with A/B slots on this update-flash file (created with the built application in slot 0 when missing); it persists across runs')
    .option('--duration <seconds>', 'stop after this many real seconds (default: until SIGINT/SIGTERM)', parsePositiveNumber('--duration', 0.1))
    .option('--json', 'print the final summary as one JSON line')
    .action(async (opts: EmulateOptions) => {
      if ((FIRMWARE_PROTOCOLS as readonly string[]).includes(opts.protocol)) {
        if (!opts.pty || opts.device) throw new UsageError(`--protocol ${opts.protocol} needs --pty PATH (the firmware makes its own pty)`);
        if (opts.trace) throw new UsageError(`--trace is not supported with --protocol ${opts.protocol}: the firmware plays its own battery/PV model`);
        await emulateFirmware({ protocol: opts.protocol, pty: opts.pty, speed: opts.speed, duration: opts.duration, nv: opts.nv, json: opts.json, stdout: ctx.stdout, stderr: ctx.stderr });
        ctx.setExitCode(ExitCode.OK);
        return;
      }
      if (!(EMULATED_PROTOCOLS as readonly string[]).includes(opts.protocol)) throw new UsageError(`--protocol must be one of ${[...EMULATED_PROTOCOLS, ...FIRMWARE_PROTOCOLS].join(', ')}, got "${opts.protocol}"`);
      if (!opts.pty === !opts.device) throw new UsageError('give exactly one of --pty PATH or --device PATH');
      const trace = opts.trace ? loadTraceCsv(opts.trace) : undefined;
      const emulator = new Emulator({
        protocol: opts.protocol as EmulatedProtocol,
        pty: opts.pty,
        device: opts.device,
        speed: opts.speed,
        tickMs: opts.interval,
        model: { seed: opts.seed, startHour: opts.startHour, trace },
        clock: systemClock,
        logger: createLogger('warn', ctx.stderr),
      });
      await emulator.start();
      writeLine(ctx.stderr, `emulating ${opts.protocol} on ${emulator.path} (speed ${opts.speed}x, ${trace ? `trace ${opts.trace}` : `clear-sky model, seed ${opts.seed}`}); Ctrl-C to stop`);
      const progress = setInterval(() => {
        const s = emulator.state;
        if (!s) return;
        const hh = Math.floor((s.simSeconds / 3600) % 24).toString().padStart(2, '0');
        const mm = Math.floor((s.simSeconds / 60) % 60).toString().padStart(2, '0');
        writeLine(ctx.stderr, `sim ${hh}:${mm}  pv ${s.pvPower.toFixed(1)} W  batt ${s.batteryVoltage.toFixed(2)} V ${s.batteryCurrent.toFixed(2)} A  soc ${(s.soc * 100).toFixed(1)}%`);
      }, 10_000);
      await untilSignalOrTimeout(opts.duration);
      clearInterval(progress);
      await emulator.stop();
      const summary = { protocol: opts.protocol, path: emulator.path, blocks: emulator.blocks, simSeconds: emulator.state?.simSeconds, soc: emulator.state?.soc };
      writeLine(ctx.stdout, opts.json ? JSON.stringify(summary) : `stopped: ${opts.protocol} on ${emulator.path}`);
      ctx.setExitCode(ExitCode.OK);
    });
}
