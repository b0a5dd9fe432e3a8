import t from 'tap';
import fc from 'fast-check';
import { CcfField } from '../../src/ccf/field.js';
import { canonicalVector } from '../../src/ccf/quantize.js';
import { encodeDeltaBody, decodeDeltaBody } from '../../src/ccf/codec/delta-body.js';
import { ManualClock } from '../../src/util/clock.js';
import type { Contribution } from '../../src/ccf/types.js';
import { ccfConfig, contribution, contributionArb, digestAfter, makeField } from './fixtures.js';

t.test('join laws: commutative, associative, idempotent (fast-check)', async (t) => {
  const arr = fc.array(contributionArb, { maxLength: 12 });
  fc.assert(
    fc.property(arr, arr, arr, (a, b, c) => {
      const ab = digestAfter([a, b]);
      const ba = digestAfter([b, a]);
      if (ab !== ba) return false;
      // (a ∪ b) ∪ c == a ∪ (b ∪ c): merge the intermediate state of b∪c as one delivery
      const bc = makeField('bc');
      bc.merge(b);
      bc.merge(c);
      const left = digestAfter([a, b, c]);
      const right = digestAfter([a, bc.contributions()]);
      if (left !== right) return false;
      // idempotent: merging the same again changes nothing and reports nothing
      const f = makeField('i');
      f.merge(a);
      const before = f.digest();
      return f.merge(a).length === 0 && f.merge(f.contributions()).length === 0 && f.digest() === before;
    }),
    { numRuns: 300 },
  );
  t.pass('300 random triples satisfied all three laws');
});

t.test('any delivery order with duplicates gives byte-identical digests and contents', async (t) => {
  fc.assert(
    fc.property(fc.array(contributionArb, { minLength: 1, maxLength: 20 }), fc.array(fc.nat(), { minLength: 1, maxLength: 40 }), (items, picks) => {
      const reference = digestAfter([items]);
      // a random delivery sequence with duplicates, each item delivered at least once
      const order = [...picks.map((p) => items[p % items.length]!), ...items].reverse();
      const viaWire = makeField('w');
      for (let i = 0; i < order.length; i += 3) viaWire.merge(decodeDeltaBody(encodeDeltaBody(order.slice(i, i + 3), { quantization: 'int8' })));
      return digestAfter(order.map((c) => [c])) === reference && viaWire.digest() === reference;
    }),
    { numRuns: 300 },
  );
  t.pass();
});

t.test('equal versions with different content resolve the same way everywhere', async (t) => {
  const a = contribution({ origin: 'o', key: 'k', version: 3, sum: Float32Array.of(1) });
  const b = contribution({ origin: 'o', key: 'k', version: 3, sum: Float32Array.of(2) });
  const f1 = makeField();
  f1.merge([a, b]);
  const f2 = makeField();
  f2.merge([b]);
  f2.merge([a]);
  t.equal(f1.digest(), f2.digest());
  // tie on version and hlc: the larger little-endian float32 byte string wins (1.0 = 00 00 80 3f > 2.0 = 00 00 00 40)
  t.same([...f1.get('o', 'k')!.sum], [1], 'byte order decides the tie');
  const newer = contribution({ origin: 'o', key: 'k', version: 2, hlc: { wall: 9e12, logical: 0 } });
  t.same(f1.merge([newer]), [], 'a lower version never wins, whatever its hlc');
});

t.test('contributeLocal canonicalizes, bumps the version, stamps HLC, notifies', async (t) => {
  const clock = new ManualClock();
  const f = makeField('me', { clock });
  const seen: Contribution[][] = [];
  const off = f.onChange((c) => seen.push(c));
  const raw = Float32Array.of(0.1234, -3.3, 7.77);
  const c1 = f.contributeLocal('k', raw, 2.2);
  t.equal(c1.version, 1);
  t.same([...c1.sum], [...canonicalVector(raw, 'int8')], 'stored vector is quantized->dequantized');
  t.equal(c1.count, Math.fround(2.2));
  t.equal(c1.hlc.wall, clock.now());
  const c2 = f.contributeLocal('k', raw, 2.2);
  t.equal(c2.version, 2);
  t.ok(c2.hlc.logical > c1.hlc.logical || c2.hlc.wall > c1.hlc.wall, 'hlc advances');
  t.equal(f.localVersion(), 2);
  t.equal(seen.length, 2);
  off();
  f.contributeLocal('j', raw, 1);
  t.equal(seen.length, 2, 'unsubscribed');
  t.throws(() => f.contributeLocal('bad/key', raw, 1), { code: 'DATA_INVALID' });
  t.throws(() => f.contributeLocal('k', Float32Array.of(NaN), 1), { code: 'DATA_INVALID' });
  t.throws(() => f.contributeLocal('k', raw, -1), { code: 'DATA_INVALID' });
  t.throws(() => new CcfField({ nodeId: 'a/b', clock, config: ccfConfig, quantization: 'int8' }), { code: 'WIRE_TYPE' });
});

