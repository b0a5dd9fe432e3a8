import { WireError } from '../../../src/errors.js';
import { cobsEncode } from './cobs.js';
import { crc16CcittFalse } from './crc16.js';

/** Protocol version carried in every header (firmware-bridge/README.md "Companion-MCU protocol"). */
export const MCU_PROTOCOL_VERSION = 1;
export const HEADER_BYTES = 4;
export const CRC_BYTES = 2;
export const MAX_PAYLOAD = 64;

/** Message types. Requests are host→device; `READING` is also sent unsolicited with seq 0. */
export const MsgType = {
  READING: 0x01,
  ACK: 0x02,
  NACK: 0x03,
  PING: 0x10,
  PONG: 0x11,
  GET_INFO: 0x12,
  INFO: 0x13,
  SET_SAMPLE_INTERVAL: 0x20,
  SET_LOAD: 0x21,
  GET_READING: 0x22,
  // power protocol (README "Power protocol")
  SET_TIME: 0x23,
  GET_STATUS: 0x24,
  STATUS: 0x25,
  POWER_OFF: 0x30,
  SHUTDOWN_ACK: 0x31,
  POWER_CANCEL: 0x32,
  HEARTBEAT: 0x33,
  SET_WATCHDOG: 0x34,
  SHUTDOWN_NOTICE: 0x35,
  // firmware update (README "Firmware updates")
  FW_BEGIN: 0x40,
  FW_CHUNK: 0x41,
  FW_FINISH: 0x42,
  FW_CONFIRM: 0x43,
  FW_RESET: 0x44,
  FW_GET_STATE: 0x45,
  FW_STATE: 0x46,
  /** Emulated firmware targets only (host, QEMU): drive the battery/PV model. */
  EMU_SET: 0x7e,
} as const;
export type MsgTypeValue = (typeof MsgType)[keyof typeof MsgType];

/** NACK reason codes. */
export const NackReason = {
  UNKNOWN_TYPE: 1,
  BAD_LENGTH: 2,
  OUT_OF_RANGE: 3,
  BUSY: 4,
  BAD_VERSION: 5,
  // firmware update
  FW_BOARD: 6,
  FW_DOWNGRADE: 7,
  FW_DIGEST: 8,
  FW_STORAGE: 9,
  FW_STATE: 10,
  /** FW_FINISH: the image is not signed by the fleet key compiled into the MCU firmware (or it has none). */
  FW_SIGNATURE: 11,
} as const;

export function msgTypeName(type: number): string {
  for (const [k, v] of Object.entries(MsgType)) if (v === type) return k;
  return `0x${type.toString(16).padStart(2, '0')}`;
}

/** One decoded packet: header fields and the raw payload. */
export interface McuPacket {
  version: number;
  type: number;
  /** 0 for unsolicited device frames; host requests use 1..65535 and responses echo it. */
  seq: number;
  payload: Buffer;
}

/** Packet bytes (header | payload | CRC-16/CCITT-FALSE big-endian), before COBS. */
export function encodePacket(type: number, seq: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  if (payload.length > MAX_PAYLOAD) throw new WireError('WIRE_OVERSIZE', `payload ${payload.length} bytes > ${MAX_PAYLOAD}`);
  const buf = Buffer.alloc(HEADER_BYTES + payload.length + CRC_BYTES);
  buf[0] = MCU_PROTOCOL_VERSION;
  buf[1] = type;
  buf.writeUInt16LE(seq & 0xffff, 2);
  buf.set(payload, HEADER_BYTES);
  buf.writeUInt16BE(crc16CcittFalse(buf, 0, HEADER_BYTES + payload.length), HEADER_BYTES + payload.length);
  return buf;
}

/** Wire bytes of one frame: COBS(packet) followed by the 0x00 delimiter. */
export function encodeFrame(type: number, seq: number, payload?: Uint8Array): Buffer {
  const enc = cobsEncode(encodePacket(type, seq, payload));
  return Buffer.concat([enc, Buffer.from([0])]);
}

/**
 * Check and split a COBS-decoded packet. Throws a `WireError` naming the failed check. The device side
 * passes `anyVersion` so it can NACK (bad version) a packet whose CRC is good.
 */
export function decodePacket(bytes: Uint8Array, options: { anyVersion?: boolean } = {}): McuPacket {
  if (bytes.length < HEADER_BYTES + CRC_BYTES) throw new WireError('WIRE_TRUNCATED', `packet of ${bytes.length} bytes is shorter than header + CRC (6)`);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const want = buf.readUInt16BE(buf.length - CRC_BYTES);
  const got = crc16CcittFalse(buf, 0, buf.length - CRC_BYTES);
  if (want !== got) throw new WireError('FRAME_CHECKSUM', `CRC-16 mismatch: frame says 0x${want.toString(16).padStart(4, '0')}, computed 0x${got.toString(16).padStart(4, '0')}`);
  if (buf[0] !== MCU_PROTOCOL_VERSION && !options.anyVersion) throw new WireError('WIRE_VERSION', `protocol version ${buf[0]} (expected ${MCU_PROTOCOL_VERSION})`);
  if (buf.length - HEADER_BYTES - CRC_BYTES > MAX_PAYLOAD) throw new WireError('WIRE_OVERSIZE', `payload > ${MAX_PAYLOAD} bytes`);
  return { version: buf[0]!, type: buf[1]!, seq: buf.readUInt16LE(2), payload: Buffer.from(buf.subarray(HEADER_BYTES, buf.length - CRC_BYTES)) };
}
