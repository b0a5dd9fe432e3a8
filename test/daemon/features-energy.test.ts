import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { decode as cborDecode } from 'cbor-x';
import { validateConfig } from '../../src/config/load.js';
import { decodeEnvelope } from '../../src/ccf/codec/envelope.js';
import { createDaemon } from '../../src/daemon/daemon.js';
import { defaultFeatures, type FeatureHandles } from '../../src/daemon/features.js';
import type { PublishedEnergy } from '../../src/energy/index.js';
import { decodePresence, type Presence } from '../../src/sync/presence.js';
import { systemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import { Emulator } from '../../firmware-bridge/src/emulator/emulator.js';
import { until } from './helpers.js';

if (!existsSync('/usr/bin/socat')) t.plan(0, 'socat not installed');

t.test('VE.Direct over a socat pty → energy feature in the daemon: retained energy/<node>, mode in the birth, low SOC gates learning', async (t) => {
  const dir = t.testdir();
  const pty = join(dir, 'ttyVE');
  const emu = new Emulator({ protocol: 'vedirect', pty, tickMs: 100, speed: 60, clock: systemClock, logger: silentLogger(), model: { seed: 5, startHour: 11, initialSoc: 0.6 } });
  await emu.start();
  t.teardown(() => emu.stop());
  const fleet = 'feate';
  const config = validateConfig({
    node: { dataDir: join(dir, 'data'), fleet, board: 'rpi-4' },
    broker: { embedded: { enabled: true, host: '127.0.0.1', port: 0 }, reconnectMs: 100 },
    sync: { debounceMs: 20, digestIntervalMs: 1000 },
    energySource: { uri: `vedirect:${pty}` },
    energy: { publishIntervalSeconds: 1 },
    log: { level: 'silent' },
  });
  const handles: FeatureHandles = {};
  const daemon = createDaemon({ config, features: defaultFeatures(config, { handles }), drainTimeoutMs: 500 });
  await daemon.start();
  t.teardown(() => daemon.stop());
  const ctx = daemon.context;
  const energy = handles.energy!;
  t.equal(energy.sourceUri, `vedirect:${pty}`);
  t.equal(energy.profile.name, 'rpi-4', 'board profile from node.board');

  await until(() => (energy.feature.snapshot()?.state.readings ?? 0) >= 3, 15_000, 'readings through the daemon');
  const first = energy.feature.snapshot()!;
  t.ok(first.mode === 'normal' || first.mode === 'surplus', `healthy battery: ${first.mode} (soc ${first.state.soc.toFixed(2)})`);
  t.equal(ctx.presence.energyMode, first.mode, 'presence carries the mode');

  // a device connecting later sees the retained energy snapshot and birth
  const energyMsgs: PublishedEnergy[] = [];
  const births: Presence[] = [];
  const client = await mqtt.connectAsync(ctx.broker!.url, { clientId: 'test-observer', protocolVersion: 4 });
  t.teardown(() => client.endAsync(true));
  // Assertions are made after the waits, not in the handler: the daemon's stop in teardown publishes
  // again, and an assertion in the handler would then land after the test ended.
  const decodeProblems: string[] = [];
  client.on('message', (topic, payload) => {
    if (topic === ctx.topics.energy(ctx.nodeId)) {
      try {
        const env = decodeEnvelope(payload, { fleet, resolveKey: () => ctx.identity.signing.publicKey, kinds: ['energy'] });
        if (env.from !== ctx.nodeId) decodeProblems.push(`energy from ${env.from}`);
        energyMsgs.push(cborDecode(env.body) as PublishedEnergy);
      } catch (err) {
        decodeProblems.push((err as Error).message);
      }
    } else if (topic === ctx.topics.state(ctx.nodeId)) {
      births.push(decodePresence(payload));
    }
  });
  await client.subscribeAsync([ctx.topics.energy(ctx.nodeId), ctx.topics.state(ctx.nodeId)], { qos: 1 });
  await until(() => energyMsgs.length >= 1 && births.length >= 1, 10_000, 'retained energy and birth');
  t.same(decodeProblems, [], 'every energy message verifies and comes from the node');
  t.equal(energyMsgs[0]!.v, 1);
  t.equal(energyMsgs[0]!.source, `vedirect:${pty}`, 'signed CBOR snapshot from the emulated source');
  t.ok(energyMsgs[0]!.batteryVoltage > 11 && energyMsgs[0]!.batteryVoltage < 15, `battery ${energyMsgs[0]!.batteryVoltage} V`);
  t.equal(births.at(-1)!.online, true);
  t.equal(births.at(-1)!.energyMode, first.mode, 'birth carries the energy mode');
  t.equal(ctx.sync.cadenceMultiplier(), 1, 'sync at base cadence');

  const d0 = ctx.sync.counters.digestsSent;
  await until(() => ctx.sync.counters.digestsSent > d0, 5_000, 'a periodic digest at base cadence (1 s)');
  const s = energy.scheduler;
  const modes: string[] = [];
  ctx.events.on('energyMode', (m) => modes.push(m));
  // the battery monitor reports a nearly empty battery: a drop to survival ignores the dwell time
  const low = energy.feature.ingest({ time: systemClock.now(), source: 'test', batteryVoltage: 12.0, batteryCurrent: -0.5, soc: 0.08, pvPower: 0 });
  t.equal(low.mode, 'survival', 'forced low SOC → survival');
  t.same(modes, ['survival'], 'energyMode event emitted once');
  t.equal(ctx.presence.energyMode, 'survival');
  t.equal(ctx.sync.cadenceMultiplier(), config.energy.cadence.sync.survival, 'sync cadence ×30 in survival');
  const dSurvival = ctx.sync.counters.digestsSent;
  const tSurvival = Date.now();
  await until(() => births.some((b) => b.energyMode === 'survival'), 10_000, 'refreshed birth with survival');
  await until(() => energyMsgs.some((e) => e.mode === 'survival'), 10_000, 'energy snapshot with survival');

  t.equal(s.check('local-evolution').reason, 'mode', 'local evolution gated by mode');
  t.equal(await s.runNow('local-evolution'), false, 'local evolution skipped');
  t.equal(await s.runNow('signals'), false, 'signal release skipped');
  const evo = s.stats().find((x) => x.name === 'local-evolution')!;
  t.equal(evo.runs, 0);
  t.ok(evo.skipped.mode >= 1, `skipped for mode: ${JSON.stringify(evo.skipped)}`);
  t.ok(s.stats().find((x) => x.name === 'signals')!.skipped.mode >= 1, 'signals skipped for mode');
  t.equal(s.intervalFor('local-evolution'), config.instance.evolutionIntervalSeconds * 1000 * config.energy.cadence.learning.survival, 'learning cadence ×30');

  // emulated readings keep arriving (SOC ~0.6), but leaving survival waits for the dwell time
  const n = energy.feature.snapshot()!.state.readings;
  await until(() => energy.feature.snapshot()!.state.readings >= n + 2, 10_000, 'more readings');
  t.equal(energy.feature.snapshot()!.mode, 'survival', 'hysteresis: still survival');
  if (Date.now() - tSurvival < 1500) await new Promise((r) => setTimeout(r, 1500 - (Date.now() - tSurvival)));
  t.equal(ctx.sync.counters.digestsSent, dSurvival, 'no periodic digest for 1.5 s in survival (interval now 30 s)');

  // a model swap waits for the update lock (held here by a fake training run)
  let release!: () => void;
  const held = s.withUpdateLock('test-train', () => new Promise<void>((r) => (release = r)));
  let swapped = false;
  const swap = handles.learning!.swapModel('models/sensor-encoder').then((m) => ((swapped = true), m));
  await new Promise((r) => setTimeout(r, 200));
  t.equal(swapped, false, 'swap waits while the lock is held');
  release();
  await held;
  const m = await swap;
  t.equal(m.inputDim, 20, 'swapped to a same-shape model');
  t.equal(handles.learning!.inference.stats().swaps, 1);
});
