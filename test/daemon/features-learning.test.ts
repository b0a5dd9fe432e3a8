import t from 'tap';
import mqtt from 'mqtt';
import { validateConfig } from '../../src/config/load.js';
import { createDaemon } from '../../src/daemon/daemon.js';
import { plugOnly } from '../../src/daemon/core-plug.js';
import { defaultFeatures, type FeatureHandles } from '../../src/daemon/features.js';
import { resolveEnergySourceUri } from '../../src/daemon/features/energy.js';
import { loadBoardProfile } from '../../src/energy/index.js';
import type { Logger } from '../../src/util/logger.js';
import { until } from './helpers.js';

/** A logger that keeps every line (to assert what the daemon says, and how often). */
function recordingLogger(lines: Array<{ level: string; msg: string }>): Logger {
  const log = (level: string) => (obj: object | string, msg?: string) => void lines.push({ level, msg: typeof obj === 'string' ? obj : (msg ?? '') });
  const l: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), child: () => l };
  return l;
}

function features(seed: number): number[] {
  return Array.from({ length: 20 }, (_, i) => Math.sin(seed * 3.7 + i * 0.9));
}

t.test('source URI: explicit uri wins; the profile device only when it exists', async (t) => {
  const profile = loadBoardProfile('generic-x86');
  t.equal(resolveEnergySourceUri(validateConfig({}), profile, () => false), undefined, 'missing device → no source');
  t.equal(resolveEnergySourceUri(validateConfig({}), profile, () => true), `vedirect:${profile.serial.path}`, 'existing device → profile URI');
  t.equal(resolveEnergySourceUri(validateConfig({ energySource: { uri: 'tcp://10.0.0.5:4001?protocol=vedirect' } }), profile, () => false), 'tcp://10.0.0.5:4001?protocol=vedirect');
});

t.test('daemon with defaultFeatures: obs → pred on the embedded broker; no energy source → one info line, fixed schedule', async (t) => {
  const dataDir = t.testdir();
  const fleet = 'featl';
  const config = validateConfig({
    node: { dataDir, fleet, board: 'generic-x86' },
    broker: { embedded: { enabled: true, host: '127.0.0.1', port: 0 }, reconnectMs: 100 },
    sync: { debounceMs: 20, digestIntervalMs: 1000 },
    log: { level: 'silent' },
  });
  const lines: Array<{ level: string; msg: string }> = [];
  const handles: FeatureHandles = {};
  const daemon = createDaemon({ config, logger: recordingLogger(lines), features: defaultFeatures(config, { handles }), drainTimeoutMs: 500 });
  await daemon.start();
  t.teardown(() => daemon.stop());
  const ctx = daemon.context;
  t.ok(handles.energy && handles.learning, 'both features started and published their handles');
  t.equal(handles.energy!.sourceUri, undefined, 'no /dev/ttyUSB0 here: no source');
  t.equal(lines.filter((l) => l.msg === 'no energy source; energy gating stays in normal mode').length, 1, 'said once, at info');
  t.notOk(lines.some((l) => l.level === 'warn'), `no warnings: ${JSON.stringify(lines.filter((l) => l.level === 'warn'))}`);
  t.equal(ctx.presence.energyMode, undefined, 'no energy mode claimed in the birth without a monitor');

  const client = await mqtt.connectAsync(ctx.broker!.url, { clientId: 'test-device', protocolVersion: 4 });
  t.teardown(() => client.endAsync(true));
  const preds: Array<Record<string, unknown>> = [];
  client.on('message', (topic, payload) => {
    if (topic === `h3lix/v1/${fleet}/pred/${ctx.nodeId}`) preds.push(JSON.parse(payload.toString('utf8')) as Record<string, unknown>);
  });
  await client.subscribeAsync(`h3lix/v1/${fleet}/pred/${ctx.nodeId}`, { qos: 1 });
  const obsTopic = `h3lix/v1/${fleet}/obs/${ctx.nodeId}`;
  t.equal(handles.learning!.instance!.topics.obs, obsTopic);

  await client.publishAsync(obsTopic, JSON.stringify({ id: 'a1', features: features(1), label: 'idle' }), { qos: 1 });
  await client.publishAsync(obsTopic, JSON.stringify({ id: 'a2', features: features(2), label: 'pump' }), { qos: 1 });
  await client.publishAsync(obsTopic, JSON.stringify({ id: 'q1', features: features(1) }), { qos: 1 });
  await until(() => preds.length >= 3, 15_000, 'three predictions');
  const q = preds.find((p) => p.id === 'q1')!;
  t.ok(q, 'the unlabelled observation got its prediction');
  t.equal(q.label, 'idle', 'predicted the nearest labelled class');
  t.ok(q.scores && typeof (q.scores as Record<string, number>).idle === 'number', 'scores per label');
  await client.publishAsync(obsTopic, JSON.stringify({ id: 'bad', features: [1, 2] }), { qos: 1 });
  await until(() => preds.some((p) => p.error !== undefined), 10_000, 'an error reply');
  t.match(preds.find((p) => p.error !== undefined)!.error, /"features" has 2 values/, 'bad observation answered with a reason, daemon alive');

  const s = handles.energy!.scheduler;
  t.equal(handles.learning!.stack.history.size(), 2, 'feedback reached the local history');
  t.ok(s.canRun('local-evolution'), 'fixed schedule without a source: learning is not gated');
  t.equal(await s.runNow('local-evolution'), true, 'local evolution ran');
  t.ok(handles.learning!.stack.evolution.head(), 'a local head was trained');
  t.equal(q.source, 'prototypes', 'before the first evolution round: prototypes predict');
  const conditioner = handles.learning!.stack.conditioner;
  t.equal(conditioner.head(), handles.learning!.stack.evolution.head(), 'the evolution run installed its head for predictions');
  await client.publishAsync(obsTopic, JSON.stringify({ id: 'q2', features: features(2) }), { qos: 1 });
  await until(() => preds.some((p) => p.id === 'q2'), 10_000, 'a prediction after evolution');
  const q2 = preds.find((p) => p.id === 'q2')!;
  t.equal(q2.source, 'head', 'after the evolution round the local head predicts');
  t.equal(q2.label, 'pump');
  t.equal(await s.runNow('signals'), true, 'signals task ran');
  t.equal(s.stats().find((x) => x.name === 'local-evolution')!.runs, 1);
  t.equal(ctx.events.listenerCount('evolutionRequested'), 1, 'learning listens for fleet trigger-evolution');
  ctx.events.emit('evolutionRequested', 'test');
  await until(() => s.stats().find((x) => x.name === 'local-evolution')!.runs === 2, 10_000, 'requested evolution round');
  t.ok(conditioner.head(), 'head installed again');
  await handles.learning!.swapModel(config.instance.modelDir);
  t.equal(conditioner.head(), undefined, 'a model swap (under the update lock) drops the head trained on the old encoder');
  t.equal(conditioner.predict(new Float32Array(16)).source, 'prototypes');

  await daemon.stop('test');
  t.equal(handles.learning, undefined, 'learning handle cleared on stop');
  t.equal(handles.energy, undefined, 'energy handle cleared on stop');
});

