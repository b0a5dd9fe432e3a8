import t from 'tap';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { EmbeddedBroker } from '../../src/sync/embedded-broker.js';
import { encodeEnvelope } from '../../src/ccf/codec/envelope.js';
import { encodeDigestBody } from '../../src/ccf/codec/sync-bodies.js';
import { createSigner, generateKeyPair } from '../../src/crypto/ed25519.js';
import { nodeIdFromPublicKey } from '../../src/crypto/node-id.js';
import { encodePresence } from '../../src/sync/presence.js';
import { startNode, until } from './helpers.js';

t.test('replay windows survive a daemon restart: an envelope accepted before it is a replay after it', async (t) => {
  const broker = new EmbeddedBroker({ port: 0 });
  await broker.start();
  t.teardown(() => broker.stop());
  const fleet = 'replay';
  const root = `h3lix/v1/${fleet}/`;
  const dir = join(t.testdir(), 'a');
  const pair = generateKeyPair();
  const me = nodeIdFromPublicKey(pair.publicKey);
  const peer = await mqtt.connectAsync(broker.url);
  t.teardown(() => peer.endAsync(true));
  await peer.publishAsync(`${root}state/${me}`, encodePresence({ v: 1, online: true, node: me, fleet, ts: Date.now(), publicKey: Buffer.from(pair.publicKey).toString('base64') }), { qos: 1, retain: true });
  const envelope = Buffer.from(
    encodeEnvelope({ kind: 'digest', fleet, from: me, seq: 7, hlc: { wall: Date.now(), logical: 0 }, body: encodeDigestBody({ vv: {}, digest: '00'.repeat(32), count: 0 }) }, createSigner(pair)),
  );

  const first = await startNode(dir, broker.url, fleet);
  await until(() => first.context.transport.connected, 5000, 'connect');
  await peer.publishAsync(`${root}ccf/digest/${me}`, envelope, { qos: 1 });
  await until(() => first.context.sync.counters.accepted > 0, 5000, 'accepted before the restart');
  await first.stop('test');

  const second = await startNode(dir, broker.url, fleet);
  t.teardown(() => second.stop());
  await until(() => second.context.transport.connected, 5000, 'reconnect');
  await peer.publishAsync(`${root}ccf/digest/${me}`, envelope, { qos: 1 });
  await until(() => (second.context.sync.counters.rejected.WIRE_REPLAY ?? 0) > 0, 5000, 'replay rejected after the restart');
  t.equal(second.context.sync.counters.accepted, 0, 'the replayed envelope was not accepted');
});
