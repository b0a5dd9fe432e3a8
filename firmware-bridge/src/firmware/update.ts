import { H3lixError } from '../../../src/errors.js';
import type { Clock } from '../../../src/util/clock.js';
import type { McuClient } from '../mcu/client.js';
import { McuFirmwareClient } from '../mcu/fw-client.js';
import { McuPowerClient } from '../mcu/power-client.js';
import { FW_CHUNK_MAX, type McuFwState } from '../mcu/fw-messages.js';
import { NackReason } from '../mcu/protocol.js';
import { compareVersions, verifyImage, versionString, type FirmwareImage } from './image.js';

/** One connection to the MCU for the updater; `connect` is called again after the MCU stops answering. */
export interface UpdaterConnection {
  client: McuClient;
  close(): Promise<void>;
}

/** Where an update is (progress events, and the test's cut points). */
export type UpdateStep =
  | { kind: 'begin' }
  | { kind: 'chunk'; offset: number }
  | { kind: 'finish' }
  | { kind: 'reset' }
  | { kind: 'health' }
  | { kind: 'confirm' };

export interface UpdateProgress {
  phase: 'transfer' | 'verify' | 'reboot' | 'health' | 'confirmed' | 'resume';
  offset?: number;
  size?: number;
  detail?: string;
}

/** Options of {@link updateFirmware}. */
export interface UpdateFirmwareOptions {
  image: FirmwareImage;
  /** The TRUSTED fleet public key (fleet.json), never one named by the image. */
  fleetPublicKey: Uint8Array;
  /** Accept an image older than the running one. Default false. */
  allowDowngrade?: boolean;
  connect: () => Promise<UpdaterConnection>;
  clock: Clock;
  /** Data bytes per FW_CHUNK (1..60). Default 60. */
  chunkBytes?: number;
  /** Reconnects after the MCU stopped answering before giving up. Default 5. */
  reconnects?: number;
  /** Wait between reconnects. Default 500 ms. */
  reconnectDelayMs?: number;
  /** How long the new image has to answer after the reset. Default 10000 ms. */
  bootTimeoutMs?: number;
  onProgress?: (p: UpdateProgress) => void;
  /** Called before every step (tests cut the power here). */
  beforeStep?: (s: UpdateStep) => Promise<void> | void;
  /** Stop at the next step (SIGINT). The MCU keeps what it has: a later run resumes. */
  signal?: AbortSignal;
}

export interface UpdateResult {
  from: string;
  to: string;
  /** Slot the new image runs from. */
  slot: number;
  /** The MCU was already running this version, confirmed: nothing was sent. */
  alreadyRunning: boolean;
  /** Image bytes sent in FW_CHUNKs (more than the image when resumed). */
  bytesSent: number;
  /** Times the transfer went on after the MCU stopped answering. */
  resumes: number;
}

const lost = (err: unknown): boolean => err instanceof H3lixError && (err.code === 'REQUEST_TIMEOUT' || err.code === 'SERIAL_UNAVAILABLE');

function refused(err: unknown, what: string): H3lixError | undefined {
  if (!(err instanceof H3lixError) || err.code !== 'COMMAND_REFUSED') return undefined;
  const nack = err.detail?.['nack'];
  if (nack === NackReason.FW_BOARD) return new H3lixError('FIRMWARE_BOARD', `the MCU refused the image at ${what}: built for another board`, { cause: err });
  if (nack === NackReason.FW_DOWNGRADE) return new H3lixError('FIRMWARE_DOWNGRADE', `the MCU refused the image at ${what}: older than the running firmware (--allow-downgrade)`, { cause: err });
  if (nack === NackReason.FW_DIGEST) return new H3lixError('FIRMWARE_UPDATE', `the MCU's SHA-256 of the received image does not match: nothing was marked bootable`, { cause: err });
  if (nack === NackReason.FW_SIGNATURE) return new H3lixError('FIRMWARE_SIGNATURE', `the MCU refused the image at ${what}: its signature does not verify against the fleet key built into the MCU firmware (or that firmware has none): nothing was marked bootable`, { cause: err });
  if (nack === NackReason.FW_STORAGE) return new H3lixError('FIRMWARE_UPDATE', `the MCU has no update flash or failed to write it (${what})`, { cause: err });
  return new H3lixError('FIRMWARE_UPDATE', `the MCU refused ${what}: ${err.message}`, { cause: err });
}

