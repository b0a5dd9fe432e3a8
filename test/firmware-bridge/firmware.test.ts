import t from 'tap';
import { join } from 'node:path';
import { H3lixError } from '../../src/errors.js';
import type { McuReading } from '../../firmware-bridge/src/mcu/messages.js';
import type { ShutdownNotice } from '../../firmware-bridge/src/mcu/power-messages.js';
import type { FirmwareTarget } from '../../firmware-bridge/src/firmware/run.js';
import { firmwareRig, firmwareSkipReason, type FirmwareRig } from './firmware-helpers.js';
import { until } from './helpers.js';

// The reference firmware (firmware-bridge/firmware, C11) as a host process on a pty and as the
// Cortex-M3 image under QEMU mps2-an385, driven by the real TypeScript McuClient over the pty.
const NOON = Date.UTC(2026, 5, 1, 12, 0, 0);

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return err instanceof H3lixError ? err.code : String(err);
  }
}

for (const target of ['host', 'qemu'] as FirmwareTarget[]) {
  const skip = firmwareSkipReason(target);
  t.test(`${target} firmware`, { skip }, async (t) => {
    const rig: FirmwareRig = await firmwareRig(target, join(t.testdir(), 'ttyMCU'));
    t.teardown(() => rig.close());
    const { client, power } = rig;

    t.test('existing protocol: INFO, PING, streamed and requested READINGs from the emulated INA219s', async (t) => {
      const info = await client.getInfo();
      t.equal(info.name, target === 'host' ? 'h3lix-ref-host' : 'h3lix-ref-mps2');
      t.equal(info.firmware, '1.1.0');
      t.equal(info.sensor, 'INA219');
      t.same(await client.ping(Buffer.from('hello')), Buffer.from('hello'));
      const streamed: McuReading[] = [];
      client.events.on('reading', (r) => streamed.push(r));
      await until(() => streamed.length >= 1, 5000, 'a streamed READING');
      const r = await client.getReading();
      t.ok(r.batteryMilliVolts > 12_000 && r.batteryMilliVolts < 14_000, `battery ${r.batteryMilliVolts} mV (LiFePO4 4S at 70 %)`);
      t.ok(r.socPerMille !== undefined && r.socPerMille > 500 && r.socPerMille < 900, `SOC ${r.socPerMille} ‰ anchored from OCV`);
      t.ok(r.pvMilliWatts! > 5000, `PV ${r.pvMilliWatts} mW at 10:00`);
      t.ok(r.batteryMilliAmps > 0, 'charging in the morning sun');
      t.ok(r.loadMilliWatts! > 2000, `load ${r.loadMilliWatts} mW (host 2.7 W + MCU)`);
      t.equal(await code(client.setSampleInterval(50)), 'DATA_INVALID', 'host-side range check');
      t.equal(await code(client.request(0x20, Buffer.from([10, 0, 0, 0]), [0x02])), 'COMMAND_REFUSED', 'firmware NACKs 10 ms out of range');
      t.equal(await code(client.request(0x6f, Buffer.alloc(0), [0x02])), 'COMMAND_REFUSED', 'unknown type NACKed');
    });

    t.test('garbage on the line is counted by the firmware, never a crash', async (t) => {
      const before = (await power.status()).rejectedFrames;
      rig.link.stream.write(Buffer.from([0x05, 0x01, 0x10, 0x01, 0xaa, 0x00])); // valid COBS, bad CRC
      rig.link.stream.write(Buffer.concat([Buffer.alloc(300, 0x41), Buffer.from([0])])); // oversize
      rig.link.stream.write(Buffer.from([0x02, 0x00])); // too short
      const after = (await power.status()).rejectedFrames;
      t.equal(after - before, 3, 'three bad frames counted');
      t.same(await client.ping(Buffer.from([1, 2, 3])), Buffer.from([1, 2, 3]), 'still answering');
    });

    t.test('round trip over the pty', async (t) => {
      const ms: number[] = [];
      for (let i = 0; i < 100; i++) {
        const s = performance.now();
        await client.ping(Buffer.from([i]));
        ms.push(performance.now() - s);
      }
      ms.sort((a, b) => a - b);
      t.comment(`${target}: PING round trip p50 ${ms[50]!.toFixed(2)} ms, p99 ${ms[98]!.toFixed(2)} ms (100 pings)`);
      t.equal(ms.length, 100);
    });

    t.test('wall-time power-off is refused until the clock is set', async (t) => {
      t.equal((await power.status()).wallSeconds, 0, 'clock unset at power-up');
      t.equal(await code(power.requestPowerOff({ until: { kind: 'wall', epochSeconds: NOON / 1000 + 60 }, graceSeconds: 5, haltSeconds: 0, maxOffSeconds: 0 })), 'COMMAND_REFUSED');
      await power.setTime(NOON);
      const st = await power.status();
      t.ok(Math.abs(st.wallSeconds - NOON / 1000) <= 2, `clock ${st.wallSeconds}`);
      t.equal(st.powerState, 'on');
    });

    t.test('planned power-off for a duration: handshake, host off, wake reason timer', async (t) => {
      // the handshake in real time (a loaded machine must not outrun the grace), then 1000x once halting
      await power.emulation({ speed: 1 });
      await power.requestPowerOff({ until: { kind: 'duration', seconds: 3600 }, graceSeconds: 60, haltSeconds: 5, maxOffSeconds: 0 });
      t.equal((await power.status()).powerState, 'shutdown-pending');
      t.equal(await code(power.requestPowerOff({ until: { kind: 'soc', perMille: 900 }, graceSeconds: 60, haltSeconds: 5, maxOffSeconds: 0 })), 'COMMAND_REFUSED', 'a second, different request while pending is refused (busy)');
      await power.shutdownReady();
      t.equal((await power.status()).powerState, 'halting');
      await power.emulation({ speed: 1000 });
      // the cut comes 5 simulated s after the ACK; from then on the firmware ignores the (powered-off) host
      let answered = 'resolved';
      for (const end = Date.now() + 3000; answered === 'resolved' && Date.now() < end; ) answered = await code(client.ping());
      t.equal(answered, 'REQUEST_TIMEOUT', 'a powered-off host gets no answers');
      if (target === 'host') t.ok(rig.fw.log.includes('h3lix-mcu: host power off'), 'load switch GPIO driven low');
      let st = await power.status().catch(() => undefined);
      const end = Date.now() + 15_000;
      while ((!st || st.powerOns < 2) && Date.now() < end) st = await power.status().catch(() => undefined);
      t.ok(st, 'the host was woken');
      t.equal(st!.wakeReason, 'timer');
      t.equal(st!.powerOns, 2);
      t.ok(st!.lastSleepSeconds >= 3600 && st!.lastSleepSeconds < 3900, `slept ${st!.lastSleepSeconds} s (3600 planned)`);
      t.equal(st!.ackTimeouts, 0);
    });

    t.test('no SHUTDOWN_ACK within the grace time: the MCU cuts anyway and counts it', async (t) => {
      await power.requestPowerOff({ until: { kind: 'duration', seconds: 600 }, graceSeconds: 120, haltSeconds: 0, maxOffSeconds: 0 });
      let st = await power.status().catch(() => undefined);
      const end = Date.now() + 15_000;
      while ((!st || st.powerOns < 3) && Date.now() < end) st = await power.status().catch(() => undefined);
      t.equal(st?.ackTimeouts, 1);
      t.equal(st?.wakeReason, 'timer');
    });

    t.test('power-off until SOC reaches a threshold: the emulated battery charges while the host is off', async (t) => {
      await power.setTime(NOON);
      await power.emulation({ speed: 1, socPerMille: 400, pvScalePerMille: 1000 });
      await power.requestPowerOff({ until: { kind: 'soc', perMille: 430 }, graceSeconds: 60, haltSeconds: 5, maxOffSeconds: 86_400 });
      await power.shutdownReady();
      await power.emulation({ speed: 1000 });
      let st = await power.status().catch(() => undefined);
      const end = Date.now() + 20_000;
      while ((!st || st.powerOns < 4) && Date.now() < end) st = await power.status().catch(() => undefined);
      t.equal(st?.wakeReason, 'soc');
      const r = await client.getReading();
      t.ok(r.socPerMille! >= 430, `SOC ${r.socPerMille} ‰ at wake`);
      t.ok(st!.lastSleepSeconds > 60, `charged for ${st!.lastSleepSeconds} s`);
    });

    t.test('low battery: the MCU sends SHUTDOWN_NOTICE and wakes the host once recharged', async (t) => {
      const notices: ShutdownNotice[] = [];
      client.events.on('notice', (n) => notices.push(n));
      await power.setTime(NOON);
      await power.emulation({ speed: 1, socPerMille: 40 });
      await until(() => notices.length > 0, 5000, 'SHUTDOWN_NOTICE');
      t.same(notices[0], { reason: 'low-battery', graceSeconds: 30 });
      await power.shutdownReady(); // real time: 30 s grace, then a 10 s halt in which we speed up
      await power.emulation({ speed: 1000 });
      let st = await power.status().catch(() => undefined);
      const end = Date.now() + 30_000;
      while ((!st || st.powerOns < 5) && Date.now() < end) st = await power.status().catch(() => undefined);
      t.equal(st?.wakeReason, 'low-battery-recovered');
      t.ok((await client.getReading()).socPerMille! >= 150, 'woken at the restart SOC');
    });

    t.test('watchdog: a host that stops talking is power-cycled', async (t) => {
      t.equal(await code(power.setWatchdog(5, 10)), 'DATA_INVALID', 'host-side check');
      await power.emulation({ speed: 1000 });
      await power.setWatchdog(600, 60);
      const st0 = await power.status();
      t.equal(st0.watchdogTimeoutSeconds, 600);
      // stay silent for > 600 simulated s (0.6 s real at 1000x): any request would be a heartbeat
      const offs = () => rig.fw.log.filter((l) => l === 'h3lix-mcu: host power off').length;
      const before = offs();
      if (target === 'host') await until(() => offs() > before, 10_000, 'the watchdog cut (load switch GPIO low)');
      else await new Promise((r) => setTimeout(r, 1500)); // QEMU shows the GPIO nowhere we can watch, and polling would feed the watchdog
      let st = await power.status().catch(() => undefined);
      const end = Date.now() + 15_000;
      while ((!st || st.powerOns <= st0.powerOns) && Date.now() < end) st = await power.status().catch(() => undefined);
      t.equal(st?.wakeReason, 'watchdog');
      await power.setWatchdog(0, 10);
      await power.emulation({ speed: 1 });
    });
  });
}
