import type { Writable } from 'node:stream';
import { startFirmware, type FirmwareTarget } from '../../../firmware-bridge/src/firmware/run.js';
import { connectMcu } from './mcu-connect.js';
import { untilSignalOrTimeout, writeLine } from '../context.js';

/** Protocols of `h3lix emulate` that run the reference firmware instead of the TypeScript emulator. */
export const FIRMWARE_PROTOCOLS = ['mcu-qemu', 'mcu-host'] as const;

/**
 * `h3lix emulate --protocol mcu-qemu|mcu-host --pty PATH [--speed X] [--duration S]`: the reference
 * firmware (QEMU mps2-an385 image, or the host build) with its UART on a pty linked at PATH. `--speed`
 * is sent once (EMU_SET) before consumers connect. Resolves when stopped.
 */
export async function emulateFirmware(o: { protocol: string; pty: string; speed: number; duration?: number; json?: boolean; stdout: Writable; stderr: Writable }): Promise<void> {
  const target: FirmwareTarget = o.protocol === 'mcu-qemu' ? 'qemu' : 'host';
  const fw = await startFirmware({ target, pty: o.pty });
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
