/**
 * Discovery payloads against Home Assistant's schema (with negative controls: the checker rejects
 * the mistakes it is there to catch), stale-entity removal, the layout switch on a real daemon
 * restart, and the energy counter behind the `total_increasing` sensors.
 */
import t from 'tap';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { validateConfig } from '../../src/config/load.js';
import { createDaemon } from '../../src/daemon/daemon.js';
import { defaultFeatures } from '../../src/daemon/features.js';
import { componentDiscovery, deviceDiscovery, haObjectId, type DiscoveryInput } from '../../src/homeassistant/discovery.js';
import { EnergyCounter, ENERGY_TOTALS_KEY } from '../../src/homeassistant/energy-counter.js';
import { boardSensors } from '../../src/homeassistant/sensors.js';
import { haState } from '../../src/homeassistant/state.js';
import { EmbeddedBroker } from '../../src/sync/embedded-broker.js';
import { until } from '../helpers/until.js';
import { componentDiscoverySchema, deviceDiscoverySchema, TOPIC_MATCHER } from './ha-schema.js';

const input = (o: Partial<DiscoveryInput> = {}): DiscoveryInput => ({
  prefix: 'homeassistant', nodeId: 'nabc123', board: 'rpi-4', deviceName: 'h3lix nabc123', stateTopic: 'h3lix/v1/f/ha/nabc123',
  availabilityTopic: 'h3lix/v1/f/state/nabc123', expireAfter: 900, sensors: boardSensors({ learning: true }), ...o,
});

t.test('device and component payloads pass the schema; the checker rejects wrong classes and units (control)', async (t) => {
  const dev = deviceDiscovery(input());
  t.equal(dev.topic, 'homeassistant/device/h3lix_nabc123/config');
  const parsed = deviceDiscoverySchema.safeParse(JSON.parse(dev.payload));
  t.ok(parsed.success, parsed.success ? 'device config valid' : JSON.stringify(parsed.error.issues));
  const comps = componentDiscovery(input());
  t.equal(comps.length, boardSensors({ learning: true }).length, 'one per sensor');
  for (const c of comps) {
    t.match(c.topic.slice('homeassistant/'.length), TOPIC_MATCHER, c.topic);
    const r = componentDiscoverySchema.safeParse(JSON.parse(c.payload));
    t.ok(r.success, r.success ? `${c.topic} valid` : `${c.topic}: ${JSON.stringify(r.error.issues)}`);
  }
  const diag = JSON.parse(dev.payload).components.h3lix_nabc123_privacy_epsilon;
  t.match(diag, { entity_category: 'diagnostic' }, 'privacy budget is a diagnostic');
  t.notOk('expire_after' in diag, 'diagnostics do not expire');

  const broken = (mutate: (c: Record<string, Record<string, unknown>>) => void): boolean => {
    const p = JSON.parse(dev.payload) as { components: Record<string, Record<string, unknown>> };
    mutate(p.components);
    return deviceDiscoverySchema.safeParse(p).success;
  };
  t.notOk(broken((c) => (c.h3lix_nabc123_battery!.unit_of_measurement = 'V')), 'control: battery in V rejected');
  t.notOk(broken((c) => (c.h3lix_nabc123_pv_energy!.state_class = 'measurement')), 'control: energy as measurement rejected');
  t.notOk(broken((c) => (c.h3lix_nabc123_energy_mode!.state_class = 'measurement')), 'control: enum with a state class rejected');
  t.notOk(broken((c) => (c.h3lix_nabc123_energy_mode!.options = undefined)), 'control: enum without options rejected');
  t.notOk(broken((c) => (c.h3lix_nabc123_pv_power!.platform = 'not-a-platform')), 'control: unknown platform rejected');
  const noId = JSON.parse(dev.payload) as { device: Record<string, unknown> };
  delete noId.device.identifiers;
  t.notOk(deviceDiscoverySchema.safeParse(noId).success, 'control: a device without identifiers rejected');
  const noOrigin = JSON.parse(dev.payload) as Record<string, unknown>;
  delete noOrigin.origin;
  t.notOk(deviceDiscoverySchema.safeParse(noOrigin).success, 'control: no origin rejected');
  t.equal(haObjectId('n.x/y'), 'h3lix_n_x_y', 'object ids keep to [a-zA-Z0-9_-]');
});

