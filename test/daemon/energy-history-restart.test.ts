import t from 'tap';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/load.js';
import { createDaemon } from '../../src/daemon/daemon.js';
import { energyFeatureFactory } from '../../src/daemon/features/energy.js';
import type { FeatureHandles } from '../../src/daemon/features/handles.js';
import { openStore } from '../../src/store/db.js';
import { SqliteEnergyHistoryStore } from '../../src/store/energy-history.js';

t.test('energy history survives a daemon restart on the same dataDir and warms the forecaster', async (t) => {
  const dir = t.testdir();
  const dataDir = join(dir, 'data');
  // no energy source (rpi-4's serial device does not exist here): readings are ingested directly
  const config = validateConfig({
    node: { dataDir, fleet: 'ehist', board: 'rpi-4' },
    broker: { embedded: { enabled: true, host: '127.0.0.1', port: 0 }, reconnectMs: 100 },
    energy: { historyMaxPoints: 100 },
    log: { level: 'silent' },
  });
  const start = async (): Promise<{ handles: FeatureHandles; stop: () => Promise<unknown> }> => {
    const handles: FeatureHandles = {};
    const d = createDaemon({ config, features: [energyFeatureFactory(handles)], drainTimeoutMs: 200 });
    await d.start();
    return { handles, stop: () => d.stop() };
  };

  const noon = new Date();
  noon.setUTCHours(12, 0, 0, 0);
  const t0 = noon.getTime() - 60 * 60_000;
  const first = await start();
  const f1 = first.handles.energy!.feature;
  t.equal(await f1.historyRestored(), 0, 'empty history on first start');
  t.equal(f1.forecaster.forecastWh(t0, 24), 0, 'no PV seen yet: forecast 0');
  for (let i = 0; i < 120; i++) {
    f1.ingest({ time: t0 + i * 60_000, source: 'test', batteryVoltage: 12.8, batteryCurrent: 1.5, soc: 0.7, pvPower: 40 + (i % 10) });
  }
  t.equal(f1.history.size(), 100, 'in memory, bounded by historyMaxPoints');
  const before = f1.history.since(Number.NEGATIVE_INFINITY);
  const forecastBefore = f1.forecaster.forecastWh(t0 + 120 * 60_000, 24);
  t.ok(forecastBefore > 0, `forecast from today's trace: ${forecastBefore.toFixed(1)} Wh`);
  await first.stop(); // stop flushes the pending points (flush interval 5 min not reached)

  const second = await start();
  t.teardown(() => second.stop());
  const f2 = second.handles.energy!.feature;
  t.equal(await f2.historyRestored(), 100, 'the newest 100 points loaded on start');
  t.same(f2.history.since(Number.NEGATIVE_INFINITY), before, 'same points, same order, same values');
  // (the 20 oldest readings fell out of the bounded history, so equal within 0.1 %, not bit for bit)
  const forecastAfter = f2.forecaster.forecastWh(t0 + 120 * 60_000, 24);
  t.ok(Math.abs(forecastAfter - forecastBefore) < 1e-3 * forecastBefore, `forecaster replayed the trace: ${forecastAfter.toFixed(1)} Wh after the restart`);

  // new readings after the restart are appended, restored ones are not written twice
  f2.ingest({ time: t0 + 200 * 60_000, source: 'test', batteryVoltage: 12.9, batteryCurrent: 1, soc: 0.72, pvPower: 55 });
  await f2.history.flush();
  await second.stop();
  const s = openStore({ dataDir });
  t.teardown(() => s.close());
  const rows = new SqliteEnergyHistoryStore({ store: s, maxPoints: 100 }).load(Number.NEGATIVE_INFINITY);
  t.equal(rows.length, 100, 'still bounded, no duplicates');
  t.equal(new Set(rows.map((r) => r.time)).size, 100, 'distinct times');
  t.equal(rows.at(-1)!.time, t0 + 200 * 60_000, 'the post-restart reading is the newest row');
  t.equal(rows.at(-1)!.pvPower, 55);
});
