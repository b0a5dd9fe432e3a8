import type { Writable } from 'node:stream';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { H3lixError } from '../../errors.js';
import { createSigner, generateKeyPair } from '../../crypto/ed25519.js';
import { buildImage } from '../../../firmware-bridge/src/firmware/image.js';
import { provisionNvFlash } from '../../../firmware-bridge/src/firmware/nv-flash.js';
import { firmwareDir, startFirmware, type FirmwareTarget } from '../../../firmware-bridge/src/firmware/run.js';
import { connectMcu } from './mcu-connect.js';
import { UsageError, untilSignalOrTimeout, writeLine } from '../context.js';

/**
 * Factory programming of a new update-flash file: the built slot application (build/h3lix-app-mps2.bin)
 * as version 1.1.0 in slot 0. Its header is signed with a one-time key: the MCU checks the SHA-256, never
 * a signature (README "Firmware updates", trust split); updates are signed with the fleet key.
 */
function provisionFactory(nv: string): void {
  const bin = join(firmwareDir(), 'build', 'h3lix-app-mps2.bin');
  if (!existsSync(bin)) throw new H3lixError('SERIAL_UNAVAILABLE', `${bin} is not built: run \`npm run firmware\``);
  provisionNvFlash(nv, buildImage({ payload: readFileSync(bin), board: 'h3lix-ref-mps2', version: [1, 1, 0], loadAddress: 0x10000, signer: createSigner(generateKeyPair()) }).bytes);
}

/** Protocols of `h3lix emulate` that run the reference firmware instead of the TypeScript emulator. */
export const FIRMWARE_PROTOCOLS = ['mcu-qemu', 'mcu-host'] as const;

/**
 * `h3lix emulate --protocol mcu-qemu|mcu-host --pty PATH [--speed X] [--duration S]`: the reference
 * firmware (QEMU mps2-an385 image, or the host build) with its UART on a pty linked at PATH. `--speed`
 * is sent once (EMU_SET) before consumers connect. Resolves when stopped.
 */
export async function emulateFirmware(o: { protocol: string; pty: string; speed: number; duration?: number; nv?: string; json?: boolean; stdout: Writable; stderr: Writable }): Promise<void> {
  const target: FirmwareTarget = o.protocol === 'mcu-qemu' ? 'qemu' : 'host';
  if (o.nv && target !== 'qemu') throw new UsageError('--nv (A/B slots) needs --protocol mcu-qemu');
  if (o.nv && !existsSync(o.nv)) provisionFactory(o.nv);
  const fw = await startFirmware({ target, pty: o.pty, ...(o.nv ? { nvFile: resolve(o.nv) } : {}) });
  try {
    if (o.speed !== 1) {
      const mcu = await connectMcu(o.pty);
      try {
        await mcu.power.emulation({ speed: Math.max(1, Math.min(10_000, Math.round(o.speed))) });
      } finally {
        await mcu.close();
      }
    }
    writeLine(o.stderr, `emulating the reference firmware (${target === 'qemu' ? 'QEMU mps2-an385' : 'host build'}) on ${o.pty} → ${fw.device} (speed ${o.speed}x); Ctrl-C to stop`);
    await untilSignalOrTimeout(o.duration);
  } finally {
    await fw.stop();
  }
  const summary = { protocol: o.protocol, path: o.pty, device: fw.device, target };
  writeLine(o.stdout, o.json ? JSON.stringify(summary) : `stopped: ${o.protocol} on ${o.pty}`);
}
