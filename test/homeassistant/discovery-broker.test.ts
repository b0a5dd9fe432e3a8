/**
 * Home Assistant discovery end to end: a real daemon publishes through a real broker (embedded aedes,
 * and a Mosquitto of our own when installed), a real MQTT client reads the retained configs and
 * checks them against Home Assistant's schema (ha-schema.ts), reads the state through the value
 * templates, asks for a republish with `homeassistant/status`, restarts the broker, and watches the
 * board "lose power" (a frozen TCP proxy: no FIN, no RST) until its entities go unavailable.
 */
import t from 'tap';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { validateConfig } from '../../src/config/load.js';
import { createDaemon } from '../../src/daemon/daemon.js';
import { defaultFeatures, type FeatureHandles } from '../../src/daemon/features.js';
import { homeassistantFeatureFactory, type DaemonHomeassistantFeature } from '../../src/daemon/features/homeassistant.js';
import { EmbeddedBroker } from '../../src/sync/embedded-broker.js';
import { startMosquitto, MOSQUITTO_BIN, type MosquittoHandle } from '../helpers/mosquitto.js';
import { until } from '../helpers/until.js';
import { deviceDiscoverySchema, renderTemplate, TOPIC_MATCHER } from './ha-schema.js';
import { FreezableProxy } from './proxy.js';

interface Broker {
  port: number;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

async function aedes(): Promise<Broker> {
  let b = new EmbeddedBroker({ host: '127.0.0.1', port: 0 });
  await b.start();
  const port = b.port;
  return {
    port,
    stop: () => b.stop(),
    restart: async () => {
      await b.stop();
      b = new EmbeddedBroker({ host: '127.0.0.1', port });
      await b.start();
    },
  };
}

async function mosquitto(): Promise<Broker | undefined> {
  let m: MosquittoHandle | undefined = await startMosquitto();
  if (!m) return undefined;
  const port = m.port;
  return {
    port,
    stop: async () => m?.stop(),
    restart: async () => {
      await m?.stop();
      m = await startMosquitto([], port);
    },
  };
}

interface Seen {
  topic: string;
  payload: string;
  retain: boolean;
  at: number;
}

async function observe(port: number, topics: string[], id: string): Promise<{ client: MqttClient; seen: Seen[] }> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: id, protocolVersion: 4, reconnectPeriod: 0 });
  const seen: Seen[] = [];
  client.on('message', (topic, payload, packet) => seen.push({ topic, payload: payload.toString('utf8'), retain: packet.retain, at: Date.now() }));
  await client.subscribeAsync(topics, { qos: 1 });
  return { client, seen };
}