/**
 * Update the companion MCU's firmware over the serial link (README "Firmware updates"). Everything that
 * can refuse the image does so before the first byte is written: signature and payload digest (here),
 * board and version (against the MCU's INFO and FW_STATE). Then FW_BEGIN → FW_CHUNKs from the offset the
 * MCU wants → FW_FINISH (the MCU hashes what it received) → FW_RESET → health check of the image on
 * trial → FW_CONFIRM. When the MCU stops answering, the updater reconnects and goes on from the offset
 * the MCU reports; an image on trial that is never confirmed is reverted by the MCU's boot stage.
 */
export async function updateFirmware(o: UpdateFirmwareOptions): Promise<UpdateResult> {
  verifyImage(o.image, o.fleetPublicKey);
  const img = o.image;
  const to = versionString(img.version);
  const chunkBytes = o.chunkBytes ?? FW_CHUNK_MAX;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > FW_CHUNK_MAX) throw new H3lixError('DATA_INVALID', `chunk size must be 1..${FW_CHUNK_MAX} bytes`);
  const progress = o.onProgress ?? (() => undefined);
  const step = async (s: UpdateStep) => {
    o.signal?.throwIfAborted();
    await o.beforeStep?.(s);
  };
  let conn = await o.connect();
  let fw = new McuFirmwareClient(conn.client);
  let reconnects = 0;
  const reconnect = async (why: unknown): Promise<void> => {
    if (!lost(why) || reconnects >= (o.reconnects ?? 5)) throw why;
    o.signal?.throwIfAborted();
    reconnects++;
    progress({ phase: 'resume', detail: `MCU stopped answering (${(why as Error).message}); reconnect ${reconnects}` });
    await conn.close().catch(() => undefined);
    await sleep(o.clock, o.reconnectDelayMs ?? 500);
    conn = await o.connect();
    fw = new McuFirmwareClient(conn.client);
  };
  try {
    // read-only checks first: nothing is written before they pass
    const info = await conn.client.getInfo();
    if (info.name !== img.board) throw new H3lixError('FIRMWARE_BOARD', `image is for board "${img.board}", the MCU is "${info.name}"`);
    const st = await fw.state();
    if (st.runningSlot === undefined) throw new H3lixError('FIRMWARE_UPDATE', `the MCU (${info.name} ${info.firmware}) has no update flash (standalone build)`);
    const from = st.runningVersion;
    if (st.state === 'trial' && from === to) return await healthAndConfirm(o, conn, fw, from, { bytesSent: 0, resumes: reconnects });
    if (st.state !== 'trial' && from === to) return { from, to, slot: st.runningSlot, alreadyRunning: true, bytesSent: 0, resumes: 0 };
    if (st.state === 'trial') throw new H3lixError('FIRMWARE_UPDATE', `the MCU runs ${from} on trial (not confirmed): reset it (it reverts) or confirm it first`);
    const cmp = compareVersions(img.version, from.split('.').map(Number));
    if (cmp < 0 && !o.allowDowngrade) throw new H3lixError('FIRMWARE_DOWNGRADE', `image ${to} is older than the running ${from}: refused without --allow-downgrade`);

    const begin = { size: img.bytes.length, sha256: img.sha256, version: img.version, allowDowngrade: Boolean(o.allowDowngrade), board: img.board };
    let bytesSent = 0;
    let state: McuFwState | undefined;
    for (;;) {
      try {
        if (!state) {
          await step({ kind: 'begin' });
          state = await fw.begin(begin);
          if (state.next > 0) progress({ phase: 'resume', offset: state.next, size: img.bytes.length, detail: `MCU has ${state.next} bytes already` });
        }
        let stalled = 0;
        while (state.next < img.bytes.length) {
          const offset = state.next;
          await step({ kind: 'chunk', offset });
          const data = img.bytes.subarray(offset, Math.min(offset + chunkBytes, img.bytes.length));
          state = await fw.chunk(offset, data);
          bytesSent += data.length;
          // a lower offset (the MCU reset and kept less) is followed; no progress three times is a fault
          stalled = state.next > offset ? 0 : stalled + 1;
          if (stalled >= 3) throw new H3lixError('FIRMWARE_UPDATE', `the MCU does not take the chunk at ${offset} (it wants ${state.next})`);
          if (Math.floor(state.next / 4096) !== Math.floor(offset / 4096) || state.next === img.bytes.length) progress({ phase: 'transfer', offset: state.next, size: img.bytes.length });
        }
        await step({ kind: 'finish' });
        progress({ phase: 'verify' });
        await fw.finish();
        break;
      } catch (err) {
        const r = refused(err, 'the transfer');
        if (r) throw r;
        await reconnect(err);
        state = undefined; // FW_BEGIN again: the MCU reports the offset it wants
      }
    }
    await step({ kind: 'reset' });
    progress({ phase: 'reboot' });
    try {
      await fw.reset();
    } catch (err) {
      if (!lost(err)) throw refused(err, 'FW_RESET') ?? err; // a reset that ate its own ACK is fine
    }
    await conn.close().catch(() => undefined);
    conn = await waitAnswering(o);
    fw = new McuFirmwareClient(conn.client);
    return await healthAndConfirm(o, conn, fw, from, { bytesSent, resumes: reconnects });
  } finally {
    await conn.close().catch(() => undefined);
  }
}

