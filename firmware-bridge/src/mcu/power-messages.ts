import { WireError } from '../../../src/errors.js';
import { expectLength } from './messages.js';

/** What ends a planned power-off (POWER_OFF `mode`). */
export type PowerOffUntil =
  | { kind: 'duration'; seconds: number }
  | { kind: 'wall'; epochSeconds: number }
  | { kind: 'soc'; perMille: number }
  | { kind: 'voltage'; milliVolts: number };

/** POWER_OFF request: the condition, the handshake times and an optional cap on the off time. */
export interface PowerOffRequest {
  until: PowerOffUntil;
  /** Seconds the MCU waits for SHUTDOWN_ACK before cutting anyway (1..600). */
  graceSeconds: number;
  /** Seconds between SHUTDOWN_ACK and the cut, for the OS to halt (0..600). */
  haltSeconds: number;
  /** Wake after this long whatever the condition (0 = no cap; at most 31 days). */
  maxOffSeconds: number;
}

const MODES = { duration: 1, wall: 2, soc: 3, voltage: 4 } as const;
export const POWER_OFF_BYTES = 13;
export const MAX_OFF_SECONDS = 31 * 86_400;

/** POWER_OFF payload: mode u8, value u32, grace s u16, halt s u16, max off s u32 (little-endian). */
export function encodePowerOff(r: PowerOffRequest): Buffer {
  const b = Buffer.alloc(POWER_OFF_BYTES);
  const u = r.until;
  const value = u.kind === 'duration' ? u.seconds : u.kind === 'wall' ? u.epochSeconds : u.kind === 'soc' ? u.perMille : u.milliVolts;
  b[0] = MODES[u.kind];
  b.writeUInt32LE(Math.round(value), 1);
  b.writeUInt16LE(r.graceSeconds, 5);
  b.writeUInt16LE(r.haltSeconds, 7);
  b.writeUInt32LE(r.maxOffSeconds, 9);
  return b;
}

/** Why the host is running (STATUS `wake reason`). */
export const WAKE_REASONS = ['cold', 'timer', 'wall-time', 'soc', 'voltage', 'watchdog', 'max-off', 'low-battery-recovered'] as const;
export type WakeReason = (typeof WAKE_REASONS)[number] | 'unknown';
const POWER_STATES = ['on', 'shutdown-pending', 'halting', 'off'] as const;

/** STATUS payload (20 bytes). */
export interface McuStatus {
  /** MCU wall clock, s since epoch; 0 = never set. */
  wallSeconds: number;
  wakeReason: WakeReason;
  powerState: (typeof POWER_STATES)[number] | 'unknown';
  watchdogTimeoutSeconds: number;
  watchdogOffSeconds: number;
  /** How long the host was off before the last wake, s. */
  lastSleepSeconds: number;
  /** Host power-ons since the MCU started (1 = never slept). */
  powerOns: number;
  /** Frames the MCU discarded (bad COBS, CRC, length), saturating. */
  rejectedFrames: number;
  /** Shutdowns cut at the grace timeout because no SHUTDOWN_ACK came. */
  ackTimeouts: number;
}

export const STATUS_BYTES = 20;

export function decodeStatus(p: Buffer): McuStatus {
  expectLength('STATUS', p, STATUS_BYTES);
  return {
    wallSeconds: p.readUInt32LE(0),
    wakeReason: WAKE_REASONS[p[4]!] ?? 'unknown',
    powerState: POWER_STATES[p[5]!] ?? 'unknown',
    watchdogTimeoutSeconds: p.readUInt16LE(6),
    watchdogOffSeconds: p.readUInt16LE(8),
    lastSleepSeconds: p.readUInt32LE(10),
    powerOns: p.readUInt16LE(14),
    rejectedFrames: p.readUInt16LE(16),
    ackTimeouts: p.readUInt16LE(18),
  };
}

/** SHUTDOWN_NOTICE (device → host, seq 0): the MCU wants the host down. reason u8 (1 low battery), grace s u16. */
export interface ShutdownNotice {
  reason: 'low-battery' | 'unknown';
  graceSeconds: number;
}

export function decodeShutdownNotice(p: Buffer): ShutdownNotice {
  expectLength('SHUTDOWN_NOTICE', p, 3);
  return { reason: p[0] === 1 ? 'low-battery' : 'unknown', graceSeconds: p.readUInt16LE(1) };
}

/** EMU_SET (emulated firmware only): speed u16 (sim ms per real ms, 1..10000), SOC ‰ u16, host load mW u32, PV scale ‰ u16; 0xFFFF/0xFFFFFFFF keep. */
export interface EmuSettings {
  speed: number;
  socPerMille?: number;
  hostMilliWatts?: number;
  pvScalePerMille?: number;
}

export function encodeEmuSet(e: EmuSettings): Buffer {
  const b = Buffer.alloc(10);
  b.writeUInt16LE(e.speed, 0);
  b.writeUInt16LE(e.socPerMille ?? 0xffff, 2);
  b.writeUInt32LE(e.hostMilliWatts ?? 0xffffffff, 4);
  b.writeUInt16LE(e.pvScalePerMille ?? 0xffff, 8);
  return b;
}

/** Validate a request before it goes on the wire, with the reason. */
export function checkPowerOff(r: PowerOffRequest): void {
  const bad = (why: string) => new WireError('FRAME_MALFORMED', `POWER_OFF: ${why}`);
  const int = (v: number, lo: number, hi: number) => Number.isInteger(v) && v >= lo && v <= hi;
  if (!int(r.graceSeconds, 1, 600)) throw bad(`grace ${r.graceSeconds} s not in 1..600`);
  if (!int(r.haltSeconds, 0, 600)) throw bad(`halt ${r.haltSeconds} s not in 0..600`);
  if (!int(r.maxOffSeconds, 0, MAX_OFF_SECONDS)) throw bad(`max off ${r.maxOffSeconds} s not in 0..${MAX_OFF_SECONDS}`);
  const u = r.until;
  if (u.kind === 'duration' && !int(u.seconds, 1, MAX_OFF_SECONDS)) throw bad(`duration ${u.seconds} s not in 1..${MAX_OFF_SECONDS}`);
  if (u.kind === 'wall' && !int(u.epochSeconds, 1, 0xffffffff)) throw bad(`wall time ${u.epochSeconds} is not epoch seconds`);
  if (u.kind === 'soc' && !int(u.perMille, 1, 1000)) throw bad(`SOC ${u.perMille} ‰ not in 1..1000`);
  if (u.kind === 'voltage' && !int(u.milliVolts, 1000, 60000)) throw bad(`voltage ${u.milliVolts} mV not in 1000..60000`);
}