for (const kind of ['aedes', 'mosquitto'] as const) {
  t.test(`${kind}: discovery configs valid for Home Assistant, state readable, republish on HA birth, broker restart survived, unavailable after the board dies`, { skip: kind === 'mosquitto' && !MOSQUITTO_BIN ? 'mosquitto not installed (apt-get install mosquitto)' : false }, async (t) => {
    const broker = kind === 'aedes' ? await aedes() : await mosquitto();
    if (!broker) throw new Error('mosquitto is installed but did not start');
    t.teardown(() => broker.stop());
    const proxy = new FreezableProxy(() => broker.port);
    const proxyPort = await proxy.start();
    t.teardown(() => proxy.stop());
    const fleet = `ha${kind.slice(0, 3)}`;
    const keepalive = 5; // the config minimum
    const config = validateConfig({
      node: { dataDir: join(t.testdir(), 'data'), fleet, board: 'rpi-4' },
      broker: { embedded: { enabled: false }, url: `mqtt://127.0.0.1:${proxyPort}`, reconnectMs: 100, keepaliveSeconds: keepalive },
      instance: { enabled: false },
      homeassistant: { enabled: true, republishJitterMs: 400, stateIntervalSeconds: 1, expireAfterSeconds: 600 },
      log: { level: 'silent' },
    });
    const handles: FeatureHandles = {};
    let ha: DaemonHomeassistantFeature | undefined;
    const base = defaultFeatures({ ...config, homeassistant: { ...config.homeassistant, enabled: false } }, { handles });
    const daemon = createDaemon({ config, features: [...base, homeassistantFeatureFactory(handles, { random: () => 0.5, onStarted: (f) => (ha = f) })], drainTimeoutMs: 200 });
    await daemon.start();
    t.teardown(() => daemon.stop());
    const node = daemon.context.nodeId;
    const availabilityTopic = daemon.context.topics.state(node);

    // 1. retained configs, read by a client that connects after the broker acknowledged them
    await until(() => daemon.context.kv.getString('homeassistant.published') !== undefined, 10_000, 'configs acknowledged');
    const obs = await observe(broker.port, ['homeassistant/#', availabilityTopic, ha!.stateTopic], `ha-observer-${kind}`);
    t.teardown(() => obs.client.endAsync(true));
    const deviceTopic = `homeassistant/device/h3lix_${node}/config`;
    await until(() => obs.seen.some((m) => m.topic === deviceTopic && m.retain), 10_000, 'retained device config').catch((e: unknown) => {
      throw new Error(`${(e as Error).message}; seen ${obs.seen.map((m) => m.topic).join(', ')}; daemon mqtt ${daemon.context.transport.status}`);
    });
    const cfgMsg = obs.seen.find((m) => m.topic === deviceTopic)!;
    t.match(deviceTopic.slice('homeassistant/'.length), TOPIC_MATCHER, 'topic matches HA discovery TOPIC_MATCHER');
    const parsed = deviceDiscoverySchema.safeParse(JSON.parse(cfgMsg.payload));
    t.ok(parsed.success, `device config passes HA's schema${parsed.success ? '' : ': ' + JSON.stringify(parsed.error.issues)}`);
    const cfg = JSON.parse(cfgMsg.payload) as { components: Record<string, Record<string, unknown>>; availability: Array<{ topic: string; value_template: string }>; state_topic: string; origin: { name: string } };
    const comp = (id: string): Record<string, unknown> => cfg.components[`h3lix_${node}_${id}`]!;
    t.match(comp('battery'), { device_class: 'battery', unit_of_measurement: '%', state_class: 'measurement', expire_after: 600 });
    t.match(comp('battery_voltage'), { device_class: 'voltage', unit_of_measurement: 'V', state_class: 'measurement' });
    t.match(comp('battery_current'), { device_class: 'current', unit_of_measurement: 'A', state_class: 'measurement' });
    t.match(comp('pv_power'), { device_class: 'power', unit_of_measurement: 'W', state_class: 'measurement' });
    t.match(comp('pv_energy'), { device_class: 'energy', unit_of_measurement: 'Wh', state_class: 'total_increasing' });
    t.match(comp('energy_mode'), { device_class: 'enum', options: ['survival', 'conserve', 'normal', 'surplus'] });
    t.match(comp('outbox'), { entity_category: 'diagnostic' });
    t.equal(cfg.origin.name, 'h3lix-edge', 'origin block');
    t.equal(cfg.availability[0]!.topic, availabilityTopic, 'availability is the birth/death topic');

    // 2. state through the value templates
    const energy = handles.energy!.feature;
    const t0 = Date.now();
    energy.ingest({ time: t0, source: 'test', batteryVoltage: 12.9, batteryCurrent: 1.25, soc: 0.71, pvPower: 22.5 });
    const stateOf = (pred: (v: Record<string, unknown>) => boolean): Record<string, unknown> | undefined =>
      obs.seen.filter((m) => m.topic === cfg.state_topic).map((m) => JSON.parse(m.payload) as Record<string, unknown>).find(pred);
    await until(() => stateOf((v) => v.battery === 71) !== undefined, 10_000, 'state with the reading');
    energy.ingest({ time: t0 + 60_000, source: 'test', batteryVoltage: 12.9, batteryCurrent: 1.25, soc: 0.71, pvPower: 22.5 });
    await until(() => stateOf((v) => typeof v.pv_energy === 'number' && v.pv_energy > 0) !== undefined, 10_000, 'energy integrated');
    const st = stateOf((v) => typeof v.pv_energy === 'number' && v.pv_energy > 0)!;
    t.equal(renderTemplate(comp('battery').value_template as string, st), '71', 'battery % as HA renders it');
    t.equal(renderTemplate(comp('battery_voltage').value_template as string, st), '12.9');
    t.equal(renderTemplate(comp('energy_mode').value_template as string, st), 'normal');
    t.ok(Math.abs(Number(renderTemplate(comp('pv_energy').value_template as string, st)) - 0.375) < 0.01, `PV energy ${st.pv_energy} Wh (22.5 W for 1 min = 0.375 Wh)`);
    const birth = obs.seen.filter((m) => m.topic === availabilityTopic).at(-1)!;
    t.equal(renderTemplate(cfg.availability[0]!.value_template, JSON.parse(birth.payload)), 'online', 'available while alive');

    // 3. Home Assistant restarts: `offline` is ignored, `online` brings one jittered republish
    const sets0 = ha!.stats.configSets;
    const mark = Date.now();
    await obs.client.publishAsync('homeassistant/status', 'offline', { qos: 1 });
    await obs.client.publishAsync('homeassistant/status', 'online', { qos: 1 });
    await until(() => obs.seen.some((m) => m.topic === deviceTopic && m.at >= mark), 10_000, 'republished config');
    t.equal(ha!.stats.republishRequests, 1, 'only `online` counts');
    t.equal(ha!.stats.configSets, sets0 + 1, 'one republish');
    const republished = obs.seen.find((m) => m.topic === deviceTopic && m.at >= mark)!;
    t.ok(republished.at - mark >= 150, `republished after the jitter (${republished.at - mark} ms; 0.5 × 400 ms)`);

    // 4. the broker restarts (retained messages lost: aedes in memory, mosquitto persistence false)
    await obs.client.endAsync(true);
    await broker.restart();
    const fresh = await observe(broker.port, ['homeassistant/#', availabilityTopic], `ha-fresh-${kind}`);
    t.teardown(() => fresh.client.endAsync(true));
    await until(() => fresh.seen.some((m) => m.topic === deviceTopic) && fresh.seen.some((m) => m.topic === availabilityTopic && JSON.parse(m.payload).online === true), 15_000, 'configs and birth back after the restart');
    const late = await observe(broker.port, [deviceTopic], `ha-late-${kind}`);
    t.teardown(() => late.client.endAsync(true));
    await until(() => late.seen.some((m) => m.topic === deviceTopic && m.retain), 10_000, 'retained again');
    t.pass('device config republished on reconnect and retained again after the broker restart');

    // 5. the board loses power: the broker notices through the keep-alive and publishes the death
    const died = Date.now();
    proxy.freeze();
    await until(() => fresh.seen.some((m) => m.topic === availabilityTopic && m.at >= died && JSON.parse(m.payload).online === false), 20_000, 'death on the availability topic');
    const death = fresh.seen.find((m) => m.topic === availabilityTopic && m.at >= died && JSON.parse(m.payload).online === false)!;
    t.equal(renderTemplate(cfg.availability[0]!.value_template, JSON.parse(death.payload)), 'offline', 'entities unavailable');
    const ms = death.at - died;
    // [MQTT-3.1.2-24] the broker waits 1.5 × keep-alive; Mosquitto checks on a coarser tick (measured ~11 s)
    t.ok(ms <= 2.5 * keepalive * 1000 + 1000, `unavailable ${ms} ms after power loss (keep-alive ${keepalive} s)`);
  });
}
