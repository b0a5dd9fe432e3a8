import type { McuClient } from './client.js';
import { decodeFwState, encodeFwBegin, encodeFwChunk, type FwBegin, type McuFwState } from './fw-messages.js';
import { MsgType } from './protocol.js';

/** Per-attempt timeout of FW_FINISH: the MCU reads back the slot, hashes it and verifies a signature. */
export const FW_FINISH_TIMEOUT_MS = 5000;

/**
 * The firmware-update messages on a started {@link McuClient} (README "Firmware updates"). Every request
 * is idempotent, so the client's retries with the same seq are safe: a repeated chunk writes nothing.
 */
export class McuFirmwareClient {
  constructor(private readonly client: McuClient) {}

  async state(): Promise<McuFwState> {
    return this.fwState(MsgType.FW_GET_STATE, Buffer.alloc(0));
  }

  /** Start (or, for the same image, resume) a transfer into the inactive slot; the answer names the next offset. */
  async begin(b: FwBegin): Promise<McuFwState> {
    return this.fwState(MsgType.FW_BEGIN, encodeFwBegin(b));
  }

  async chunk(offset: number, data: Uint8Array): Promise<McuFwState> {
    return this.fwState(MsgType.FW_CHUNK, encodeFwChunk(offset, data));
  }

  /**
   * The MCU hashes the received image and verifies its Ed25519 signature; on success the slot boots on
   * trial at the next reset. Waits at least {@link FW_FINISH_TIMEOUT_MS} per attempt: the verify alone is
   * 16.4 M instructions on a Cortex-M3 (docs/firmware-bridge.md), about a second at 25 MHz.
   */
  async finish(): Promise<McuFwState> {
    return this.fwState(MsgType.FW_FINISH, Buffer.alloc(0), FW_FINISH_TIMEOUT_MS);
  }

  /** Reset into the boot stage (ACKed before the reset). */
  async reset(): Promise<void> {
    await this.client.request(MsgType.FW_RESET, Buffer.alloc(0), [MsgType.ACK]);
  }

  /** Keep the image on trial (it becomes the confirmed slot). */
  async confirm(): Promise<void> {
    await this.client.request(MsgType.FW_CONFIRM, Buffer.alloc(0), [MsgType.ACK]);
  }

  private async fwState(type: number, payload: Buffer, timeoutMs?: number): Promise<McuFwState> {
    return decodeFwState((await this.client.request(type, payload, [MsgType.FW_STATE], timeoutMs)).payload);
  }
}
