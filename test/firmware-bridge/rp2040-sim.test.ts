import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { H3lixError } from '../../src/errors.js';
import { systemClock } from '../../src/util/clock.js';
import { firmwareDir } from '../../firmware-bridge/src/firmware/run.js';
import { McuClient } from '../../firmware-bridge/src/mcu/client.js';
import { cobsEncode } from '../../firmware-bridge/src/mcu/cobs.js';
import { crc16CcittFalse } from '../../firmware-bridge/src/mcu/crc16.js';
import type { McuReading } from '../../firmware-bridge/src/mcu/messages.js';
import { McuPowerClient } from '../../firmware-bridge/src/mcu/power-client.js';
import { encodePacket } from '../../firmware-bridge/src/mcu/protocol.js';
import { RP2040_OUTPUTS, rp2040SkipReason } from './firmware-helpers.js';
import { until } from './helpers.js';
import { EmulatedIna219, Rp2040Sim } from './rp2040-sim.js';

// The RP2040 image itself (build/h3lix-mcu-rp2040.bin, boot2 included) run in rp2040js, spoken to by the
// same McuClient / McuPowerClient the runtime uses, with emulated INA219s on the emulated I2C0 bus.
const skip = rp2040SkipReason();
const SETTINGS_FLASH = 2048 * 1024 - 4096; // hal_rp2040_flash.c: the last 4 KB sector of a 2 MB flash

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return err instanceof H3lixError ? `${err.code}${err.detail?.['nack'] === undefined ? '' : `:${String(err.detail['nack'])}`}` : String(err);
  }
}

/** A settings page as firmware/include/settings.h lays it out, CRC-16 over the 18 bytes before the CRC. */
function settingsPage(sampleMs: number, corruptCrc = false): Buffer {
  const p = Buffer.alloc(24);
  p.writeUInt32LE(0x584c3348, 0); // 'H3LX'
  p.writeUInt16LE(1, 4);
  p.writeUInt16LE(0, 6); // watchdog off
  p.writeUInt32LE(sampleMs, 8);
  p.writeUInt16LE(10, 12);
  p.writeUInt16LE(50, 14);
  p.writeUInt16LE(150, 16);
  p.writeUInt16LE(crc16CcittFalse(p, 0, 18) ^ (corruptCrc ? 1 : 0), 18);
  p.writeUInt32LE(7812, 20);
  return p;
}

function rig(t: { teardown(fn: () => void): void }, flash: Buffer, chips: Map<number, EmulatedIna219>, flashRom = false): { sim: Rp2040Sim; client: McuClient; power: McuPowerClient } {
  const sim = new Rp2040Sim({ flash, ina219: chips, flashRom });
  // 1 s per attempt (the runtime's default is 300 ms): rp2040js lags real time on a loaded machine
  const client = new McuClient({ stream: sim.stream, clock: systemClock, timeoutMs: 1000, retries: 2 });
  sim.start();
  client.start();
  t.teardown(() => {
    client.stop();
    sim.stop();
  });
  return { sim, client, power: new McuPowerClient(client) };
}

