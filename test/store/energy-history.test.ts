import t from 'tap';
import { openStore } from '../../src/store/db.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/migrations.js';
import { SqliteEnergyHistoryStore } from '../../src/store/energy-history.js';
import { EnergyHistory, type EnergyHistoryPoint } from '../../src/energy/history.js';
import type { EnergyMode } from '../../src/energy/modes.js';
import type { H3lixError } from '../../src/errors.js';

const MODES: EnergyMode[] = ['survival', 'conserve', 'normal', 'surplus'];

function point(time: number, i = 0): EnergyHistoryPoint {
  return { time, soc: 0.5 + i / 1000, batteryVoltage: 12.5 + i / 100, batteryCurrent: -0.25 * i, pvPower: 3.125 * i, loadPower: 4.5, mode: MODES[i % 4]! };
}

t.test('append then load: since a time, in time order, exact values', async (t) => {
  const store = openStore({ dataDir: t.testdir() });
  t.teardown(() => store.close());
  t.equal(store.schemaVersion, 2);
  const h = new SqliteEnergyHistoryStore({ store });
  t.same(h.load(0), [], 'empty at first');
  const pts = [0, 1, 2, 3, 4].map((i) => point(1_700_000_000_000 + i * 60_000, i));
  h.append(pts.slice(0, 3));
  h.append(pts.slice(3));
  h.append([]);
  t.same(h.load(Number.NEGATIVE_INFINITY), pts, 'all points, exactly');
  t.same(h.load(pts[2]!.time), pts.slice(2), 'at or after sinceMs');
  t.same(h.load(pts[4]!.time + 1), []);
  // out-of-order batches (a stepped clock) come back in time order; equal times keep append order
  const early = point(1_700_000_000_000 - 86_400_000, 7);
  const tieA = { ...point(pts[1]!.time, 8), soc: 0.11 };
  const tieB = { ...point(pts[1]!.time, 9), soc: 0.22 };
  h.append([early, tieA, tieB]);
  const all = h.load(Number.NEGATIVE_INFINITY);
  t.same(all.map((p) => p.time), [...all.map((p) => p.time)].sort((a, b) => a - b), 'sorted by time');
  t.same(all[0], early);
  t.same(all.slice(2, 5).map((p) => p.soc), [pts[1]!.soc, 0.11, 0.22], 'ties in append order');
  t.equal(h.size(), 8);
});

t.test('bounded: oldest beyond maxPoints and beyond maxAgeMs (from the newest point) are pruned', async (t) => {
  const store = openStore({ dataDir: t.testdir() });
  t.teardown(() => store.close());
  const h = new SqliteEnergyHistoryStore({ store, maxPoints: 10 });
  const base = 1_700_000_000_000;
  for (let b = 0; b < 5; b++) h.append([0, 1, 2, 3].map((i) => point(base + (b * 4 + i) * 1000, i)));
  t.equal(h.size(), 10, 'capped at maxPoints');
  t.same(h.load(0).map((p) => p.time), Array.from({ length: 10 }, (_, i) => base + (10 + i) * 1000), 'the newest 10 kept');
  // a batch bigger than maxPoints keeps only its newest points
  h.append(Array.from({ length: 25 }, (_, i) => point(base + 100_000 + i, i)));
  t.same(h.load(0).map((p) => p.time), Array.from({ length: 10 }, (_, i) => base + 100_015 + i));

  const aged = new SqliteEnergyHistoryStore({ store: openStore({ dataDir: t.testdir() }), maxAgeMs: 3_600_000 });
  t.teardown(() => (aged as unknown as { store: { close(): void } }).store.close());
  aged.append([point(base), point(base + 1_800_000), point(base + 3_000_000)]);
  t.equal(aged.size(), 3, 'all within an hour of the newest');
  aged.append([point(base + 5_000_000)]);
  t.same(aged.load(0).map((p) => p.time), [base + 1_800_000, base + 3_000_000, base + 5_000_000], 'older than newest - 1 h pruned');
  // a point from 1970 (board without RTC) does not age out the newer ones
  aged.append([point(5_000)]);
  t.same(aged.load(0).map((p) => p.time), [base + 1_800_000, base + 3_000_000, base + 5_000_000], 'the 1970 point itself is the one dropped');
});

