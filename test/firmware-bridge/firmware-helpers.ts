import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { systemClock } from '../../src/util/clock.js';
import { serialLink, type OpenLink } from '../../firmware-bridge/src/link/link.js';
import { McuClient } from '../../firmware-bridge/src/mcu/client.js';
import { McuPowerClient } from '../../firmware-bridge/src/mcu/power-client.js';
import { firmwareDir, startFirmware, type FirmwareTarget, type RunningFirmware } from '../../firmware-bridge/src/firmware/run.js';

const onPath = (bin: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/** Why a firmware target cannot run here (a skip reason), or undefined when it can. Builds it with make. */
export function firmwareSkipReason(target: FirmwareTarget): string | undefined {
  if (!onPath('make') || !onPath('cc')) return 'make/cc not installed';
  if (target === 'qemu' && !onPath('arm-none-eabi-gcc')) return 'gcc-arm-none-eabi not installed (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)';
  if (target === 'qemu' && !onPath('qemu-system-arm')) return 'qemu-system-arm not installed (apt-get install qemu-system-arm)';
  // QEMU: the standalone image and the boot stage (startFirmware boots the latter when given an nvFile).
  const goals = target === 'host' ? ['build/h3lix-mcu-host'] : ['build/h3lix-mcu-mps2.elf', 'build/h3lix-boot-mps2.elf'];
  execFileSync('make', ['-s', '-C', firmwareDir(), ...goals], { stdio: 'ignore' });
  const missing = goals.find((g) => !existsSync(`${firmwareDir()}/${g}`));
  return missing ? `make did not produce ${missing}` : undefined;
}

/** The RP2040 build's outputs (firmware/targets/rp2040, `make rp2040`). */
export const RP2040_OUTPUTS = { elf: 'build/h3lix-mcu-rp2040.elf', bin: 'build/h3lix-mcu-rp2040.bin', uf2: 'build/h3lix-mcu-rp2040.uf2', size: 'build/h3lix-mcu-rp2040.size' };

/** Why the RP2040 image cannot be built here (a skip reason), or undefined once `make rp2040` built it. */
export function rp2040SkipReason(): string | undefined {
  if (!onPath('make') || !onPath('cc')) return 'make/cc not installed';
  if (!onPath('arm-none-eabi-gcc')) return 'gcc-arm-none-eabi not installed (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)';
  execFileSync('make', ['-s', '-C', firmwareDir(), 'rp2040'], { stdio: 'ignore' });
  const missing = Object.values(RP2040_OUTPUTS).find((g) => !existsSync(`${firmwareDir()}/${g}`));
  return missing ? `make did not produce ${missing}` : undefined;
}

/** A running firmware with a connected client. */
export interface FirmwareRig {
  fw: RunningFirmware;
  link: OpenLink;
  client: McuClient;
  power: McuPowerClient;
  close(): Promise<void>;
}

export async function firmwareRig(target: FirmwareTarget, pty: string): Promise<FirmwareRig> {
  const fw = await startFirmware({ target, pty });
  const link = await serialLink({ path: pty, baudRate: 115200 }).open();
  const client = new McuClient({ stream: link.stream, clock: systemClock, timeoutMs: 300, retries: 2 });
  client.start();
  return {
    fw, link, client, power: new McuPowerClient(client),
    close: async () => {
      client.stop();
      await link.close();
      await fw.stop();
    },
  };
}