t.test('RP2040 image in rp2040js', { skip }, async (t) => {
  const image = skip ? Buffer.alloc(0) : readFileSync(join(firmwareDir(), RP2040_OUTPUTS.bin));
  const battery = Object.assign(new EmulatedIna219(), { volts: 13.1, amps: 1.5 });
  const pv = Object.assign(new EmulatedIna219(), { volts: 18.0, amps: 1.2 });
  const load = Object.assign(new EmulatedIna219(), { volts: 12.9, amps: 0.3 });
  const { sim, client, power } = rig(t, image, new Map([[0x40, battery], [0x41, pv], [0x44, load]]));

  t.test('boots through its own boot2, answers INFO and PING over UART0', async (t) => {
    t.same(await client.ping(Buffer.from('rp2040')), Buffer.from('rp2040'));
    t.equal(sim.mcu.core.VTOR, 0x10000100, 'boot2 pointed VTOR at the application vector table');
    const info = await client.getInfo();
    t.equal(info.name, 'h3lix-ref-rp2040');
    t.equal(info.firmware, '1.1.0');
    t.equal(info.sensor, 'INA219');
    t.equal(info.sampleIntervalMs, 1000, 'blank settings sector: defaults');
    t.ok(sim.hostPowered, 'GP2 (host load switch) driven high at power-up');
    t.same(sim.log.filter((l) => !l.includes('IC_SDA_HOLD')), [], 'rp2040js saw no access to an unmodelled register or a bad address');
  });

  t.test('READING from the INA219s on I2C0 (register formats of TI SBOS448G)', async (t) => {
    // the first measurement, 100 ms after boot: each chip gets 2 writes (config, calibration) and 3 reads
    await until(() => [battery, pv, load].every((c) => c.accesses >= 5), 2000, 'the first measurement');
    const r = await client.getReading();
    t.equal(r.batteryMilliVolts, 13100);
    t.equal(r.batteryMilliAmps, 1500, 'charging current from the shunt and calibration registers');
    t.equal(r.socPerMille, 600, 'SOC anchored from the LiFePO4 OCV table at 13.1 V');
    t.equal(r.pvMilliVolts, 18000);
    t.equal(r.pvMilliWatts, 21600, 'power register x 20 mW');
    t.equal(r.loadMilliWatts, 3860);
    battery.volts = 12.5;
    battery.amps = -2;
    const before = battery.accesses;
    await until(() => battery.accesses >= before + 6, 3000, 'two more measurements');
    const r2 = await client.getReading();
    t.equal(r2.batteryMilliVolts, 12500, 'live: the next measurement follows the chip');
    t.equal(r2.batteryMilliAmps, -2000, 'discharging reads negative');
    battery.volts = 13.1;
    battery.amps = 1.5;
  });

  t.test('streams a READING every sample interval', async (t) => {
    const streamed: McuReading[] = [];
    const off = client.events.on('reading', (r) => void streamed.push(r));
    await until(() => streamed.length >= 2, 5000, 'two streamed READINGs');
    off();
    t.ok(streamed[0]!.batteryMilliVolts > 12000);
  });

  t.test('a frame with a bad CRC is counted and not answered; the same frame with its CRC is', async (t) => {
    const rejected = (await power.status()).rejectedFrames;
    const heard: Buffer[] = [];
    const listen = (b: Buffer): void => void heard.push(b);
    sim.stream.on('data', listen);
    const good = encodePacket(0x10, 0x4242, Buffer.from([7, 7]));
    const bad = Buffer.from(good);
    bad[bad.length - 1]! ^= 0x01;
    sim.stream.write(Buffer.concat([cobsEncode(bad), Buffer.from([0])]));
    await new Promise((r) => setTimeout(r, 300));
    const afterBad = Buffer.concat(heard);
    t.notOk(afterBad.includes(Buffer.from([0x42, 0x42])), 'no answer carries the bad frame\'s seq 0x4242');
    t.equal((await power.status()).rejectedFrames, rejected + 1, 'the firmware counted it');
    heard.length = 0;
    sim.stream.write(Buffer.concat([cobsEncode(good), Buffer.from([0])]));
    await until(() => Buffer.concat(heard).includes(Buffer.from([0x11, 0x42, 0x42])), 2000, 'the PONG to the good frame');
    sim.stream.off('data', listen);
    t.pass('control: the correct frame is answered with PONG seq 0x4242');
  });

  t.test('no update flash on this target: FW_BEGIN refused with NACK 9 (no update storage)', async (t) => {
    const begin = Buffer.alloc(40 + 'h3lix-ref-rp2040'.length);
    begin.writeUInt32LE(4096, 0);
    begin.write('h3lix-ref-rp2040', 40);
    begin.set([1, 2, 0], 36);
    t.equal(await code(client.request(0x40, begin, [0x46])), 'COMMAND_REFUSED:9');
    t.equal(await code(client.request(0x44, Buffer.alloc(0), [0x02])), 'COMMAND_REFUSED:9', 'FW_RESET too');
    t.same(await client.ping(), Buffer.alloc(0), 'still answering');
  });

  t.test('power-off until the battery voltage recovers: GP2 low, woken by the INA219 reading', async (t) => {
    battery.volts = 12.6;
    const seen = battery.accesses;
    await until(() => battery.accesses >= seen + 3, 2000, 'a measurement at 12.6 V');
    await power.requestPowerOff({ until: { kind: 'voltage', milliVolts: 13300 }, graceSeconds: 30, haltSeconds: 0, maxOffSeconds: 0 });
    await power.shutdownReady();
    await until(() => !sim.hostPowered, 3000, 'the load switch off');
    t.equal(await code(client.ping()), 'REQUEST_TIMEOUT', 'a powered-off host gets no answers');
    t.notOk(sim.hostPowered, 'still off at 12.6 V');
    battery.volts = 13.4;
    await until(() => sim.hostPowered, 3000, 'the load switch on again');
    const st = await power.status();
    t.equal(st.wakeReason, 'voltage');
    t.equal(st.powerOns, 2);
    t.equal(st.powerState, 'on');
  });

  t.test('round trip over the emulated UART (rp2040js speed, not the hardware\'s)', async (t) => {
    const ms: number[] = [];
    for (let i = 0; i < 50; i++) {
      const s = performance.now();
      await client.ping(Buffer.from([i]));
      ms.push(performance.now() - s);
    }
    ms.sort((a, b) => a - b);
    t.comment(`rp2040js: PING round trip p50 ${ms[25]!.toFixed(2)} ms, p98 ${ms[48]!.toFixed(2)} ms (50 pings)`);
    t.equal(ms.length, 50);
  });
});

