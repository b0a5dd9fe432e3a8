/**
 * The companion MCU (issue 13): protocol round trip to the reference firmware under QEMU mps2-an385
 * (baseline: the same client against the host build of the same firmware on a pty), and the planned-sleep
 * goals of the default 7-day scenario, and the image sizes (the RP2040 flash goal: <= 64 KiB). `npx tsx bench/run.ts mcu-firmware`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchRow } from './row.js';
import { percentile } from './row.js';
import { systemClock } from '../src/util/clock.js';
import { loadBoardProfile } from '../src/energy/board-profile.js';
import { seededCloudyDays, simulateEnergy } from '../src/energy/sim/simulate.js';
import { serialLink } from '../firmware-bridge/src/link/link.js';
import { McuClient } from '../firmware-bridge/src/mcu/client.js';
import { firmwareDir, startFirmware, type FirmwareTarget } from '../firmware-bridge/src/firmware/run.js';

async function roundTrips(target: FirmwareTarget, n: number): Promise<number[]> {
  const pty = join(mkdtempSync(join(tmpdir(), 'h3lix-bench-')), 'tty');
  const fw = await startFirmware({ target, pty });
  const link = await serialLink({ path: pty, baudRate: 115200 }).open();
  const client = new McuClient({ stream: link.stream, clock: systemClock });
  client.start();
  try {
    for (let i = 0; i < 20; i++) await client.ping(); // warm-up
    const ms: number[] = [];
    for (let i = 0; i < n; i++) {
      const s = performance.now();
      await client.ping(Buffer.from([i & 0xff, 1, 2, 3]));
      ms.push(performance.now() - s);
    }
    return ms.sort((a, b) => a - b);
  } finally {
    client.stop();
    await link.close();
    await fw.stop();
  }
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  try {
    execFileSync('make', ['-s', '-C', firmwareDir(), 'all'], { stdio: 'ignore' });
    const host = await roundTrips('host', 1000);
    const qemu = await roundTrips('qemu', 1000);
    const p99 = percentile(qemu, 99);
    rows.push({ metric: 'PING round trip p99, QEMU mps2-an385 firmware over a pty', value: p99, unit: 'ms', baseline: percentile(host, 99), baselineName: 'host build of the firmware', ratio: p99 / percentile(host, 99), target: 'value <= 20 ms', ok: p99 <= 20 });
    rows.push({ metric: 'PING round trip p50, QEMU firmware', value: percentile(qemu, 50), unit: 'ms', baseline: percentile(host, 50), baselineName: 'host build', ratio: percentile(qemu, 50) / percentile(host, 50) });
    const text = execFileSync('arm-none-eabi-size', [join(firmwareDir(), 'build', 'h3lix-mcu-mps2.elf')], { encoding: 'utf8' }).split('\n')[1]!.trim().split(/\s+/).map(Number);
    rows.push({ metric: 'Cortex-M3 image flash (text + data)', value: (text[0]! + text[1]!) / 1024, unit: 'KiB' });
    rows.push({ metric: 'Cortex-M3 image RAM (data + bss)', value: (text[1]! + text[2]!) / 1024, unit: 'KiB' });
    // RP2040: the flash image is the .bin (boot2 + text + the .data image); RAM from `make`'s size file
    const rpFlash = statSync(join(firmwareDir(), 'build', 'h3lix-mcu-rp2040.bin')).size / 1024;
    const rpRam = Number(/static RAM (\d+) bytes/.exec(readFileSync(join(firmwareDir(), 'build', 'h3lix-mcu-rp2040.size'), 'utf8'))?.[1]) / 1024;
    rows.push({ metric: 'RP2040 image flash (boot2 + text + data)', value: rpFlash, unit: 'KiB', target: 'value <= 64 KiB', ok: rpFlash <= 64 });
    rows.push({ metric: 'RP2040 image static RAM (data + bss)', value: rpRam, unit: 'KiB' });
  } catch (err) {
    process.stderr.write(`bench: mcu-firmware round trip skipped: ${(err as Error).message}\n`);
  }
  const board = loadBoardProfile('rpi-4');
  const r = await simulateEnergy({ days: 7, board, panelWatts: 30, batteryWh: 100, seed: 1, cloudyDays: seededCloudyDays(7, 1) });
  rows.push({ metric: 'default 7-day scenario: brownouts with the companion MCU', value: r.adaptive.brownouts, unit: 'count', baseline: r.fixed.brownouts, baselineName: 'fixed schedule, no MCU', target: 'value = 0', ok: r.adaptive.brownouts === 0 });
  const ratio = r.adaptive.workDone / r.fixed.workDone;
  rows.push({ metric: 'default 7-day scenario: learning units', value: r.adaptive.workDone, unit: 'units', baseline: r.fixed.workDone, baselineName: 'fixed schedule', ratio, target: 'ratio >= 0.9', ok: ratio >= 0.9 });
  rows.push({ metric: 'default 7-day scenario: uptime with the MCU', value: r.adaptive.uptimePct, unit: '%', baseline: r.fixed.uptimePct, baselineName: 'fixed schedule (brownouts)', ratio: r.adaptive.uptimePct / r.fixed.uptimePct });
  return rows;
}