t.test('instance.enabled: false starts energy only', async (t) => {
  const dataDir = t.testdir();
  const config = validateConfig({
    node: { dataDir, fleet: 'featoff' },
    broker: { embedded: { enabled: true, host: '127.0.0.1', port: 0 } },
    instance: { enabled: false },
    log: { level: 'silent' },
  });
  t.equal(defaultFeatures(config).length, 1);
  const handles: FeatureHandles = {};
  const daemon = createDaemon({ config, features: defaultFeatures(config, { handles }), drainTimeoutMs: 200 });
  await daemon.start();
  t.teardown(() => daemon.stop());
  t.ok(handles.energy);
  t.equal(handles.learning, undefined);
});

t.test('a missing model fails the start with the model error and leaves nothing running', async (t) => {
  const dataDir = t.testdir();
  const config = validateConfig({
    node: { dataDir, fleet: 'featbad' },
    broker: { embedded: { enabled: true, host: '127.0.0.1', port: 0 } },
    instance: { modelDir: `${dataDir}/no-such-model` },
    log: { level: 'silent' },
  });
  const handles: FeatureHandles = {};
  const daemon = createDaemon({ config, features: defaultFeatures(config, { handles }), drainTimeoutMs: 200 });
  await t.rejects(daemon.start(), /model|manifest|no-such-model/i);
  t.equal(handles.learning, undefined);
  t.equal(handles.energy, undefined, 'energy stopped by the failed start');
});

t.test('instance client refused by the broker: start goes on after the grace period, stop does not hang', async (t) => {
  const dataDir = t.testdir();
  const config = validateConfig({
    node: { dataDir, fleet: 'featauth' },
    broker: { embedded: { enabled: true, host: '127.0.0.1', port: 0 }, reconnectMs: 100 },
    log: { level: 'silent' },
  });
  const lines: Array<{ level: string; msg: string }> = [];
  const handles: FeatureHandles = {};
  let allow = false;
  const daemon = createDaemon({
    config,
    logger: recordingLogger(lines),
    // the daemon's own transport gets in; the instance's second client is refused until `allow`
    features: [plugOnly({ name: 'test-auth', brokerAuth: { authenticate: (client, _u, _p, done) => done(null, allow || !client.id.endsWith('-instance')) } }), ...defaultFeatures(config, { handles })],
    drainTimeoutMs: 200,
  });
  const t0 = Date.now();
  await daemon.start();
  t.teardown(() => daemon.stop());
  t.ok(Date.now() - t0 >= 4500, 'waited for the subscription grace period');
  t.ok(lines.some((l) => l.level === 'warn' && /not subscribed yet/.test(l.msg)), `warned: ${JSON.stringify(lines.filter((l) => l.level === 'warn'))}`);
  t.ok(handles.learning?.instance, 'instance object exists and will subscribe once allowed');
  allow = true;
  const ctx = daemon.context;
  const client = await mqtt.connectAsync(ctx.broker!.url, { clientId: 'test-device', protocolVersion: 4 });
  t.teardown(() => client.endAsync(true));
  let pred: Record<string, unknown> | undefined;
  client.on('message', (_topic, payload) => (pred = JSON.parse(payload.toString('utf8')) as Record<string, unknown>));
  await client.subscribeAsync(`h3lix/v1/featauth/pred/${ctx.nodeId}`, { qos: 1 });
  const obs = JSON.stringify({ id: 'late', features: features(3) });
  await until(() => {
    if (pred === undefined) void client.publishAsync(`h3lix/v1/featauth/obs/${ctx.nodeId}`, obs, { qos: 0 });
    return pred !== undefined;
  }, 10_000, 'a prediction once the broker lets the instance in');
  t.equal(pred!.id, 'late', 'instance subscribed after the broker accepted it');
  const t1 = Date.now();
  await daemon.stop('test');
  t.ok(Date.now() - t1 < 5000, `stop returned in ${Date.now() - t1} ms`);
});
