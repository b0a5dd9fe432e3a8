import t from 'tap';
import { SyncVector, aheadOf } from '../../src/sync/sync-vector.js';
import { planBatches } from '../../src/sync/batches.js';
import { decodeSyncDelta, encodeSyncDelta } from '../../src/sync/delta-wire.js';
import { fleetTopics, parseTopic } from '../../src/sync/topics.js';
import { decodePresence, encodePresence, presenceKey } from '../../src/sync/presence.js';
import { OpenKeyResolver } from '../../src/sync/key-resolver.js';
import { generateKeyPair } from '../../src/crypto/ed25519.js';
import { nodeIdFromPublicKey } from '../../src/crypto/node-id.js';
import { cborMap, encodeCbor } from '../../src/ccf/codec/cbor.js';
import type { Contribution } from '../../src/ccf/types.js';

function contrib(origin: string, key: string, version: number, dim = 4): Contribution {
  const sum = new Float32Array(dim);
  for (let i = 0; i < dim; i++) sum[i] = (i + 1) * 0.5;
  return { origin, key, sum, count: 1, version, hlc: { wall: 1_700_000_000_000 + version, logical: 0 } };
}

t.test('sync vector advances only across contiguous ranges and chains reordered ones', async (t) => {
  const s = new SyncVector();
  t.same(s.cover({ a: [0, 3] }), ['a']);
  t.same(s.cover({ a: [5, 8] }), [], 'gap: not advanced');
  t.equal(s.get('a'), 3);
  t.same(s.cover({ a: [3, 5] }), ['a'], 'gap closed');
  t.equal(s.get('a'), 8, 'pending range chained');
  t.same(s.cover({ a: [1, 2] }), [], 'old range ignored');
  s.raise('b', 4);
  t.same(s.snapshot(), { a: 8, b: 4 });
  s.forget('b');
  t.same(s.snapshot(), { a: 8 });
  t.same(new SyncVector({ x: 2, y: -1 }).snapshot(), { x: 2 });
  t.same(aheadOf({ a: 3, b: 1 }, { a: 2, b: 1 }), ['a']);
});

t.test('planBatches splits under the budget with chained coverage', async (t) => {
  const cs = [1, 2, 3, 4, 5, 6].map((v) => contrib('o1', `k${v}`, v, 64));
  const size = (d: { cover: object; contributions: Contribution[] }) => 100 + d.contributions.length * 300;
  const batches = planBatches(cs, { o1: 0 }, { o1: 7 }, 1000, size);
  t.ok(batches.length > 1, `split into ${batches.length}`);
  for (const b of batches) t.ok(size(b) <= 1000);
  const s = new SyncVector();
  for (const b of batches.reverse()) s.cover(b.cover);
  t.equal(s.get('o1'), 7, 'ranges chain to the claimed top even delivered in reverse');
  t.same(planBatches([], { o1: 2 }, { o1: 2 }, 1000, size), [], 'nothing to send, nothing to claim');
  t.same(planBatches([], { o1: 2 }, { o1: 5 }, 1000, size)[0]!.cover, { o1: [2, 5] }, 'coverage-only delta');
});

t.test('delta wire round trip and rejections', async (t) => {
  const d = { cover: { o1: [0, 2] as const, o2: [1, 3] as const }, contributions: [contrib('o1', 'k', 2), contrib('o2', 'k', 3)] };
  const bytes = encodeSyncDelta(d, 'int8');
  const back = decodeSyncDelta(bytes);
  t.same(back.cover, { o1: [0, 2], o2: [1, 3] });
  t.equal(back.contributions.length, 2);
  t.throws(() => decodeSyncDelta(encodeSyncDelta({ cover: { o1: [2, 3] }, contributions: [contrib('o1', 'k', 2)] }, 'int8')), { code: 'WIRE_TYPE' }, 'contribution outside its cover');
  t.throws(() => decodeSyncDelta(Uint8Array.from([0xa1])), { code: 'WIRE_TRUNCATED' });
  t.throws(() => decodeSyncDelta(encodeCbor([1, 2])), { code: 'WIRE_TYPE' });
  t.throws(() => decodeSyncDelta(encodeCbor(cborMap([['cover', [['o', 3, 1]]], ['delta', new Uint8Array(0)]]))), { code: 'WIRE_TYPE' }, 'upto < base');
  t.throws(() => decodeSyncDelta(encodeCbor(cborMap([['cover', [['a/b', 0, 1]]], ['delta', new Uint8Array(0)]]))), { code: 'WIRE_TYPE' }, 'bad origin');
  t.throws(() => decodeSyncDelta(encodeCbor(cborMap([['cover', [['o', 0, 1], ['o', 0, 1]]], ['delta', new Uint8Array(0)]]))), { code: 'WIRE_TYPE' }, 'duplicate origin');
  t.throws(() => decodeSyncDelta(encodeCbor(cborMap([['cover', []], ['delta', 'x']]))), { code: 'WIRE_TYPE' });
  t.throws(() => decodeSyncDelta(encodeCbor(cborMap([['cover', [[1]]], ['delta', new Uint8Array(0)]]))), { code: 'WIRE_TYPE' });
});