t.test('RP2040 image in rp2040js: settings sector and absent sensors', { skip }, async (t) => {
  const image = skip ? Buffer.alloc(0) : readFileSync(join(firmwareDir(), RP2040_OUTPUTS.bin));
  const withSettings = (page: Buffer): Buffer => {
    const flash = Buffer.alloc(SETTINGS_FLASH + 4096, 0xff);
    image.copy(flash);
    page.copy(flash, SETTINGS_FLASH);
    return flash;
  };

  t.test('a valid settings page in flash is loaded at boot (read through XIP, CRC checked)', async (t) => {
    const { client } = rig(t, withSettings(settingsPage(2500)), new Map());
    t.equal((await client.getInfo()).sampleIntervalMs, 2500);
  });

  t.test('control: the same page with a bad CRC gives the defaults', async (t) => {
    const { client } = rig(t, withSettings(settingsPage(2500, true)), new Map());
    t.equal((await client.getInfo()).sampleIntervalMs, 1000);
  });

  t.test('control: no INA219 on the bus: a reading with nothing valid, and no hang', async (t) => {
    const { client } = rig(t, image, new Map());
    await new Promise((r) => setTimeout(r, 300)); // a few measurement rounds, all NACKed
    const r = await client.getReading();
    t.equal(r.batteryMilliVolts, 0);
    t.equal(r.socPerMille, undefined, 'SOC not valid');
    t.equal(r.pvMilliWatts, undefined, 'PV not valid');
    t.equal(r.loadMilliWatts, undefined, 'load not valid');
    t.same(await client.ping(Buffer.from([1])), Buffer.from([1]), 'bounded I2C waits: still answering');
  });
});

t.test('RP2040 image in rp2040js: settings written to flash through the bootrom API', { skip }, async (t) => {
  const image = skip ? Buffer.alloc(0) : readFileSync(join(firmwareDir(), RP2040_OUTPUTS.bin));
  const saved = (flash: Uint8Array): Buffer => Buffer.from(flash.subarray(SETTINGS_FLASH, SETTINGS_FLASH + 24));

  t.test('SET_SAMPLE_INTERVAL erases and programs the sector from SRAM, and survives a power cycle', async (t) => {
    const { sim, client } = rig(t, image, new Map(), true);
    await client.setSampleInterval(2500);
    t.same(sim.rom!.calls, ['IF', 'EX', 'RE 0x1ff000+4096', 'RP 0x1ff000+256', 'FC', 'CX'], 'the pico-sdk call order');
    t.same(sim.rom!.violations, [], 'no flash access while XIP was off, interrupts masked, data from SRAM');
    t.same(saved(sim.mcu.flash), settingsPage(2500), 'the page as settings.h lays it out, with its CRC');
    const { client: after } = rig(t, Buffer.from(sim.mcu.flash.subarray(0, SETTINGS_FLASH + 4096)), new Map(), true);
    t.equal((await after.getInfo()).sampleIntervalMs, 2500, 'loaded at the next boot');
  });

  t.test('control: the flash routine left in XIP flash (H3LIX_TEST_RAMFUNC_IN_FLASH) is caught', { timeout: 120_000 }, async (t) => {
    const out = join(t.testdir(), 'b');
    execFileSync('make', ['-s', '-C', firmwareDir(), `B=${out}`, 'TESTDEFS=-DH3LIX_TEST_RAMFUNC_IN_FLASH', `${out}/h3lix-mcu-rp2040.bin`], { stdio: 'ignore' });
    const { sim, client } = rig(t, readFileSync(join(out, 'h3lix-mcu-rp2040.bin')), new Map(), true);
    await client.setSampleInterval(2500);
    const v = sim.rom!.violations;
    t.ok(v.some((x) => /called from 0x1000[0-9a-f]{4} while XIP is off/.test(x)), `ROM calls from flash found: ${v[0]}`);
    t.ok(v.some((x) => /fetch\/read of flash .* while XIP is off/.test(x)), 'instruction fetches from flash found');
  });
});
