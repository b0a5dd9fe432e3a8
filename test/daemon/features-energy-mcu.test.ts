import t from 'tap';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { validateConfig } from '../../src/config/load.js';
import { createDaemon } from '../../src/daemon/daemon.js';
import { energyFeatureFactory, type DaemonEnergyFeature } from '../../src/daemon/features/energy.js';
import type { FeatureHandles } from '../../src/daemon/features.js';
import { decodePresence, type Presence } from '../../src/sync/presence.js';
import { startFirmware } from '../../firmware-bridge/src/firmware/run.js';
import { McuPowerClient } from '../../firmware-bridge/src/mcu/power-client.js';
import { McuClient } from '../../firmware-bridge/src/mcu/client.js';
import { serialLink } from '../../firmware-bridge/src/link/link.js';
import { systemClock } from '../../src/util/clock.js';
import { firmwareSkipReason } from '../firmware-bridge/firmware-helpers.js';
import { until } from './helpers.js';

// The daemon on the real reference firmware (host build on a pty, `mcu:` source): the wake reason in
// the birth, a planned sleep (POWER_OFF armed, graceful stop, SHUTDOWN_ACK, cut), the MCU's wake, and
// the restarted daemon announcing why it runs.
const skip = firmwareSkipReason('host');

t.test('planned sleep through the companion MCU, and the wake reason in the birth', { skip }, async (t) => {
  const dir = t.testdir();
  const pty = join(dir, 'ttyMCU');
  const fw = await startFirmware({ target: 'host', pty });
  t.teardown(() => fw.stop());
  const config = validateConfig({
    node: { dataDir: join(dir, 'data'), fleet: 'sleepy', board: 'rpi-4' },
    broker: { embedded: { enabled: true, host: '127.0.0.1', port: 0 }, reconnectMs: 100 },
    energySource: { uri: `mcu:${pty}` },
    energy: { publishIntervalSeconds: 1, sleep: { haltSeconds: 10, graceSeconds: 60 } },
    log: { level: 'silent' },
  });
  const boot = async () => {
    const handles: FeatureHandles = {};
    let feature: DaemonEnergyFeature | undefined;
    const factory = energyFeatureFactory(handles);
    const daemon = createDaemon({ config, features: [(ctx) => (feature = factory(ctx) as DaemonEnergyFeature)], drainTimeoutMs: 300 });
    await daemon.start();
    return { daemon, handles, feature: () => feature! };
  };
  const births = async (url: string, node: string, topic: string): Promise<Presence> => {
    const c = await mqtt.connectAsync(url, { protocolVersion: 4 });
    try {
      const got: Presence[] = [];
      c.on('message', (tp, p) => tp === topic && got.push(decodePresence(p)));
      await c.subscribeAsync(topic, { qos: 1 });
      await until(() => got.some((b) => b.online && (b as Presence & { wake?: unknown }).wake !== undefined), 10_000, `a birth of ${node} with its wake reason`);
      return got.filter((b) => b.online).at(-1)!;
    } finally {
      await c.endAsync(true);
    }
  };

  // No sun in the readings the forecaster learns from: the emulated PV follows the MCU's clock, which
  // starts at the host's wall time, so in daytime hours it would forecast enough PV to stay awake (the
  // test failed from about 09:00 UTC and passed at night).
  await withLink(pty, (p) => p.emulation({ speed: 1, pvScalePerMille: 0 }));
  const first = await boot();
  const ctx = first.daemon.context;
  const b1 = (await births(ctx.broker!.url, ctx.nodeId, ctx.topics.state(ctx.nodeId))) as Presence & { wake?: { reason: string } };
  t.same(b1.wake, { reason: 'cold', sleptSeconds: 0 }, 'first power-up: cold start');
  const energy = first.feature();
  t.ok(energy.sleep, 'an mcu: source gets sleep control');
  await until(() => first.handles.energy!.feature.snapshot() !== undefined, 5000, 'a reading from the MCU');
  t.equal((await energy.sleep!.planNow())?.sleep, false, 'healthy battery (70 %): stay awake');

  // The MCU's battery model goes nearly flat at night: the next plan sleeps.
  const mcu = new McuPowerClient(energySourceClient(energy));
  await mcu.emulation({ speed: 1, socPerMille: 110, pvScalePerMille: 0 });
  await until(() => (first.handles.energy!.feature.snapshot()?.state.soc ?? 1) < 0.12, 5000, 'the low SOC through the readings');
  const requested: string[] = [];
  ctx.events.on('shutdownRequested', (r) => requested.push(r));
  const plan = await energy.sleep!.planNow();
  t.equal(plan?.sleep, true, plan?.reason ?? 'no plan');
  t.match(requested[0] ?? '', /^planned sleep: SOC 1[01]\.\d% would fall below 12\.0%/);
  t.equal((await mcu.status()).powerState, 'shutdown-pending', 'POWER_OFF armed on the MCU');
  await mcu.setTime(Date.UTC(2026, 5, 1, 11));
  await first.daemon.stop('planned sleep'); // real time: the 60 s grace cannot run out under load
  t.equal((await withLink(pty, (p) => p.status())).powerState, 'halting', 'SHUTDOWN_ACK sent by the stopping daemon');
  // during the 10 s halt: sunshine at 1000x, so the MCU's SOC threshold wakes the host in seconds
  await withLink(pty, (p) => p.emulation({ speed: 1000, pvScalePerMille: 1000 }));
  await until(() => fw.log.includes('h3lix-mcu: host power off'), 5000, 'the MCU cuts the host after SHUTDOWN_ACK');
  await until(() => fw.log.filter((l) => l === 'h3lix-mcu: host power on').length >= 2, 20_000, 'the MCU wakes the host at the SOC threshold');

  const second = await boot();
  t.teardown(() => second.daemon.stop());
  const c2 = second.daemon.context;
  t.equal(c2.nodeId, ctx.nodeId, 'same node after the sleep (identity and store resumed)');
  const b2 = (await births(c2.broker!.url, c2.nodeId, c2.topics.state(c2.nodeId))) as Presence & { wake?: { reason: string; sleptSeconds: number } };
  t.equal(b2.wake?.reason, 'soc', 'the birth after the wake names the SOC threshold');
  t.ok((b2.wake?.sleptSeconds ?? 0) > 0, `slept ${b2.wake?.sleptSeconds} s (simulated)`);
  const st = await new McuPowerClient(energySourceClient(second.feature())).status();
  t.equal(st.ackTimeouts, 0, 'the shutdown was acknowledged, not cut at the grace timeout');
  await new McuPowerClient(energySourceClient(second.feature())).emulation({ speed: 1 });
});

/** A short-lived connection of our own to the MCU (the daemon has closed its port). */
async function withLink<T>(pty: string, fn: (p: McuPowerClient) => Promise<T>): Promise<T> {
  const link = await serialLink({ path: pty, baudRate: 115200 }).open();
  const client = new McuClient({ stream: link.stream, clock: systemClock });
  client.start();
  try {
    return await fn(new McuPowerClient(client));
  } finally {
    client.stop();
    await link.close();
  }
}

/** The MCU client of the feature's open `mcu:` source. */
function energySourceClient(f: DaemonEnergyFeature) {
  const c = (f as unknown as { source?: { mcu?: () => unknown } }).source?.mcu?.();
  if (!c) throw new Error('no MCU client');
  return c as ConstructorParameters<typeof McuPowerClient>[0];
}