t.test('removed sensors: platform-only component (device) or an empty retained config (component)', async (t) => {
  const dev = JSON.parse(deviceDiscovery(input({ sensors: boardSensors({ learning: false }), removed: ['privacy_epsilon'] })).payload) as { components: Record<string, unknown> };
  t.same(dev.components.h3lix_nabc123_privacy_epsilon, { platform: 'sensor' }, 'device: only the platform is left');
  t.ok(deviceDiscoverySchema.safeParse(dev).success, 'still valid');
  const comps = componentDiscovery(input({ sensors: boardSensors({ learning: false }), removed: ['privacy_epsilon'] }));
  t.same(comps.at(-1), { topic: 'homeassistant/sensor/h3lix_nabc123/privacy_epsilon/config', payload: '' }, 'component: empty retained payload');
});

t.test('state: null until a reading (HA shows unknown), energy totals never decrease and skip gaps', async (t) => {
  const kv = new Map<string, string>();
  const store = { getString: (k: string) => kv.get(k), set: (k: string, v: string) => void kv.set(k, v) };
  const c = new EnergyCounter(store, 15 * 60_000);
  const empty = haState({ energy: undefined, totals: c.current, outbox: 3, fieldContributions: 2, privacyEpsilon: undefined });
  t.equal(empty.battery, null);
  t.equal(empty.pv_energy, null, 'no 0 before the first reading (a 0 reads as a meter reset)');
  t.equal(empty.outbox, 3);
  t.notOk('privacy_epsilon' in empty, 'no privacy key without learning');
  for (let m = 0; m <= 30; m += 10) c.sample(m * 60_000, 60, 6); // half an hour at 60 W, a reading every 10 min
  t.equal(c.current.pvWh, 30);
  c.sample(3_600_000 * 5, 60, 6); // a 4.5 h gap (asleep): not integrated
  t.equal(c.current.pvWh, 30, 'gap not integrated');
  c.sample(3_600_000 * 4, 100, 6); // a clock that went back: ignored
  t.equal(c.current.pvWh, 30);
  c.save();
  t.same(JSON.parse(kv.get(ENERGY_TOTALS_KEY)!), { pvWh: 30, loadWh: 3 });
  t.equal(new EnergyCounter(store).current.pvWh, 30, 'totals survive a restart');
  kv.set(ENERGY_TOTALS_KEY, '{"pvWh":-5}');
  t.equal(new EnergyCounter(store).current.pvWh, 0, 'unreadable totals start from 0');
});

t.test('switching discovery layout on restart clears the old retained configs', async (t) => {
  const dataDir = join(t.testdir(), 'data');
  const broker = new EmbeddedBroker({ host: '127.0.0.1', port: 0 });
  await broker.start();
  t.teardown(() => broker.stop());
  /** The retained configs under homeassistant/#, once at least `min` arrived (and a round trip after). */
  const retained = async (min = 1): Promise<Map<string, string>> => {
    const c = await mqtt.connectAsync(broker.url, { clientId: 'ha-layout', protocolVersion: 4 });
    const got = new Map<string, string>();
    c.on('message', (topic, p, packet) => packet.retain && got.set(topic, p.toString()));
    try {
      await c.subscribeAsync('homeassistant/#', { qos: 1 });
      await until(() => got.size >= min, 10_000, `${min} retained configs`);
      await c.subscribeAsync('h3lix/none', { qos: 1 }); // a round trip: every retained message has arrived
    } finally {
      await c.endAsync(true);
    }
    return got;
  };
  const run = async (discovery: 'device' | 'component', check: (node: string) => Promise<void>): Promise<void> => {
    const config = validateConfig({
      node: { dataDir, fleet: 'halay' },
      broker: { embedded: { enabled: false }, url: broker.url, reconnectMs: 100 },
      instance: { enabled: false },
      homeassistant: { enabled: true, discovery },
      log: { level: 'silent' },
    });
    const d = createDaemon({ config, features: defaultFeatures(config), drainTimeoutMs: 100 });
    await d.start();
    try {
      await until(() => JSON.parse(d.context.kv.getString('homeassistant.published') ?? '{}').mode === discovery, 10_000, `${discovery} configs acknowledged`);
      await check(d.context.nodeId);
    } finally {
      await d.stop();
    }
  };
  await run('device', async (node) => {
    const got = await retained();
    t.ok(got.has(`homeassistant/device/h3lix_${node}/config`), 'control: the device config is retained after the first run');
  });
  await run('component', async (node) => {
    const got = await retained(boardSensors({ learning: false }).length);
    t.notOk(got.has(`homeassistant/device/h3lix_${node}/config`), 'the old device config is cleared (an empty retained payload deletes it)');
    t.equal(got.size, boardSensors({ learning: false }).length, 'per-component configs retained');
    t.ok([...got.values()].every((p) => componentDiscoverySchema.safeParse(JSON.parse(p)).success), 'each valid');
  });
});
