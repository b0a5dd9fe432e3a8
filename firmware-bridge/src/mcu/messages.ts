import { WireError } from '../../../src/errors.js';

/** READING payload (23 bytes, little-endian), raw integer units as the firmware measures them. */
export interface McuReading {
  batteryMilliVolts: number;
  /** Signed; positive = charging. */
  batteryMilliAmps: number;
  pvMilliVolts?: number;
  pvMilliWatts?: number;
  loadMilliWatts?: number;
  /** 0..1000. */
  socPerMille?: number;
}

const FLAG_SOC = 0x01;
const FLAG_LOAD = 0x02;
const FLAG_PV = 0x04;
export const READING_BYTES = 23;

/**
 * READING layout: flags u8 (bit0 SOC valid, bit1 load valid, bit2 PV valid), battery mV u32,
 * battery mA i32, PV mV u32, PV mW u32, load mW u32, SOC ‰ u16. Invalid fields are sent as 0.
 */
export function encodeReading(r: McuReading): Buffer {
  const b = Buffer.alloc(READING_BYTES);
  const pv = r.pvMilliVolts !== undefined || r.pvMilliWatts !== undefined;
  b[0] = (r.socPerMille !== undefined ? FLAG_SOC : 0) | (r.loadMilliWatts !== undefined ? FLAG_LOAD : 0) | (pv ? FLAG_PV : 0);
  b.writeUInt32LE(clampU32(r.batteryMilliVolts), 1);
  b.writeInt32LE(Math.max(-0x80000000, Math.min(0x7fffffff, Math.round(r.batteryMilliAmps))), 5);
  b.writeUInt32LE(clampU32(r.pvMilliVolts ?? 0), 9);
  b.writeUInt32LE(clampU32(r.pvMilliWatts ?? 0), 13);
  b.writeUInt32LE(clampU32(r.loadMilliWatts ?? 0), 17);
  b.writeUInt16LE(Math.max(0, Math.min(1000, Math.round(r.socPerMille ?? 0))), 21);
  return b;
}

export function decodeReading(p: Buffer): McuReading {
  expectLength('READING', p, READING_BYTES);
  const flags = p[0]!;
  const r: McuReading = { batteryMilliVolts: p.readUInt32LE(1), batteryMilliAmps: p.readInt32LE(5) };
  if (flags & FLAG_PV) {
    r.pvMilliVolts = p.readUInt32LE(9);
    r.pvMilliWatts = p.readUInt32LE(13);
  }
  if (flags & FLAG_LOAD) r.loadMilliWatts = p.readUInt32LE(17);
  if (flags & FLAG_SOC) {
    const soc = p.readUInt16LE(21);
    if (soc > 1000) throw new WireError('FRAME_MALFORMED', `READING: SOC ${soc} > 1000 per mille`);
    r.socPerMille = soc;
  }
  return r;
}

/** INFO payload: fw major/minor/patch u8, sensor u8 (1 INA219, 2 INA226), interval ms u32, uptime s u32, name UTF-8 (0..32). */
export interface McuInfo {
  firmware: string;
  sensor: 'INA219' | 'INA226' | 'unknown';
  sampleIntervalMs: number;
  uptimeSeconds: number;
  name: string;
}

const SENSORS = { 1: 'INA219', 2: 'INA226' } as const;

export function encodeInfo(info: McuInfo): Buffer {
  const [maj = 0, min = 0, pat = 0] = info.firmware.split('.').map(Number);
  const name = Buffer.from(info.name, 'utf8').subarray(0, 32);
  const b = Buffer.alloc(12 + name.length);
  b[0] = maj;
  b[1] = min;
  b[2] = pat;
  b[3] = info.sensor === 'INA219' ? 1 : info.sensor === 'INA226' ? 2 : 0;
  b.writeUInt32LE(info.sampleIntervalMs, 4);
  b.writeUInt32LE(info.uptimeSeconds, 8);
  name.copy(b, 12);
  return b;
}

export function decodeInfo(p: Buffer): McuInfo {
  if (p.length < 12 || p.length > 44) throw new WireError('FRAME_MALFORMED', `INFO: payload of ${p.length} bytes, expected 12..44`);
  return {
    firmware: `${p[0]}.${p[1]}.${p[2]}`,
    sensor: SENSORS[p[3] as 1 | 2] ?? 'unknown',
    sampleIntervalMs: p.readUInt32LE(4),
    uptimeSeconds: p.readUInt32LE(8),
    name: p.subarray(12).toString('utf8'),
  };
}

/** Sample interval bounds the firmware accepts (SET_SAMPLE_INTERVAL, u32 ms). */
export const MIN_INTERVAL_MS = 100;
export const MAX_INTERVAL_MS = 3_600_000;

export function encodeU32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
}

export function expectLength(what: string, p: Buffer, n: number): void {
  if (p.length !== n) throw new WireError('FRAME_MALFORMED', `${what}: payload of ${p.length} bytes, expected ${n}`);
}

function clampU32(v: number): number {
  return Math.max(0, Math.min(0xffffffff, Math.round(v)));
}
