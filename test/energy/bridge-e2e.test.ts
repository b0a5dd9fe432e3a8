import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import { validateConfig } from '../../src/config/load.js';
import { createEnergyFeature, ENERGY_MODES, type PublishedEnergy } from '../../src/energy/index.js';
import { Emulator } from '../../firmware-bridge/src/emulator/emulator.js';
import { openEnergySource } from '../../firmware-bridge/src/source/open.js';
import { until } from '../helpers/until.js';

if (!existsSync('/usr/bin/socat')) t.plan(0, 'socat not installed');

t.test('VE.Direct emulator on a socat pty → firmware-bridge source → energy feature → published snapshot', async (t) => {
  const path = join(t.testdir(), 'ttyVE-energy');
  const emu = new Emulator({ protocol: 'vedirect', pty: path, tickMs: 50, speed: 60, clock: systemClock, logger: silentLogger(), model: { seed: 3, startHour: 11 } });
  await emu.start();
  t.teardown(() => emu.stop());
  const source = openEnergySource(`vedirect:${path}`, { clock: systemClock, logger: silentLogger() });
  const config = validateConfig({ node: { board: 'rpi-4' }, energy: { publishIntervalSeconds: 1 } });
  const published: PublishedEnergy[] = [];
  const energy = createEnergyFeature(config, {
    clock: systemClock,
    readings: (fn) => source.events.on('reading', fn),
    publish: (s) => void published.push(s),
  });
  energy.scheduler.register({ name: 'signals', minMode: 'normal', deferrable: false, run: async () => undefined });
  energy.start();
  source.start();
  t.teardown(async () => {
    await energy.stop();
    await source.stop();
  });
  await until(() => (energy.snapshot()?.state.readings ?? 0) >= 5, 15_000, '5 readings through the feature');
  const snap = energy.snapshot()!.toPublished();
  t.ok(published.length >= 1, 'published on the first reading');
  t.equal(snap.source, `vedirect:${path}`);
  t.ok(snap.soc >= 0 && snap.soc <= 1, `soc ${snap.soc} (${snap.socSource})`);
  t.ok(snap.batteryVoltage > 11 && snap.batteryVoltage < 15, `battery ${snap.batteryVoltage} V`);
  t.ok(snap.pvPower > 0, 'midday PV');
  t.ok(ENERGY_MODES.includes(snap.mode));
  t.equal(energy.scheduler.canRun('signals'), snap.mode !== 'survival' && snap.mode !== 'conserve', 'gate follows the mode');
  t.doesNotThrow(() => JSON.stringify(published));
});
