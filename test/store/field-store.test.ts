import t from 'tap';
import fc from 'fast-check';
import { openStore } from '../../src/store/db.js';
import { FieldStore } from '../../src/store/field-store.js';
import type { Contribution } from '../../src/ccf/types.js';
import { H3lixError } from '../../src/errors.js';

const contrib = (origin: string, key: string, version: number, sum: number[], count = 3): Contribution => ({
  origin,
  key,
  sum: Float32Array.from(sum),
  count,
  version,
  hlc: { wall: 1_750_000_000_000 + version, logical: version % 3 },
});

t.test('empty store loads nothing at version 0; save+load round-trips exactly across reopen', async (t) => {
  const dir = t.testdir();
  let store = openStore({ dataDir: dir });
  let fs = new FieldStore({ store });
  t.same(fs.load(), { contributions: [], localVersion: 0 });
  const cs = [contrib('nB', 'cat', 2, [0.1, -2.5, 3e-8]), contrib('nA', 'cat', 7, [1, 2, 3], 0.5), contrib('nA', 'dog', 1, [Math.PI], 1e-3)];
  fs.save(cs, 7);
  store.close();
  store = openStore({ dataDir: dir });
  t.teardown(() => store.close());
  fs = new FieldStore({ store });
  const { contributions, localVersion } = fs.load();
  t.equal(localVersion, 7);
  t.same(
    contributions.map((c) => `${c.key}/${c.origin}`),
    ['cat/nA', 'cat/nB', 'dog/nA'],
    'sorted by key, origin',
  );
  const byId = new Map(contributions.map((c) => [`${c.origin}/${c.key}`, c]));
  for (const c of cs) {
    const got = byId.get(`${c.origin}/${c.key}`)!;
    t.ok(got.sum instanceof Float32Array);
    t.same(Buffer.from(got.sum.buffer), Buffer.from(c.sum.buffer), 'sum bytes identical');
    t.same({ count: got.count, version: got.version, hlc: got.hlc }, { count: c.count, version: c.version, hlc: c.hlc });
  }
});

t.test('join invariant: older versions never overwrite, local version never decreases', async (t) => {
  const store = openStore({ dataDir: t.testdir() });
  t.teardown(() => store.close());
  const fs = new FieldStore({ store });
  fs.save([contrib('nA', 'k', 5, [5])], 10);
  fs.save([contrib('nA', 'k', 3, [3])], 4);
  let s = fs.load();
  t.equal(s.contributions[0]!.version, 5);
  t.equal(s.contributions[0]!.sum[0], 5);
  t.equal(s.localVersion, 10);
  fs.save([contrib('nA', 'k', 6, [6])], 11);
  s = fs.load();
  t.same([s.contributions[0]!.version, s.contributions[0]!.sum[0], s.localVersion], [6, 6, 11]);
  t.throws(() => fs.save([], -1));
  t.throws(() => fs.save([], 1.5));
});

t.test('remove and removeOrigin', async (t) => {
  const store = openStore({ dataDir: t.testdir() });
  t.teardown(() => store.close());
  const fs = new FieldStore({ store });
  fs.save([contrib('nA', 'a', 1, [1]), contrib('nA', 'b', 1, [1]), contrib('nB', 'a', 1, [1])], 1);
  t.equal(fs.remove('nB', 'a'), true);
  t.equal(fs.remove('nB', 'a'), false);
  t.equal(fs.removeOrigin('nA'), 2);
  t.same(fs.load().contributions, []);
});

t.test('a damaged sum blob is STORE_CORRUPT naming the row', async (t) => {
  const store = openStore({ dataDir: t.testdir() });
  t.teardown(() => store.close());
  store.db.prepare("INSERT INTO contributions VALUES ('nX', 'bad', x'010203', 1, 1, 0, 0)").run();
  const err = t.throws(() => new FieldStore({ store }).load()) as H3lixError;
  t.equal(err.code, 'STORE_CORRUPT');
  t.match(err.message, /nX\/bad/);
});

t.test('property: the stored state equals the per-(origin,key) max-version join of all saves', async (t) => {
  const arb = fc.array(
    fc.record({
      origin: fc.constantFrom('o1', 'o2', 'o3'),
      key: fc.constantFrom('a', 'b'),
      version: fc.integer({ min: 1, max: 50 }),
      x: fc.float({ noNaN: true, noDefaultInfinity: true }),
    }),
    { maxLength: 30 },
  );
  const dir = t.testdir();
  let run = 0;
  fc.assert(
    fc.property(arb, (ops) => {
      const store = openStore({ dataDir: `${dir}/${run++}` });
      try {
        const fs = new FieldStore({ store });
        const want = new Map<string, Contribution>();
        for (const op of ops) {
          const c = contrib(op.origin, op.key, op.version, [op.x, op.version]);
          fs.save([c], op.version);
          const id = `${op.origin}/${op.key}`;
          const prev = want.get(id);
          if (!prev || c.version >= prev.version) want.set(id, c);
        }
        const got = fs.load().contributions;
        if (got.length !== want.size) return false;
        return got.every((g) => {
          const w = want.get(`${g.origin}/${g.key}`)!;
          return g.version === w.version && Buffer.from(g.sum.buffer).equals(Buffer.from(w.sum.buffer));
        });
      } finally {
        store.close();
      }
    }),
    { numRuns: 40 },
  );
  t.pass('40 random save sequences matched the join');
});