async function healthAndConfirm(o: UpdateFirmwareOptions, conn: UpdaterConnection, fw: McuFirmwareClient, from: string, counts: { bytesSent: number; resumes: number }): Promise<UpdateResult> {
  const to = versionString(o.image.version);
  await o.beforeStep?.({ kind: 'health' });
  o.onProgress?.({ phase: 'health' });
  const info = await conn.client.getInfo();
  const st = await fw.state();
  if (info.firmware !== to || st.state !== 'trial') throw new H3lixError('FIRMWARE_UPDATE', `after the reset the MCU runs ${info.firmware} (${st.state}), not ${to} on trial: its boot stage rejected or reverted the new image`);
  await new McuPowerClient(conn.client).status(); // the power protocol answers too
  await o.beforeStep?.({ kind: 'confirm' });
  await fw.confirm();
  const after = await fw.state();
  if (after.state === 'trial') throw new H3lixError('FIRMWARE_UPDATE', 'FW_CONFIRM was acknowledged but the image is still on trial');
  o.onProgress?.({ phase: 'confirmed' });
  return { from, to, slot: after.runningSlot ?? 0, alreadyRunning: false, ...counts };
}

async function waitAnswering(o: UpdateFirmwareOptions): Promise<UpdaterConnection> {
  const deadline = o.clock.monotonic() + (o.bootTimeoutMs ?? 10_000);
  let last: unknown;
  while (o.clock.monotonic() < deadline) {
    o.signal?.throwIfAborted();
    try {
      const conn = await o.connect();
      try {
        await conn.client.ping();
        return conn;
      } catch (err) {
        last = err;
        await conn.close().catch(() => undefined);
      }
    } catch (err) {
      last = err;
      await sleep(o.clock, 200);
    }
  }
  throw new H3lixError('FIRMWARE_UPDATE', `the MCU does not answer after the reset (${o.bootTimeoutMs ?? 10_000} ms): the image on trial is not confirmed, and the boot stage reverts it at the next reset or power cycle`, { cause: last });
}

function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((r) => clock.setTimeout(r, ms));
}
