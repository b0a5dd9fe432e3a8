import t from 'tap';
import { ManualClock } from '../../src/util/clock.js';
import { EnergyFeature } from '../../src/energy/feature.js';
import { loadBoardProfile } from '../../src/energy/board-profile.js';
import { defaultConfig } from '../../src/config/load.js';
import { voltageFromSoc } from '../../src/energy/ocv.js';
import type { PublishedEnergy } from '../../src/energy/snapshot.js';
import type { EnergyReading } from '../../src/energy/reading.js';
import type { EnergyHistoryPoint } from '../../src/energy/history.js';

t.test('readings → snapshot published on energy/<node>, at once on a mode change, throttled otherwise', async (t) => {
  const clock = new ManualClock();
  const published: PublishedEnergy[] = [];
  const stored: EnergyHistoryPoint[] = [];
  let listener: ((r: EnergyReading) => void) | undefined;
  const f = new EnergyFeature({
    clock,
    profile: loadBoardProfile('rpi-4'),
    config: defaultConfig().energy,
    readings: (fn) => {
      listener = fn;
      return () => (listener = undefined);
    },
    publish: (s) => void published.push(s),
    historyStore: { append: (p) => void stored.push(...p), load: () => [] },
    flushIntervalMs: 60_000,
  });
  t.equal(f.snapshot(), undefined);
  f.start();
  const send = (soc: number): void => listener!({ time: clock.now(), source: 'test', batteryVoltage: voltageFromSoc(soc, 'lifepo4', 12.8), batteryCurrent: -0.2, soc, pvPower: 0, loadPower: 2.7 });
  send(0.6);
  t.equal(published.length, 1);
  t.equal(published[0]!.mode, 'normal');
  t.equal(published[0]!.soc, 0.6);
  t.equal(published[0]!.socSource, 'source');
  for (let i = 0; i < 5; i++) {
    clock.advance(10_000);
    send(0.6);
  }
  t.equal(published.length, 1, 'throttled to publishIntervalSeconds');
  clock.advance(10_000);
  send(0.3);
  t.equal(published.length, 2, 'a mode change publishes at once');
  t.equal(published[1]!.mode, 'conserve');
  t.same(Object.keys(published[1]!).sort(), ['batteryCurrent', 'batteryVoltage', 'budgetWh', 'forecastHours', 'forecastWh', 'loadPower', 'mode', 'modeSince', 'pvPower', 'soc', 'socSource', 'source', 'time', 'v']);
  t.ok(published[1]!.budgetWh < 0, 'below the reserve at night: a deficit');
  t.equal(f.scheduler.check(((): string => { f.scheduler.register({ name: 'train', minMode: 'normal', run: async () => undefined }); return 'train'; })()).reason, 'mode');
  clock.advance(60_000);
  await new Promise((r) => setImmediate(r));
  t.equal(stored.length, 2, 'history flushed to the store: the first reading and the mode change (one point per historyIntervalSeconds = 60 s otherwise)');
  t.same(stored.map((p) => p.mode), ['normal', 'conserve']);
  await f.stop();
  t.equal(listener, undefined, 'unsubscribed on stop');
});

t.test('createEnergyFeature loads the board from config (or an override) and applies energy config', async (t) => {
  const { createEnergyFeature } = await import('../../src/energy/index.js');
  const { validateConfig } = await import('../../src/config/load.js');
  const config = validateConfig({ node: { board: 'rpi-zero-2w' }, energy: { capacityWh: 40, cadence: { sync: { surplus: 0.5, normal: 1, conserve: 3, survival: 10 } } } });
  const clock = new ManualClock();
  const f = createEnergyFeature(config, { clock });
  f.start();
  f.ingest({ time: clock.now(), source: 'test', batteryVoltage: 3.8, batteryCurrent: -0.1, soc: 0.3, pvPower: 0 });
  t.equal(f.policy.mode(), 'conserve', 'rpi-zero-2w thresholds: survival.enter 0.18 < 0.3 <= conserve.enter 0.38');
  t.equal(f.scheduler.cadenceFor('sync'), 3, 'energy.cadence from config');
  t.equal(f.snapshot()!.toPublished().budgetWh < 0, true, 'soc 0.3 is below the 0.38 reserve of a 40 Wh battery');
  await f.stop();
  t.throws(() => createEnergyFeature(config, { clock, board: 'nope' }), { code: 'BOARD_UNKNOWN' });
  t.throws(() => validateConfig({ energy: { thresholds: { survival: { enter: 0.3, exit: 0.2 } } } }), { code: 'CONFIG_INVALID' });
});
