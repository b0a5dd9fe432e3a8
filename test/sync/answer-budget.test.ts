import t from 'tap';
import { encodeEnvelope } from '../../src/ccf/codec/envelope.js';
import { encodeWantBody } from '../../src/ccf/codec/sync-bodies.js';
import { validateConfig } from '../../src/config/load.js';
import { createSigner, keyPairFromSeed } from '../../src/crypto/ed25519.js';
import { nodeIdFromPublicKey } from '../../src/crypto/node-id.js';
import { encodePresence } from '../../src/sync/presence.js';
import { SimBroker } from '../../src/sync/sim/sim-broker.js';
import { SimClock } from '../../src/sync/sim/sim-clock.js';
import { SimNode } from '../../src/sync/sim/sim-node.js';
import { fleetTopics } from '../../src/sync/topics.js';
import { mulberry32 } from '../../src/util/prng.js';

/**
 * Issue 10 "bad input": a want costs the receiver bounded work. A fleet member that asks for the
 * whole field (empty vector) every 200 ms makes a board answer at most
 * `sync.answerBudgetBytesPerMinute` per minute; the control with the budget out of reach shows the
 * same wants pulling far more.
 */
function run(budget: number) {
  const clock = new SimClock();
  const random = mulberry32(5);
  const broker = new SimBroker({ clock, random });
  const config = validateConfig({ node: { dataDir: '/tmp/unused', fleet: 'sim' } });
  const victim = new SimNode({ index: 0, seed: 9, fleet: 'sim', clock, broker, ccf: config.ccf, sync: { ...config.sync, answerBudgetBytesPerMinute: budget }, random });
  void victim.sync.start();
  victim.connect();
  // a big field: 4000 contributions of 64 dims from 200 origins, merged as if received
  const other = Array.from({ length: 200 }, (_, i) => new SimNode({ index: 100 + i, seed: 9, fleet: 'sim', clock, broker, ccf: config.ccf, sync: config.sync, random }));
  for (const n of other) {
    for (let k = 0; k < 20; k++) n.field.contributeLocal(`k${k}`, Float32Array.from({ length: 64 }, () => random()), 1);
    victim.field.merge(n.field.contributions());
    victim.sync.sync.raise(n.id, n.field.localVersion());
  }
  clock.advance(5000);
  const pair = keyPairFromSeed(new Uint8Array(32).fill(7));
  const attacker = nodeIdFromPublicKey(pair.publicKey);
  const topics = fleetTopics('sim');
  broker.add({ id: attacker, filters: [], deliver: () => undefined });
  broker.connect(attacker);
  broker.publish(attacker, topics.state(attacker), encodePresence({ v: 1, online: true, node: attacker, fleet: 'sim', ts: 0, publicKey: Buffer.from(pair.publicKey).toString('base64') }), true);
  clock.advance(1000);
  const before = broker.traffic.get(victim.id)!.sentBytes;
  const signer = createSigner(pair);
  for (let i = 0; i < 300; i++) {
    const body = encodeWantBody({ vv: {}, nonce: i });
    broker.publish(attacker, topics.want(attacker), encodeEnvelope({ kind: 'want', fleet: 'sim', from: attacker, seq: i + 1, hlc: { wall: Math.floor(clock.now()), logical: 0 }, body }, signer), false);
    clock.advance(200);
  }
  return { sent: broker.traffic.get(victim.id)!.sentBytes - before, throttled: victim.sync.counters.answersThrottled, fieldBytes: victim.field.size() };
}

t.test('wants for everything, every 200 ms for a minute: answers stay within the budget', (t) => {
  const budget = 256 * 1024;
  const r = run(budget);
  t.ok(r.sent <= budget + 8 * 1024, `the victim sent ${r.sent} B of answers in the minute (budget ${budget} B, plus digests)`);
  t.ok(r.throttled > 0, `${r.throttled} answer batches held back and counted`);
  const control = run(1024 * 1024 * 1024);
  t.ok(control.sent > 4 * budget, `control: without a reachable budget the same wants pulled ${control.sent} B`);
  t.end();
});
