import type { Clock } from '../../../src/util/clock.js';
import type { Logger } from '../../../src/util/logger.js';
import { moduleLogger } from '../../../src/util/logger.js';
import { serialLink, tcpLink, type SerialLinkOptions } from '../link/link.js';
import { mcuSession } from '../mcu/session.js';
import { EPEVER, RENOGY } from '../modbus/registers.js';
import { modbusSession } from '../modbus/session.js';
import { veDirectSession } from '../vedirect/session.js';
import { ReconnectingSource, type EnergySource, type SessionFactory } from './energy-source.js';
import { parseSourceUri, type SourceSpec } from './uri.js';

/** What {@link openEnergySource} needs. */
export interface OpenEnergySourceContext {
  clock: Clock;
  logger: Logger;
  /** Serial port constructor (tests inject serialport's `SerialPortMock`). Default: native serialport. */
  createPort?: SerialLinkOptions['createPort'];
  /** First reconnect delay, ms. Default 250. */
  backoffInitialMs?: number;
}

/**
 * Build (not start) the source for a URI (see {@link parseSourceUri}). Throws SOURCE_URI for a bad
 * URI; everything after `start()` is reported through the source's `status` events.
 */
export function openEnergySource(uri: string, ctx: OpenEnergySourceContext): EnergySource {
  const spec = parseSourceUri(uri);
  const link =
    spec.transport.kind === 'tcp'
      ? tcpLink({ host: spec.transport.host, port: spec.transport.port })
      : serialLink({ path: spec.transport.path, baudRate: spec.transport.baudRate, createPort: ctx.createPort });
  return new ReconnectingSource({
    uri,
    link,
    session: sessionFor(spec),
    clock: ctx.clock,
    logger: moduleLogger(ctx.logger, 'firmware-bridge'),
    backoffInitialMs: ctx.backoffInitialMs,
    backoffMaxMs: spec.reconnectMaxMs,
    staleAfterMs: spec.staleMs ?? defaultStale(spec),
  });
}

function sessionFor(spec: SourceSpec): SessionFactory {
  switch (spec.protocol) {
    case 'vedirect':
      return (stream, ctx) => veDirectSession(stream, ctx);
    case 'mcu':
      return (stream, ctx) => mcuSession(stream, ctx, { sampleIntervalMs: spec.intervalMs, timeoutMs: spec.timeoutMs, retries: spec.retries });
    case 'modbus-epever':
    case 'modbus-renogy':
      return (stream, ctx) =>
        modbusSession(stream, ctx, { map: spec.protocol === 'modbus-epever' ? EPEVER : RENOGY, unit: spec.unit, intervalMs: spec.intervalMs, timeoutMs: spec.timeoutMs });
  }
}

/** No reading for 3 periods (at least 30 s) means the link is dead even if the port looks open. */
function defaultStale(spec: SourceSpec): number {
  const period = spec.protocol.startsWith('modbus') ? (spec.intervalMs ?? 5000) : spec.protocol === 'mcu' ? (spec.intervalMs ?? 1000) : 1000;
  return Math.max(30_000, 3 * period + (spec.timeoutMs ?? 1000) * 3);
}