t.test('topics and presence', async (t) => {
  const tp = fleetTopics('f1');
  t.same(parseTopic(tp, tp.delta('n1')), { kind: 'delta', node: 'n1' });
  t.same(parseTopic(tp, tp.state('n1')), { kind: 'state', node: 'n1' });
  t.same(parseTopic(tp, tp.energy('n1')), { kind: 'energy', node: 'n1' });
  t.equal(parseTopic(tp, 'h3lix/v1/f2/ccf/delta/n1'), undefined, 'other fleet');
  t.equal(parseTopic(tp, 'h3lix/v1/f1/ccf/state/n1'), undefined);
  t.equal(parseTopic(tp, 'h3lix/v1/f1/delta/n1'), undefined);
  t.equal(parseTopic(tp, 'h3lix/v1/f1/ccf/bogus/n1'), undefined);
  t.same(tp.subscriptions(), ['h3lix/v1/f1/state/+', 'h3lix/v1/f1/ccf/+/+'], 'state first: keys before messages');

  const pair = generateKeyPair();
  const p = { v: 1 as const, online: true, node: 'n', fleet: 'f', ts: 1, publicKey: Buffer.from(pair.publicKey).toString('base64') };
  const back = decodePresence(encodePresence(p));
  t.same(presenceKey(back), pair.publicKey);
  t.equal(presenceKey({ ...back, publicKey: 'AAAA' }), undefined, 'wrong key length');
  t.throws(() => decodePresence(Buffer.from('nope')), { code: 'WIRE_MALFORMED' });
  t.throws(() => decodePresence(Buffer.from(JSON.stringify({ ...p, v: 2 }))), { code: 'WIRE_VERSION' });
  t.throws(() => decodePresence(Buffer.from(JSON.stringify({ ...p, online: 'yes' }))), { code: 'WIRE_TYPE' });
  t.throws(() => decodePresence(new Uint8Array(20_000)), { code: 'WIRE_OVERSIZE' });
});

t.test('open key resolver accepts only self-certifying ids', async (t) => {
  const me = generateKeyPair();
  const other = generateKeyPair();
  const r = new OpenKeyResolver({ self: { node: 'me', publicKey: me.publicKey }, maxKeys: 2 });
  t.same(r.resolve('me'), me.publicKey);
  const id = nodeIdFromPublicKey(other.publicKey);
  t.equal(r.learn(id, me.publicKey), false, 'key does not match id');
  t.equal(r.resolve(id), undefined);
  t.equal(r.learn(id, other.publicKey), true);
  t.same(r.resolve(id), other.publicKey);
  const third = generateKeyPair();
  t.equal(r.learn(nodeIdFromPublicKey(third.publicKey), third.publicKey), false, 'bounded');
  t.equal(r.size, 2);
});

t.test('snapshot is shared and frozen until the vector changes, then reflects every change', async (t) => {
  const s = new SyncVector({ a: 2 });
  const first = s.snapshot();
  t.equal(s.snapshot(), first, 'same object while nothing changed (AntiEntropy memoizes its summary on it)');
  t.ok(Object.isFrozen(first), 'frozen: a caller cannot modify the shared copy');
  t.throws(() => {
    (first as Record<string, number>).a = 9;
  }, TypeError);
  // each mutation path must drop the cached copy (a stale cache fails these)
  s.cover({ a: [2, 4] });
  t.same(s.snapshot(), { a: 4 }, 'cover advanced');
  s.cover({ b: [3, 5] }); // gap: pending only, the vector does not move
  t.same(s.snapshot(), { a: 4 });
  s.raise('b', 3); // closes the gap: chain() advances b to 5
  t.same(s.snapshot(), { a: 4, b: 5 }, 'raise + chain');
  s.forget('a');
  t.same(s.snapshot(), { b: 5 }, 'forget');
  t.same(first, { a: 2 }, 'an old snapshot keeps its values');
});
