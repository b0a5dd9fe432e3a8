import t from 'tap';
import fc from 'fast-check';
import { digestOfOrigins } from '../../src/ccf/field.js';
import type { Contribution } from '../../src/ccf/types.js';
import { ManualClock } from '../../src/util/clock.js';
import { contribution, contributionArb, makeField } from './fixtures.js';

// The incremental digest (per-origin hashes cached, only changed origins re-hashed) must equal the
// from-scratch definition after any sequence of merges, and must see every field of a contribution.

t.test('incremental digest: any merge order, digest() called at any point, equals the from-scratch digest', async (t) => {
  fc.assert(
    fc.property(fc.array(contributionArb, { minLength: 1, maxLength: 24 }), fc.array(fc.boolean(), { maxLength: 24 }), fc.array(fc.nat(), { maxLength: 24 }), (items, peeks, perm) => {
      const a = makeField('a');
      items.forEach((c, i) => {
        a.merge([c]);
        if (peeks[i]) a.digest(); // fill the per-origin cache mid-way: stale entries would show
      });
      // a different delivery order (a permutation), in batches, without intermediate digests
      const order = [...items];
      perm.forEach((p, i) => {
        const j = p % order.length;
        [order[i % order.length], order[j]] = [order[j]!, order[i % order.length]!];
      });
      const b = makeField('b');
      for (let i = 0; i < order.length; i += 5) b.merge(order.slice(i, i + 5));
      return a.digest() === b.digest() && a.digest() === digestOfOrigins(a.contributions());
    }),
    { numRuns: 300 },
  );
  t.pass('300 random histories: equal state gives equal digests, incremental = from scratch');
});

const base: Contribution[] = [
  contribution({ origin: 'a', key: 'x', version: 2, count: 3, hlc: { wall: 5_000, logical: 1 } }),
  contribution({ origin: 'a', key: 'y', version: 3, count: 1, hlc: { wall: 6_000, logical: 0 } }),
  contribution({ origin: 'b', key: 'x', version: 1, count: 2, hlc: { wall: 5_500, logical: 2 } }),
];

/** Each single change of one field of the first contribution. */
const mutations: Record<string, (c: Contribution) => Contribution> = {
  version: (c) => ({ ...c, version: c.version + 1 }),
  'hlc.wall': (c) => ({ ...c, hlc: { ...c.hlc, wall: c.hlc.wall + 1 } }),
  'hlc.logical': (c) => ({ ...c, hlc: { ...c.hlc, logical: c.hlc.logical + 1 } }),
  count: (c) => ({ ...c, count: c.count + 1 }),
  sum: (c) => ({ ...c, sum: Float32Array.of(c.sum[0]!, c.sum[1]! + 0.5) }),
  key: (c) => ({ ...c, key: 'z' }),
  origin: (c) => ({ ...c, origin: 'c' }),
};

/** Names of the mutations a digest function does not notice (it should notice all). */
function unnoticed(digest: (cs: Contribution[]) => string): string[] {
  const d0 = digest(base);
  return Object.entries(mutations)
    .filter(([, m]) => digest([m(base[0]!), ...base.slice(1)]) === d0)
    .map(([name]) => name);
}

/** The field's own digest of a set of contributions, with the cache primed on `base` first. */
function fieldDigest(cs: Contribution[]): string {
  const f = makeField('observer');
  f.restore(base, 0);
  f.digest(); // prime the per-origin cache with the base state, then replace the state
  f.restore(cs, 0);
  return f.digest();
}

t.test('any single change of version, hlc, count, sum, key or origin changes the digest', async (t) => {
  t.same(unnoticed(digestOfOrigins), [], 'from-scratch definition');
  t.same(unnoticed(fieldDigest), [], 'CcfField.digest() after restore');
  // incremental path: the changed contribution merged into a field whose digest was already taken
  for (const [name, m] of Object.entries(mutations)) {
    if (name !== 'version' && name !== 'hlc.wall' && name !== 'count') continue; // merges only accept a winner
    const f = makeField('observer');
    f.merge(base);
    const d0 = f.digest();
    const changed = m(base[0]!);
    t.equal(f.merge([changed]).length, 1, `${name}: the change wins the join`);
    t.not(f.digest(), d0, `${name}: incremental digest changed`);
    t.equal(f.digest(), digestOfOrigins(f.contributions()), `${name}: incremental = from scratch`);
  }
  // negative control: a digest that skips a field is caught by the same check
  const skipsCount = (cs: Contribution[]) => digestOfOrigins(cs.map((c) => ({ ...c, count: 0 })));
  t.same(unnoticed(skipsCount), ['count'], 'negative control: a digest ignoring count fails the check');
  const skipsLogical = (cs: Contribution[]) => digestOfOrigins(cs.map((c) => ({ ...c, hlc: { ...c.hlc, logical: 0 } })));
  t.same(unnoticed(skipsLogical), ['hlc.logical'], 'negative control: a digest ignoring hlc.logical fails the check');
});

t.test('digest is deterministic across restore() and compaction', async (t) => {
  const clock = new ManualClock(10_000_000);
  const f = makeField('self', { clock, config: { retentionSeconds: 1 } });
  f.merge(base);
  f.merge([contribution({ origin: 'fresh', key: 'x', hlc: { wall: 10_000_000, logical: 0 } })]);
  const before = f.digest();
  const g = makeField('other');
  g.restore(f.contributions(), 0);
  t.equal(g.digest(), before, 'restored field: same digest');
  t.equal(f.compact(clock.now()), 2, 'a and b compacted');
  const survivor = makeField('fresh-only');
  survivor.merge(f.contributions());
  t.not(f.digest(), before, 'compaction changes the digest');
  t.equal(f.digest(), survivor.digest(), 'after compaction: same digest as a field holding only the survivors');
  t.equal(f.digest(), digestOfOrigins(f.contributions()));
});
