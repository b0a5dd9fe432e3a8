import t from 'tap';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { EmbeddedBroker } from '../../src/sync/embedded-broker.js';
import { encodeEnvelope } from '../../src/ccf/codec/envelope.js';
import { encodeDigestBody } from '../../src/ccf/codec/sync-bodies.js';
import { cborMap, encodeCbor } from '../../src/ccf/codec/cbor.js';
import { createSigner, generateKeyPair } from '../../src/crypto/ed25519.js';
import { nodeIdFromPublicKey } from '../../src/crypto/node-id.js';
import { encodePresence } from '../../src/sync/presence.js';
import { encodeSyncDelta } from '../../src/sync/delta-wire.js';
import { startNode, until, vec, agree } from './helpers.js';

t.test('bad input on a live daemon: each rejected with its own code, counted, and sync goes on', async (t) => {
  const broker = new EmbeddedBroker({ port: 0 });
  await broker.start();
  t.teardown(() => broker.stop());
  const fleet = 'bad';
  const a = await startNode(join(t.testdir(), 'a'), broker.url, fleet);
  t.teardown(() => a.stop());
  const A = a.context;
  await until(() => A.transport.connected, 5000, 'connect');

  const evil = await mqtt.connectAsync(broker.url);
  t.teardown(() => evil.endAsync(true));
  const pair = generateKeyPair();
  const signer = createSigner(pair);
  const me = nodeIdFromPublicKey(pair.publicKey);
  const root = `h3lix/v1/${fleet}/`;
  let seq = 1;
  const env = (kind: 'digest' | 'delta', body: Uint8Array, over: Partial<{ fleet: string; from: string; seq: number }> = {}) =>
    encodeEnvelope({ kind, fleet: over.fleet ?? fleet, from: over.from ?? me, seq: over.seq ?? seq++, hlc: { wall: Date.now(), logical: 0 }, body }, over.from ? createSigner(generateKeyPair()) : signer);
  const digestBody = encodeDigestBody({ vv: {}, digest: '00'.repeat(32), count: 0 });

  // Before the birth, our key is unknown.
  const expectReject = async (code: string, topic: string, payload: Uint8Array) => {
    const before = A.sync.counters.rejected[code as 'WIRE_TYPE'] ?? 0;
    await evil.publishAsync(topic, Buffer.from(payload), { qos: 1 });
    await until(() => (A.sync.counters.rejected[code as 'WIRE_TYPE'] ?? 0) > before, 5000, `reject ${code}`);
    t.pass(`${code} counted`);
  };
  await expectReject('WIRE_UNKNOWN_SENDER', `${root}ccf/digest/${me}`, env('digest', digestBody));
  await evil.publishAsync(`${root}state/${me}`, encodePresence({ v: 1, online: true, node: me, fleet, ts: Date.now(), publicKey: Buffer.from(pair.publicKey).toString('base64') }), { qos: 1, retain: true });

  const good = env('digest', digestBody);
  const accepted = A.sync.counters.accepted;
  await evil.publishAsync(`${root}ccf/digest/${me}`, Buffer.from(good), { qos: 1 });
  await until(() => A.sync.counters.accepted > accepted, 5000, 'a good envelope from the new key is accepted');

  await expectReject('WIRE_REPLAY', `${root}ccf/digest/${me}`, good);
  await expectReject('WIRE_MALFORMED', `${root}ccf/delta/${me}`, Uint8Array.from([0xff, 0xfe, 0x00]));
  const whole = env('delta', encodeSyncDelta({ cover: { [me]: [0, 1] }, contributions: [] }, 'int8'));
  await expectReject('WIRE_TRUNCATED', `${root}ccf/delta/${me}`, whole.subarray(0, whole.length >> 1));
  await expectReject('WIRE_OVERSIZE', `${root}ccf/delta/${me}`, new Uint8Array(131072 + 1024 + 1));
  await expectReject('WIRE_TYPE', `${root}ccf/delta/${me}`, encodeCbor(cborMap([['v', 1], ['kind', 42], ['fleet', fleet], ['from', me], ['seq', 1], ['hlc', [1, 0]], ['body', new Uint8Array(1)], ['sig', new Uint8Array(64)]])));
  await expectReject('WIRE_VERSION', `${root}ccf/delta/${me}`, encodeCbor(cborMap([['v', 2], ['kind', 'delta']])));
  const forged = env('digest', digestBody);
  forged[forged.length - 1] ^= 0xff;
  await expectReject('WIRE_BAD_SIGNATURE', `${root}ccf/digest/${me}`, forged);
  await expectReject('WIRE_FLEET', `${root}ccf/digest/${me}`, env('digest', digestBody, { fleet: 'other' }));
  await expectReject('WIRE_TYPE', `${root}ccf/delta/${me}`, env('delta', encodeCbor(cborMap([['cover', 'not an array'], ['delta', new Uint8Array(1)]]))));
  await expectReject('WIRE_MALFORMED', `${root}state/${me}`, Buffer.from('{not json'));

  // Still alive and still syncing with a real peer.
  const b = await startNode(join(t.testdir(), 'b'), broker.url, fleet);
  t.teardown(() => b.stop());
  b.context.field.contributeLocal('after-attack', vec(8, 3), 2);
  A.field.contributeLocal('mine', vec(8, 4), 1);
  await until(() => agree([a, b]) && A.field.get(b.context.nodeId, 'after-attack') !== undefined, 10_000, 'sync after bad input');
  t.ok(A.transport.connected, 'daemon still connected');
  t.equal(A.field.get(me, 'x'), undefined, 'nothing from the attacker entered the field');
});
