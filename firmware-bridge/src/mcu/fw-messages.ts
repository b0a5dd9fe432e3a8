import { WireError } from '../../../src/errors.js';

/** FW_STATE `state` (README "Firmware updates"). */
export type FwState = 'idle' | 'receiving' | 'complete' | 'trial';
const STATES: FwState[] = ['idle', 'receiving', 'complete', 'trial'];

/** The MCU's update state: what it runs and where a transfer stands. */
export interface McuFwState {
  state: FwState;
  /** Slot the running image was booted from (0/1), undefined when the target has no update flash (0xFF). */
  runningSlot: number | undefined;
  runningVersion: string;
  /** Next image offset the MCU wants (0 when idle). */
  next: number;
  /** Image size of the transfer in progress (0 when idle). */
  size: number;
}

export const FW_STATE_BYTES = 13;
/** Data bytes per FW_CHUNK (payload = offset u32 + data, at most 64). */
export const FW_CHUNK_MAX = 60;
export const FW_BOARD_MAX = 24;

export function decodeFwState(p: Buffer): McuFwState {
  if (p.length !== FW_STATE_BYTES) throw new WireError('FRAME_MALFORMED', `FW_STATE: payload of ${p.length} bytes, expected ${FW_STATE_BYTES}`);
  const state = STATES[p[0]!];
  if (!state) throw new WireError('FRAME_MALFORMED', `FW_STATE: unknown state ${p[0]}`);
  return { state, runningSlot: p[1] === 0xff ? undefined : p[1], runningVersion: `${p[2]}.${p[3]}.${p[4]}`, next: p.readUInt32LE(5), size: p.readUInt32LE(9) };
}

export function encodeFwState(s: McuFwState): Buffer {
  const b = Buffer.alloc(FW_STATE_BYTES);
  b[0] = STATES.indexOf(s.state);
  b[1] = s.runningSlot ?? 0xff;
  s.runningVersion.split('.').forEach((v, i) => (b[2 + i] = Number(v)));
  b.writeUInt32LE(s.next, 5);
  b.writeUInt32LE(s.size, 9);
  return b;
}

/** FW_BEGIN: image size u32 | payload sha256 [32] | version [3] | flags u8 (bit0 allow downgrade) | board 1..24. */
export interface FwBegin {
  size: number;
  sha256: Uint8Array;
  version: [number, number, number];
  allowDowngrade: boolean;
  board: string;
}

export function encodeFwBegin(b: FwBegin): Buffer {
  const board = Buffer.from(b.board, 'utf8');
  if (board.length < 1 || board.length > FW_BOARD_MAX) throw new WireError('WIRE_OVERSIZE', `FW_BEGIN: board name of ${board.length} bytes, expected 1..${FW_BOARD_MAX}`);
  if (b.sha256.length !== 32) throw new WireError('WIRE_MALFORMED', 'FW_BEGIN: sha256 must be 32 bytes');
  const out = Buffer.alloc(40 + board.length);
  out.writeUInt32LE(b.size, 0);
  Buffer.from(b.sha256).copy(out, 4);
  out.set(b.version, 36);
  out[39] = b.allowDowngrade ? 1 : 0;
  board.copy(out, 40);
  return out;
}

export function encodeFwChunk(offset: number, data: Uint8Array): Buffer {
  if (data.length < 1 || data.length > FW_CHUNK_MAX) throw new WireError('WIRE_OVERSIZE', `FW_CHUNK: ${data.length} data bytes, expected 1..${FW_CHUNK_MAX}`);
  const out = Buffer.alloc(4 + data.length);
  out.writeUInt32LE(offset, 0);
  out.set(data, 4);
  return out;
}
