/**
 * The personal instance end to end on real parts: an embedded aedes broker on loopback, the real
 * onnxruntime worker with the committed sensor encoder, a real CcfField. A device publishes
 * observations (JSON and CBOR) on obs/<node> and reads predictions on pred/<node>; feedback labels
 * feed the signal accumulator; a class the node never saw is predicted once a peer's contribution
 * for it is merged into the field.
 */
import t from 'tap';
import { startInstanceRig } from './fixtures/instance-rig.js';
import { decode as cborDecode, encode as cborEncode } from 'cbor-x';
import { PersonalInstance, parseObservation } from '../../src/instance/personal-instance.js';
import { CcfField } from '../../src/ccf/field.js';
import { Conditioner } from '../../src/instance/conditioning/conditioner.js';
import { defaultConfig } from '../../src/config/load.js';
import { systemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import { H3lixError } from '../../src/errors.js';
import { until } from '../helpers/until.js';

t.test('parseObservation validates and says why', async (t) => {
  const ok = parseObservation(Buffer.from(JSON.stringify({ features: [1, 2], label: 'x', id: 'a1' })), 2);
  t.same([Array.from(ok.features), ok.label, ok.id, ok.format], [[1, 2], 'x', 'a1', 'json']);
  t.equal(parseObservation(cborEncode({ features: [1, 2] }), 2).format, 'cbor');
  const bad: Array<[Uint8Array, RegExp]> = [
    [Buffer.alloc(0), /empty/],
    [Buffer.from('{nope'), /not valid JSON/],
    [Buffer.from('[1,2]'), /must be a map/],
    [Buffer.from(JSON.stringify({ features: [1] })), /has 1 values, the model expects 2/],
    [Buffer.from(JSON.stringify({ features: [1, 'x'] })), /\[1\] is not a finite number/],
    [Buffer.from(JSON.stringify({ features: [1, 2], label: 'a/b' })), /"label"/],
    [Buffer.from(JSON.stringify({ features: [1, 2], id: {} })), /"id"/],
    [Buffer.alloc(70000, 0x7b), /exceeds/],
    [Buffer.from([0xff, 0x00, 0x13]), /not valid CBOR|must be a map/],
  ];
  for (const [payload, re] of bad) {
    const err = t.throws(() => parseObservation(payload, 2)) as H3lixError;
    t.equal(err.code, 'DATA_INVALID');
    t.match(err.message, re);
  }
});

t.test('obs → pred over a real aedes broker with the real onnxruntime model', async (t) => {
  const { rows, svc, client, device, cfg, field, accumulator, history, conditioner } = await startInstanceRig(t);
  const inst = new PersonalInstance({ mqtt: client, topicPrefix: 'h3lix/v1/demo', nodeId: 'board-1', embedder: svc, conditioner, accumulator, history, clipNorm: 3, clock: systemClock, logger: silentLogger() });
  await inst.start();
  t.teardown(() => inst.stop());
  t.equal(inst.topics.obs, 'h3lix/v1/demo/obs/board-1');

  const preds: Array<Record<string, unknown>> = [];
  await device.subscribeAsync(inst.topics.pred, { qos: 1 });
  device.on('message', (_topic, payload) => {
    preds.push((payload[0] === 0x7b ? JSON.parse(payload.toString()) : cborDecode(payload)) as Record<string, unknown>);
  });
  const send = (msg: unknown, cbor = false): Promise<unknown> => device.publishAsync(inst.topics.obs, cbor ? Buffer.from(cborEncode(msg)) : JSON.stringify(msg), { qos: 1 });

  // 1. feedback: 30 labelled windows each of two conditions
  let n = 0;
  for (const cls of ['imbalance', 'misalignment']) for (const x of rows(cls, 0, 30)) await send({ features: x, label: cls, id: `fb-${n++}` });
  await until(() => preds.length >= 60, 10_000, 'feedback predictions');
  t.equal(accumulator.local().get('imbalance')?.count, 30, 'feedback fed the signal accumulator');
  t.equal(history.size(), 60, 'and the local history');
  t.ok(preds.every((p) => typeof p.id === 'string' && typeof p.time === 'number' && typeof p.scores === 'object'), 'pred = {id, label, scores, time}');

  // 2. unlabelled windows of a seen condition are recognised
  preds.length = 0;
  for (const [i, x] of rows('imbalance', 30, 10).entries()) await send({ features: x, id: i });
  await until(() => preds.length >= 10, 10_000, 'seen-class predictions');
  t.ok(preds.filter((p) => p.label === 'imbalance').length >= 9, 'seen class predicted');

  // 3. a condition never seen locally: not predictable, until a peer's contribution is merged
  preds.length = 0;
  const unseen = rows('bearing-outer', 0, 10);
  for (const x of unseen) await send({ features: x });
  await until(() => preds.length >= 10, 10_000, 'unseen-class predictions before');
  t.equal(preds.filter((p) => p.label === 'bearing-outer').length, 0, 'unknown class before the field has it');
  const peer = new CcfField({ nodeId: 'board-2', clock: systemClock, config: cfg.ccf, quantization: 'int8' });
  const peerRows = rows('bearing-outer', 10, 40);
  const sum = new Float32Array(16);
  for (const x of peerRows) {
    const e = await svc.embed(Float32Array.from(x));
    const norm = Math.hypot(...e);
    for (let i = 0; i < 16; i++) sum[i] = sum[i]! + e[i]! * Math.min(1, 3 / norm);
  }
  peer.contributeLocal('bearing-outer', sum, peerRows.length);
  field.merge(peer.contributions());
  preds.length = 0;
  for (const x of unseen) await send({ features: x }, true);
  await until(() => preds.length >= 10, 10_000, 'unseen-class predictions after');
  t.ok(preds.filter((p) => p.label === 'bearing-outer').length >= 9, 'class never seen locally is predicted after the merge (CBOR in, CBOR out)');

  // 4. bad payloads: rejected with a reason, counted, the instance keeps working
  preds.length = 0;
  await device.publishAsync(inst.topics.obs, Buffer.from([0xff, 0xfe]), { qos: 1 });
  await send({ features: [1, 2, 3], id: 'short' });
  await device.publishAsync(inst.topics.obs, '{"features": [', { qos: 1 });
  await until(() => preds.length >= 3, 10_000, 'error replies');
  t.ok(preds.every((p) => typeof p.error === 'string'), 'each bad payload answered with an error');
  t.ok(preds.some((p) => /expects 20/.test(String(p.error))));
  const st = inst.stats();
  t.equal(st.rejected, 3);
  t.ok(Object.keys(st.reasons).length >= 2, 'reasons counted');
  preds.length = 0;
  await send({ features: rows('imbalance', 50, 1)[0], id: 'after' });
  await until(() => preds.length >= 1, 10_000, 'prediction after bad payloads');
  t.equal(preds[0]!.id, 'after');
  t.equal(preds[0]!.label, 'imbalance');
});

t.test('a model with a context input receives the field vector of the active keys', async (t) => {
  const cfg = defaultConfig();
  const field = new CcfField({ nodeId: 'n1', clock: systemClock, config: cfg.ccf, quantization: 'int8' });
  field.contributeLocal('a', Float32Array.from([2, 0]), 2); // mean [1, 0]
  field.contributeLocal('b', Float32Array.from([0, 4]), 2); // mean [0, 2]
  const seen: Array<Float32Array | undefined> = [];
  const embedder = {
    manifest: { inputDim: 2, contextDim: 2 },
    embed: (x: Float32Array, ctx?: Float32Array) => {
      seen.push(ctx);
      return Promise.resolve(Float32Array.from(x));
    },
  };
  const conditioner = new Conditioner({ local: () => new Map(), field, clock: systemClock, blend: 1, score: 'distance' });
  const noMqtt = { subscribeAsync: () => Promise.resolve(), unsubscribeAsync: () => Promise.resolve(), publishAsync: () => Promise.resolve(), on: () => undefined, removeListener: () => undefined };
  const inst = new PersonalInstance({ mqtt: noMqtt, topicPrefix: 'h3lix/v1/f', nodeId: 'n1', embedder, conditioner, clock: systemClock });
  const p = await inst.observe({ features: Float32Array.from([0.1, 1.9]), format: 'json' });
  t.equal(p.label, 'b');
  t.ok(seen[0] && Math.abs(seen[0][0]! - 0.5) < 0.02 && Math.abs(seen[0][1]! - 1) < 0.02, `context = mean field vector ${seen[0] ? Array.from(seen[0]).join(',') : 'none'}`);
});
