import t from 'tap';
import { join } from 'node:path';
import { EmbeddedBroker } from '../../src/sync/embedded-broker.js';
import { startNode, until, vec, agree } from './helpers.js';

t.test('broker restart: the outbox keeps everything while the broker is down, drains after, nothing applied twice', async (t) => {
  const dir = t.testdir();
  let broker = new EmbeddedBroker({ port: 0 });
  await broker.start();
  const port = broker.port;
  t.teardown(() => broker.stop());
  const fleet = 'restart';
  const a = await startNode(join(dir, 'a'), broker.url, fleet);
  const b = await startNode(join(dir, 'b'), broker.url, fleet);
  t.teardown(() => Promise.all([a.stop(), b.stop()]));
  const A = a.context;
  const B = b.context;
  await until(() => A.transport.connected && B.transport.connected, 5000, 'connect');

  A.field.contributeLocal('before', vec(8, 1), 3);
  await until(() => B.field.get(A.nodeId, 'before') !== undefined, 5000, 'first delta');

  await broker.stop();
  await until(() => !A.transport.connected && !B.transport.connected, 5000, 'both see the broker gone');
  for (let i = 0; i < 5; i++) {
    const sent = A.sync.counters.deltasSent;
    A.field.contributeLocal(`down-${i}`, vec(8, 10 + i), 1 + i);
    await until(() => A.sync.counters.deltasSent > sent, 5000, 'delta enqueued while down');
  }
  const held = A.outbox.size().messages;
  t.ok(held >= 5, `outbox holds the 5 deltas while the broker is down (${held})`);
  t.equal(B.field.get(A.nodeId, 'down-0'), undefined, 'nothing reached B');

  broker = new EmbeddedBroker({ port });
  await broker.start();
  await until(() => A.outbox.size().messages === 0, 10_000, 'outbox drains after restart');
  await until(() => agree([a, b]), 10_000, 'digests agree');
  for (let i = 0; i < 5; i++) t.equal(B.field.get(A.nodeId, `down-${i}`)?.version, A.field.get(A.nodeId, `down-${i}`)!.version, `down-${i} arrived`);
  t.equal(B.sync.counters.applied, 6, 'B applied exactly the 6 contributions: nothing twice');
  t.equal(A.sync.counters.applied, 0, 'A applied nothing (B contributed nothing)');
});
