import t from 'tap';
import { generateSensorDataset, sensorWindow, SENSOR_CLASSES, SENSOR_FEATURES, SENSOR_DOMAINS } from '../../src/instance/data/sensor-task.js';
import { generateApplianceDataset, APPLIANCE_CLASSES, APPLIANCE_FEATURES } from '../../src/instance/data/appliance-task.js';
import { datasetToCsv, filterClasses } from '../../src/instance/data/dataset.js';
import { parseTrainingCsv } from '../../src/instance/data/csv.js';
import { createRng } from '../../src/util/prng.js';
import { powerSpectrum } from '../../src/instance/data/signal.js';

t.test('sensor generator: seeded, 8 classes, 20 finite features, classes separable by signature', async (t) => {
  const a = generateSensorDataset({ n: 160, seed: 5 });
  t.same(generateSensorDataset({ n: 160, seed: 5 }), a, 'same seed, same rows');
  t.notSame(generateSensorDataset({ n: 160, seed: 6 }).X, a.X);
  t.equal(SENSOR_CLASSES.length, 8);
  t.same(new Set(a.y), new Set(SENSOR_CLASSES));
  t.ok(a.X.every((r) => r.length === SENSOR_FEATURES.length && r.every(Number.isFinite)));
  // Imbalance puts energy at 1x; electrical at 2x mains.
  const meanOf = (cls: string, f: string) => {
    const j = SENSOR_FEATURES.indexOf(f as (typeof SENSOR_FEATURES)[number]);
    const rows = a.X.filter((_, i) => a.y[i] === cls);
    return rows.reduce((s, r) => s + r[j]!, 0) / rows.length;
  };
  t.ok(meanOf('imbalance', 'order_1x') > meanOf('normal', 'order_1x') + 1, 'imbalance raises the 1x order');
  t.ok(meanOf('electrical', 'line_2x') > meanOf('normal', 'line_2x') + 1, 'electrical raises 2x line frequency');
  t.ok(meanOf('bearing-outer', 'kurtosis') > meanOf('normal', 'kurtosis') + 1, 'bearing impacts raise kurtosis');
  const sub = generateSensorDataset({ n: 30, seed: 1, classes: ['normal', 'cavitation'], domain: 'bench', machineShift: 0.3 });
  t.same(new Set(sub.y), new Set(['normal', 'cavitation']));
  const w = sensorWindow('imbalance', createRng(1), SENSOR_DOMAINS.bench);
  t.equal(w.signal.length, 1024);
});

t.test('appliance generator: seeded, 10 classes, 16 finite features', async (t) => {
  const a = generateApplianceDataset({ n: 100, seed: 5 });
  t.same(generateApplianceDataset({ n: 100, seed: 5 }), a);
  t.same(new Set(a.y), new Set(APPLIANCE_CLASSES));
  t.ok(a.X.every((r) => r.length === APPLIANCE_FEATURES.length && r.every(Number.isFinite)));
  const pf = APPLIANCE_FEATURES.indexOf('power_factor');
  const kettlePf = a.X.filter((_, i) => a.y[i] === 'kettle').map((r) => r[pf]!);
  const fridgePf = a.X.filter((_, i) => a.y[i] === 'fridge').map((r) => r[pf]!);
  t.ok(Math.min(...kettlePf) > 0.95, 'resistive kettle has PF ~1');
  t.ok(Math.max(...fridgePf) < 0.9, 'motor fridge lags');
  t.equal(generateApplianceDataset({ n: 20, seed: 1, domain: 'us', classes: ['kettle', 'fridge'] }).y.length, 20);
});

t.test('CSV round trip and class filtering', async (t) => {
  const ds = generateApplianceDataset({ n: 40, seed: 2 });
  const back = parseTrainingCsv(datasetToCsv(ds), 'label');
  t.same(back.y, ds.y);
  t.same(back.featureNames, ds.featureNames);
  t.ok(back.X.every((r, i) => r.every((v, j) => Math.abs(v - ds.X[i]![j]!) <= 1e-5 * Math.max(1, Math.abs(v)))));
  const f = filterClasses(ds, ['kettle']);
  t.ok(f.y.length > 0 && f.y.every((l) => l === 'kettle'));
  t.throws(() => powerSpectrum(new Float64Array(3)), RangeError);
});