t.test('version vector, deltaSince, keys, origins', async (t) => {
  const f = makeField('me');
  f.contributeLocal('k1', Float32Array.of(1), 1);
  f.contributeLocal('k2', Float32Array.of(1), 1);
  f.merge([contribution({ origin: 'p', key: 'k1', version: 7 }), contribution({ origin: 'p', key: 'k3', version: 4 })]);
  t.same(f.versionVector(), { me: 2, p: 7 });
  t.same(f.keys(), ['k1', 'k2', 'k3']);
  t.same(f.origins(), ['me', 'p']);
  t.same(f.deltaSince({ me: 1, p: 5 }).map((c) => `${c.origin}/${c.key}`), ['me/k2', 'p/k1']);
  t.same(f.deltaSince({}).length, 4);
  t.same(f.deltaSince(f.versionVector()), []);
  t.same(f.contributions().map((c) => `${c.origin}/${c.key}`), ['me/k1', 'me/k2', 'p/k1', 'p/k3'], 'canonical order');
  t.equal(f.size(), 4);
  // a peer that catches up from deltaSince reaches the same digest
  const peer = makeField('peer');
  peer.merge(f.deltaSince({}));
  t.equal(peer.digest(), f.digest());
  t.match(f.digest(), /^[0-9a-f]{64}$/);
});

t.test('own contributions seen from peers (after state loss) advance the local counter', async (t) => {
  const f = makeField('me');
  f.merge([contribution({ origin: 'me', key: 'k', version: 41 })]);
  t.equal(f.localVersion(), 41);
  t.equal(f.contributeLocal('k', Float32Array.of(1), 1).version, 42, 'never reuses a version');
});

t.test('invalid contributions are skipped by merge, not thrown', async (t) => {
  const f = makeField();
  const bad = [
    contribution({ origin: '', key: 'k' }),
    contribution({ origin: 'o', key: 'a#b' }),
    contribution({ origin: 'o', key: 'k', version: 0 }),
    contribution({ origin: 'o', key: 'k', version: 1.5 }),
    contribution({ origin: 'o', key: 'k', count: Infinity }),
    contribution({ origin: 'o', key: 'k', count: -1 }),
    contribution({ origin: 'o', key: 'k', sum: Float32Array.of(1, NaN) }),
    contribution({ origin: 'o', key: 'k', sum: new Float32Array(0) }),
    contribution({ origin: 'o', key: 'k', sum: new Float32Array(4097) }),
    contribution({ origin: 'o', key: 'k', hlc: { wall: -1, logical: 0 } }),
  ];
  t.same(f.merge(bad), []);
  t.equal(f.size(), 0);
});

t.test('merge stores copies and normalizes -0', async (t) => {
  const f = makeField();
  const sum = Float32Array.of(-0, 1);
  f.merge([contribution({ origin: 'o', key: 'k', sum })]);
  sum[1] = 99;
  t.same([...f.get('o', 'k')!.sum], [0, 1]);
  t.ok(Object.is(f.get('o', 'k')!.sum[0], 0), '+0 stored');
  const g = makeField();
  g.merge([contribution({ origin: 'o', key: 'k', sum: Float32Array.of(0, 1) })]);
  t.equal(f.digest(), g.digest(), '-0 and +0 give the same digest');
});

t.test('restore replaces state without notifying and keeps the local counter', async (t) => {
  const a = makeField('me');
  a.contributeLocal('k', Float32Array.of(1, 2), 3);
  a.merge([contribution({ origin: 'p', key: 'k', version: 5 })]);
  const b = makeField('me');
  b.contributeLocal('zzz', Float32Array.of(9), 1);
  let notified = 0;
  b.onChange(() => notified++);
  b.restore(a.contributions(), a.localVersion());
  t.equal(notified, 0);
  t.equal(b.digest(), a.digest());
  t.equal(b.localVersion(), 1);
  t.equal(b.contributeLocal('k', Float32Array.of(1), 1).version, 2);
  t.equal(notified, 1, 'listeners kept after restore');
});

t.test('compaction drops silent origins and does not resurrect them', async (t) => {
  const clock = new ManualClock();
  const f = makeField('me', { clock, config: { retentionSeconds: 100 } });
  const now = clock.now();
  f.contributeLocal('k', Float32Array.of(1), 1);
  f.merge([
    contribution({ origin: 'old', key: 'k', version: 3, hlc: { wall: now - 200_000, logical: 0 } }),
    contribution({ origin: 'old', key: 'j', version: 2, hlc: { wall: now - 150_000, logical: 0 } }),
    contribution({ origin: 'fresh', key: 'k', version: 1, hlc: { wall: now - 50_000, logical: 0 } }),
  ]);
  const d0 = f.digest();
  t.equal(f.compact(now), 1);
  t.same(f.origins(), ['fresh', 'me']);
  t.not(f.digest(), d0, 'digest recomputed');
  t.same(f.merge([contribution({ origin: 'old', key: 'k', version: 3, hlc: { wall: now - 200_000, logical: 0 } })]), [], 'relayed old copy is not resurrected');
  t.equal(f.merge([contribution({ origin: 'old', key: 'k', version: 4, hlc: { wall: now, logical: 0 } })]).length, 1, 'a newer version from a returning origin is accepted');
  clock.advance(10_000_000);
  t.equal(f.compact(clock.now()), 2, 'own origin is never compacted');
  t.same(f.origins(), ['me']);
});

t.test('a throwing listener does not break merge', async (t) => {
  const f = makeField();
  f.onChange(() => {
    throw new Error('boom');
  });
  t.equal(f.merge([contribution({ origin: 'o', key: 'k' })]).length, 1);
});
