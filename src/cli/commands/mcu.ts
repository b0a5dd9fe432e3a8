import type { Command } from 'commander';
import type { PowerOffUntil } from '../../../firmware-bridge/src/mcu/power-messages.js';
import { ExitCode } from '../exit-codes.js';
import { parsePositiveInt, parsePositiveNumber, UsageError, writeLine, type CliContext } from '../context.js';
import { connectMcu, type McuConnection } from './mcu-connect.js';
import { registerMcuFlashCommands } from './mcu-flash.js';

interface PortOpts {
  port: string;
  json?: boolean;
}

interface PowerOffOpts extends PortOpts {
  for?: number;
  until?: string;
  soc?: number;
  voltage?: number;
  grace: number;
  halt: number;
  maxOff: number;
  confirm?: boolean;
}

async function withMcu<T>(port: string, fn: (m: McuConnection) => Promise<T>): Promise<T> {
  const m = await connectMcu(port);
  try {
    return await fn(m);
  } finally {
    await m.close();
  }
}

function untilFrom(o: PowerOffOpts): PowerOffUntil {
  const given = [o.for, o.until, o.soc, o.voltage].filter((v) => v !== undefined);
  if (given.length !== 1) throw new UsageError('give exactly one of --for SECONDS, --until ISO-8601, --soc PERCENT, --voltage VOLTS');
  if (o.for !== undefined) return { kind: 'duration', seconds: o.for };
  if (o.until !== undefined) {
    const ms = Date.parse(o.until);
    if (!Number.isFinite(ms)) throw new UsageError(`--until must be an ISO-8601 time, got "${o.until}"`);
    return { kind: 'wall', epochSeconds: Math.floor(ms / 1000) };
  }
  if (o.soc !== undefined) return { kind: 'soc', perMille: Math.round(o.soc * 10) };
  return { kind: 'voltage', milliVolts: Math.round(o.voltage! * 1000) };
}

/** `h3lix mcu status|set-time|watchdog|power-off`: talk to the companion MCU's power protocol. */
export function registerMcuCommands(program: Command, ctx: CliContext): void {
  const mcu = program.command('mcu').description('the companion MCU: status and wake reason, clock, watchdog, planned power-off, signed firmware updates (firmware-bridge/README.md)');
  registerMcuFlashCommands(mcu, ctx);
  const port = (c: Command) => c.requiredOption('--port <path>', 'serial device of the MCU (e.g. /dev/ttyACM0, or the pty of h3lix emulate --protocol mcu-qemu)').option('--json', 'print one JSON object');
  port(mcu.command('status').description('firmware info, wall clock, wake reason, power state, watchdog, rejected frames')).action(async (o: PortOpts) => {
    const out = await withMcu(o.port, async (m) => ({ info: await m.client.getInfo(), status: await m.power.status() }));
    if (o.json) writeLine(ctx.stdout, JSON.stringify(out));
    else {
      const s = out.status;
      writeLine(ctx.stdout, `${out.info.name} firmware ${out.info.firmware} (${out.info.sensor}), up ${out.info.uptimeSeconds} s`);
      writeLine(ctx.stdout, `clock ${s.wallSeconds ? new Date(s.wallSeconds * 1000).toISOString() : 'not set'}, power ${s.powerState}, woken by ${s.wakeReason} after ${s.lastSleepSeconds} s off, ${s.powerOns} power-ons`);
      writeLine(ctx.stdout, `watchdog ${s.watchdogTimeoutSeconds ? `${s.watchdogTimeoutSeconds} s (off ${s.watchdogOffSeconds} s)` : 'off'}, ${s.rejectedFrames} rejected frames, ${s.ackTimeouts} shutdowns without ack`);
    }
    ctx.setExitCode(ExitCode.OK);
  });
  port(mcu.command('set-time').description("set the MCU's real-time counter from this host's clock")).action(async (o: PortOpts) => {
    await withMcu(o.port, (m) => m.power.setTime(Date.now()));
    writeLine(ctx.stdout, o.json ? JSON.stringify({ ok: true }) : 'clock set');
    ctx.setExitCode(ExitCode.OK);
  });
  port(mcu.command('watchdog').description('power-cycle the host when it sends nothing for --timeout seconds (0 = off)'))
    .requiredOption('--timeout <s>', 'seconds without a request (0 or 10..3600)', parsePositiveInt('--timeout', 0, 3600))
    .option('--off <s>', 'seconds the host stays off when power-cycled', parsePositiveInt('--off', 1, 3600), 10)
    .action(async (o: PortOpts & { timeout: number; off: number }) => {
      await withMcu(o.port, (m) => m.power.setWatchdog(o.timeout, o.off));
      writeLine(ctx.stdout, o.json ? JSON.stringify({ ok: true }) : `watchdog ${o.timeout ? `${o.timeout} s` : 'off'}`);
      ctx.setExitCode(ExitCode.OK);
    });
  port(mcu.command('power-off').description('arm a planned power-off; with --confirm also send SHUTDOWN_ACK (the MCU cuts power after --halt seconds)'))
    .option('--for <s>', 'off for this many seconds', parsePositiveInt('--for', 1, 31 * 86_400))
    .option('--until <iso>', 'off until this wall time (the MCU clock must be set)')
    .option('--soc <percent>', 'off until the battery SOC reaches this', parsePositiveNumber('--soc', 0.1, 100))
    .option('--voltage <volts>', 'off until the battery voltage reaches this', parsePositiveNumber('--voltage', 1, 60))
    .option('--grace <s>', 'seconds the MCU waits for the acknowledgement before cutting anyway', parsePositiveInt('--grace', 1, 600), 60)
    .option('--halt <s>', 'seconds between acknowledgement and cut (OS halt)', parsePositiveInt('--halt', 0, 600), 15)
    .option('--max-off <s>', 'wake after this long whatever the condition (0 = never)', parsePositiveInt('--max-off', 0, 31 * 86_400), 0)
    .option('--confirm', 'acknowledge at once (state is already persisted)')
    .action(async (o: PowerOffOpts) => {
      const until = untilFrom(o);
      await withMcu(o.port, async (m) => {
        await m.power.requestPowerOff({ until, graceSeconds: o.grace, haltSeconds: o.halt, maxOffSeconds: o.maxOff });
        if (o.confirm) await m.power.shutdownReady();
      });
      writeLine(ctx.stdout, o.json ? JSON.stringify({ armed: until, confirmed: Boolean(o.confirm) }) : `power-off armed (${until.kind})${o.confirm ? ', acknowledged' : `; acknowledge within ${o.grace} s`}`);
      ctx.setExitCode(ExitCode.OK);
    });
}