t.test('non-finite values and unknown modes are skipped, the rest of the batch stored', async (t) => {
  const store = openStore({ dataDir: t.testdir() });
  t.teardown(() => store.close());
  const h = new SqliteEnergyHistoryStore({ store });
  h.append([point(1), { ...point(2), soc: Number.NaN }, { ...point(3), mode: 'turbo' as EnergyMode }, { ...point(4), pvPower: Number.POSITIVE_INFINITY }, point(5)]);
  t.same(h.load(0).map((p) => p.time), [1, 5]);
  h.append([{ ...point(6), time: Number.NaN }]);
  t.equal(h.size(), 2);
});

t.test('survives close and reopen; EnergyHistory flush/restore round trip', async (t) => {
  const dir = t.testdir();
  const s1 = openStore({ dataDir: dir });
  const mem = new EnergyHistory({ store: new SqliteEnergyHistoryStore({ store: s1 }) });
  const pts = Array.from({ length: 50 }, (_, i) => point(1_700_000_000_000 + i * 60_000, i));
  for (const p of pts) mem.add(p);
  t.equal(await mem.flush(), 50);
  t.equal(await mem.flush(), 0, 'nothing pending');
  s1.close();

  const s2 = openStore({ dataDir: dir });
  t.teardown(() => s2.close());
  const again = new EnergyHistory({ store: new SqliteEnergyHistoryStore({ store: s2 }) });
  const loaded = await again.restore(0);
  t.same(loaded, pts, 'all 50 back after reopen');
  t.same(again.since(pts[40]!.time), pts.slice(40));
});

t.test('failures are typed store errors', async (t) => {
  const store = openStore({ dataDir: t.testdir() });
  const h = new SqliteEnergyHistoryStore({ store });
  h.append([point(1)]);
  store.close();
  t.equal((t.throws(() => h.append([point(2)])) as H3lixError).code, 'STORE_IO');
  t.equal((t.throws(() => h.load(0)) as H3lixError).code, 'STORE_IO');
  t.equal((t.throws(() => h.size()) as H3lixError).code, 'STORE_IO');
});

t.test('migration 2 on a v1 database (made by migration 1 only) keeps its data and adds energy_history', async (t) => {
  const dir = t.testdir();
  const v1 = openStore({ dataDir: dir, migrations: MIGRATIONS.slice(0, 1) });
  t.equal(v1.schemaVersion, 1);
  v1.db.prepare("INSERT INTO kv (key, value) VALUES ('keep', 'me')").run();
  v1.db.prepare("INSERT INTO counters (name, value) VALUES ('field.localVersion', 42)").run();
  t.notOk(v1.db.prepare("SELECT name FROM sqlite_master WHERE name = 'energy_history'").get(), 'no table in v1');
  v1.close();

  const s = openStore({ dataDir: dir });
  t.teardown(() => s.close());
  t.equal(s.schemaVersion, SCHEMA_VERSION);
  t.equal(SCHEMA_VERSION, 2);
  t.equal(s.db.pragma('user_version', { simple: true }), 2);
  t.equal((s.db.prepare("SELECT value FROM kv WHERE key = 'keep'").get() as { value: string }).value, 'me', 'v1 data kept');
  t.equal((s.db.prepare("SELECT value FROM counters WHERE name = 'field.localVersion'").get() as { value: number }).value, 42);
  t.ok(s.db.prepare("SELECT name FROM sqlite_master WHERE name = 'energy_history_time'").get(), 'time index created');
  const h = new SqliteEnergyHistoryStore({ store: s });
  h.append([point(10, 1)]);
  t.same(h.load(0), [point(10, 1)]);
  t.throws(() => s.db.prepare("INSERT INTO energy_history (time, soc, battery_voltage, battery_current, pv_power, load_power, mode) VALUES (1, 0, 0, 0, 0, 0, 'bogus')").run(), /CHECK/, 'mode constrained');
});
