import type { Duplex } from 'node:stream';
import type { EnergyReading } from '../../../src/energy/reading.js';
import { describeError } from '../../../src/errors.js';
import type { ProtocolSession, SessionContext } from '../source/energy-source.js';
import { McuClient, type McuClientOptions } from './client.js';
import type { McuReading } from './messages.js';

/** Options of {@link mcuSession}. */
export interface McuSessionOptions extends Pick<McuClientOptions, 'timeoutMs' | 'retries'> {
  /** Ask the device to stream at this interval (SET_SAMPLE_INTERVAL) after connecting. Default: leave as is. */
  sampleIntervalMs?: number;
}

/** Convert the firmware's integer units to an {@link EnergyReading} (SI). */
export function mcuToEnergyReading(r: McuReading, meta: { source: string; time: number }): EnergyReading {
  const out: EnergyReading = { time: meta.time, source: meta.source, batteryVoltage: r.batteryMilliVolts / 1000, batteryCurrent: r.batteryMilliAmps / 1000 };
  if (r.pvMilliVolts !== undefined) out.pvVoltage = r.pvMilliVolts / 1000;
  if (r.pvMilliWatts !== undefined) out.pvPower = r.pvMilliWatts / 1000;
  if (r.loadMilliWatts !== undefined) out.loadPower = r.loadMilliWatts / 1000;
  if (r.socPerMille !== undefined) out.soc = r.socPerMille / 1000;
  return out;
}

/**
 * Companion-MCU adapter layer: a {@link McuClient} on the open stream; streamed READINGs become
 * readings. On connect it asks GET_INFO (logged) and, when configured, SET_SAMPLE_INTERVAL; a device
 * that answers neither is reported and left to the source's stale-data watchdog.
 */
export function mcuSession(stream: Duplex, ctx: SessionContext, options: McuSessionOptions = {}): ProtocolSession {
  const client = new McuClient({ stream, clock: ctx.clock, timeoutMs: options.timeoutMs, retries: options.retries });
  client.events.on('reading', (r) => ctx.reading(mcuToEnergyReading(r, { source: ctx.source, time: ctx.clock.now() })));
  client.events.on('reject', (reason, detail) => ctx.reject(reason, detail));
  client.start();
  const setup = async () => {
    const info = await client.getInfo();
    ctx.logger.info({ source: ctx.source, ...info }, 'companion MCU connected');
    if (options.sampleIntervalMs !== undefined) await client.setSampleInterval(options.sampleIntervalMs);
  };
  setup().catch((err: unknown) => ctx.logger.warn({ source: ctx.source, err: describeError(err) }, 'companion MCU setup failed'));
  return { stop: () => client.stop(), mcu: client };
}
