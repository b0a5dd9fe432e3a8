import { H3lixError } from '../../../src/errors.js';
import type { McuClient } from './client.js';
import { encodeU32 } from './messages.js';
import { checkPowerOff, decodeStatus, encodeEmuSet, encodePowerOff, type EmuSettings, type McuStatus, type PowerOffRequest } from './power-messages.js';
import { MsgType } from './protocol.js';

/**
 * The power protocol on top of a started {@link McuClient} (README "Power protocol"): wall clock,
 * status and wake reason, planned power-off with the shutdown handshake, heartbeat and watchdog.
 */
export class McuPowerClient {
  constructor(private readonly client: McuClient) {}

  /** Set the MCU's real-time counter (epoch seconds, ≥ 2020). */
  async setTime(epochMs: number): Promise<void> {
    await this.ack(MsgType.SET_TIME, encodeU32(Math.floor(epochMs / 1000)));
  }

  async status(): Promise<McuStatus> {
    return decodeStatus((await this.client.request(MsgType.GET_STATUS, Buffer.alloc(0), [MsgType.STATUS])).payload);
  }

  /**
   * Step 1 of the handshake: the MCU arms the power-off and waits `graceSeconds` for {@link shutdownReady}.
   * Throws COMMAND_REFUSED (NACK) when the MCU rejects the condition (e.g. a wall time without SET_TIME).
   */
  async requestPowerOff(r: PowerOffRequest): Promise<void> {
    checkPowerOff(r);
    await this.ack(MsgType.POWER_OFF, encodePowerOff(r));
  }

  /** Step 2: state persisted, death published; the MCU cuts power `haltSeconds` after this ACK. */
  async shutdownReady(): Promise<void> {
    await this.ack(MsgType.SHUTDOWN_ACK, Buffer.alloc(0));
  }

  /** Withdraw an armed power-off before it was acknowledged. */
  async cancel(): Promise<void> {
    await this.ack(MsgType.POWER_CANCEL, Buffer.alloc(0));
  }

  async heartbeat(): Promise<void> {
    await this.ack(MsgType.HEARTBEAT, Buffer.alloc(0));
  }

  /** Power-cycle the host (off for `offSeconds`) when no request arrives for `timeoutSeconds` (0 = off, else 10..3600). */
  async setWatchdog(timeoutSeconds: number, offSeconds: number): Promise<void> {
    if (!Number.isInteger(timeoutSeconds) || (timeoutSeconds !== 0 && (timeoutSeconds < 10 || timeoutSeconds > 3600))) throw new H3lixError('DATA_INVALID', `watchdog timeout must be 0 or 10..3600 s, got ${timeoutSeconds}`);
    if (!Number.isInteger(offSeconds) || offSeconds < 1 || offSeconds > 3600) throw new H3lixError('DATA_INVALID', `watchdog off time must be 1..3600 s, got ${offSeconds}`);
    const b = Buffer.alloc(4);
    b.writeUInt16LE(timeoutSeconds, 0);
    b.writeUInt16LE(offSeconds, 2);
    await this.ack(MsgType.SET_WATCHDOG, b);
  }

  /** Emulated firmware only: time acceleration and battery/PV model settings. */
  async emulation(e: EmuSettings): Promise<void> {
    await this.ack(MsgType.EMU_SET, encodeEmuSet(e));
  }

  private async ack(type: number, payload: Buffer): Promise<void> {
    await this.client.request(type, payload, [MsgType.ACK]);
  }
}
