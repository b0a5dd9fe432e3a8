import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock } from '../../src/util/clock.js';
import { createSigner, keyPairFromSeed, type Ed25519KeyPair } from '../../src/crypto/ed25519.js';
import { serialLink } from '../../firmware-bridge/src/link/link.js';
import { McuClient } from '../../firmware-bridge/src/mcu/client.js';
import { McuFirmwareClient } from '../../firmware-bridge/src/mcu/fw-client.js';
import { buildImage, type FirmwareImage } from '../../firmware-bridge/src/firmware/image.js';
import { firmwareDir, startFirmware, type RunningFirmware } from '../../firmware-bridge/src/firmware/run.js';
import type { UpdaterConnection } from '../../firmware-bridge/src/firmware/update.js';

export const BOARD = 'h3lix-ref-mps2';
/** A fixed test fleet key (never a real fleet's). */
export const fleetKey: Ed25519KeyPair = keyPairFromSeed(new Uint8Array(32).fill(13));
export const otherKey: Ed25519KeyPair = keyPairFromSeed(new Uint8Array(32).fill(14));

/**
 * Build the boot stage and the slot application into build/<name> with extra defines (other versions,
 * test-only negative-control switches) and the fleet key compiled in (FLEET_PUBKEY; `key: null` builds a
 * firmware without one). Returns the folder.
 */
export function buildVariant(name: string, defs: { fw?: string; test?: string; key?: Uint8Array | null } = {}): string {
  const b = `build/${name}`;
  const key = defs.key === undefined ? fleetKey.publicKey : defs.key;
  const pub = key ? Buffer.from(key).toString('hex') : '';
  execFileSync('make', ['-s', '-C', firmwareDir(), `B=${b}`, `FWDEFS=${defs.fw ?? ''}`, `TESTDEFS=${defs.test ?? ''}`, `FLEET_PUBKEY=${pub}`, 'slots'], { stdio: 'ignore' });
  return join(firmwareDir(), b);
}

export function signedImage(dir: string, version: [number, number, number], key = fleetKey): FirmwareImage {
  return buildImage({ payload: readFileSync(join(dir, 'h3lix-app-mps2.bin')), board: BOARD, version, loadAddress: 0x10000, signer: createSigner(key) });
}

/** Connections for the updater with short timeouts, so a cut is noticed fast. */
export function connector(pty: string, timeoutMs = 150, retries = 1): () => Promise<UpdaterConnection> {
  return async () => {
    const link = await serialLink({ path: pty, baudRate: 115200 }).open();
    const client = new McuClient({ stream: link.stream, clock: systemClock, timeoutMs, retries });
    client.start();
    // the pty vanishes with QEMU (EIO): fail what is pending at once, as a vanished serial device does
    link.stream.on('error', () => client.stop());
    return {
      client,
      close: async () => {
        client.stop();
        await link.close();
      },
    };
  };
}

/** Start QEMU on the boot stage of `bootDir` with update flash `nv`; undefined when nothing answers (not bootable). */
export async function bootQemu(pty: string, nv: string, bootDir?: string, timeoutMs = 8000): Promise<RunningFirmware | undefined> {
  try {
    return await startFirmware({ target: 'qemu', pty, nvFile: nv, timeoutMs, ...(bootDir ? { kernel: join(bootDir, 'h3lix-boot-mps2.elf') } : {}) });
  } catch {
    return undefined;
  }
}

/** What a booted MCU runs: INFO version and FW_STATE. */
export async function probe(pty: string): Promise<{ version: string; state: string; slot: number | undefined }> {
  const c = await connector(pty, 300, 2)();
  try {
    const info = await c.client.getInfo();
    const st = await new McuFirmwareClient(c.client).state();
    return { version: info.firmware, state: st.state, slot: st.runningSlot };
  } finally {
    await c.close();
  }
}
