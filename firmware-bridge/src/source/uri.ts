import { H3lixError } from '../../../src/errors.js';

export const SOURCE_PROTOCOLS = ['vedirect', 'mcu', 'modbus-epever', 'modbus-renogy'] as const;
export type SourceProtocol = (typeof SOURCE_PROTOCOLS)[number];

/** A parsed source URI. */
export interface SourceSpec {
  protocol: SourceProtocol;
  transport: { kind: 'serial'; path: string; baudRate: number } | { kind: 'tcp'; host: string; port: number };
  /** Modbus slave id (1..247). */
  unit: number;
  /** Poll period (Modbus) or requested sample interval (MCU), ms; undefined = protocol default. */
  intervalMs?: number;
  /** Request timeout (MCU, Modbus), ms. */
  timeoutMs?: number;
  /** MCU retries. */
  retries?: number;
  /** Reconnect delay cap, ms. */
  reconnectMaxMs?: number;
  /** Stale-data watchdog, ms (0 = off). */
  staleMs?: number;
}

const DEFAULT_BAUD: Record<SourceProtocol, number> = { vedirect: 19200, mcu: 115200, 'modbus-epever': 115200, 'modbus-renogy': 9600 };
const PARAMS: Record<string, { min: number; max: number }> = {
  baud: { min: 300, max: 4_000_000 },
  unit: { min: 1, max: 247 },
  interval: { min: 100, max: 3_600_000 },
  timeout: { min: 10, max: 60_000 },
  retries: { min: 0, max: 10 },
  reconnect_max: { min: 10, max: 600_000 },
  stale: { min: 0, max: 3_600_000 },
};

const usage = 'expected vedirect:PATH, mcu:PATH, modbus-epever:PATH, modbus-renogy:PATH or tcp://HOST:PORT?protocol=NAME (query: baud, unit, interval, timeout, retries, reconnect_max, stale)';

function bad(uri: string, what: string): H3lixError {
  return new H3lixError('SOURCE_URI', `source URI "${uri}": ${what}; ${usage}`);
}

/**
 * Parse an energy source URI: `vedirect:/dev/ttyUSB0`, `mcu:/dev/ttyACM0?interval=1000`,
 * `modbus-epever:/dev/serial/by-id/usb-...?unit=1`, `modbus-renogy:/dev/ttyUSB1?baud=9600`,
 * `tcp://10.0.0.5:4001?protocol=vedirect` (a ser2net/esp-link raw TCP port). Paths are taken
 * verbatim up to `?` (by-id and by-path names may contain `:`). Throws SOURCE_URI naming what is wrong.
 */
export function parseSourceUri(uri: string): SourceSpec {
  const q = uri.indexOf('?');
  const head = q < 0 ? uri : uri.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : uri.slice(q + 1));
  const colon = head.indexOf(':');
  if (colon <= 0) throw bad(uri, 'no scheme');
  const scheme = head.slice(0, colon);
  const nums: Record<string, number> = {};
  for (const [k, v] of query) {
    if (k === 'protocol') continue;
    const range = PARAMS[k];
    if (!range) throw bad(uri, `unknown parameter "${k}"`);
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < range.min || n > range.max) throw bad(uri, `parameter ${k}="${v}" must be an integer ${range.min}..${range.max}`);
    nums[k] = n;
  }
  let protocol: SourceProtocol;
  let transport: SourceSpec['transport'];
  if (scheme === 'tcp') {
    const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(head);
    if (!m) throw bad(uri, 'tcp URI needs host and port (tcp://HOST:PORT)');
    const port = Number(m[2]);
    if (port < 1 || port > 65535) throw bad(uri, `port ${m[2]} out of range 1..65535`);
    const p = query.get('protocol');
    if (!p) throw bad(uri, 'tcp URI needs ?protocol=vedirect|mcu|modbus-epever|modbus-renogy');
    if (!(SOURCE_PROTOCOLS as readonly string[]).includes(p)) throw bad(uri, `unknown protocol "${p}"`);
    if (nums.baud !== undefined) throw bad(uri, 'baud does not apply to tcp (set it on the bridge)');
    protocol = p as SourceProtocol;
    transport = { kind: 'tcp', host: m[1]!.replace(/^\[|\]$/g, ''), port };
  } else {
    if (!(SOURCE_PROTOCOLS as readonly string[]).includes(scheme)) throw bad(uri, `unknown scheme "${scheme}"`);
    if (query.has('protocol')) throw bad(uri, 'protocol= only applies to tcp:// URIs');
    protocol = scheme as SourceProtocol;
    const path = head.slice(colon + 1);
    if (path === '') throw bad(uri, 'empty device path');
    if (path.startsWith('//')) throw bad(uri, `write ${scheme}:/dev/... (a path), not ${scheme}://`);
    transport = { kind: 'serial', path, baudRate: nums.baud ?? DEFAULT_BAUD[protocol] };
  }
  if (nums.unit !== undefined && !protocol.startsWith('modbus')) throw bad(uri, 'unit= only applies to modbus-* protocols');
  return {
    protocol,
    transport,
    unit: nums.unit ?? 1,
    intervalMs: nums.interval,
    timeoutMs: nums.timeout,
    retries: nums.retries,
    reconnectMaxMs: nums.reconnect_max,
    staleMs: nums.stale,
  };
}

/**
 * The source URI for a board profile's `serial` block (`devices/profiles/*.yaml`): `protocol: modbus`
 * means `modbus-<variant>` (default EPEver). The profile's baud is kept when it differs from the default.
 */
export function sourceUriFromProfile(serial: { path: string; baud: number; protocol: string }, modbusVariant: 'epever' | 'renogy' = 'epever'): string {
  const protocol = serial.protocol === 'modbus' ? `modbus-${modbusVariant}` : serial.protocol;
  if (!(SOURCE_PROTOCOLS as readonly string[]).includes(protocol)) throw new H3lixError('SOURCE_URI', `board profile serial.protocol "${serial.protocol}" is not one of vedirect, mcu, modbus`);
  const baud = serial.baud !== DEFAULT_BAUD[protocol as SourceProtocol] ? `?baud=${serial.baud}` : '';
  const uri = `${protocol}:${serial.path}${baud}`;
  parseSourceUri(uri);
  return uri;
}
