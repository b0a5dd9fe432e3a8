import t from 'tap';
import fc from 'fast-check';
import { ReplayGuard } from '../../src/ccf/codec/replay.js';

const accepts = (g: ReplayGuard, from: string, seq: number): boolean => {
  try {
    g.check(from, seq);
    g.accept(from, seq);
    return true;
  } catch {
    return false;
  }
};

t.test('sliding window: duplicates and too-old rejected, reordering within the window accepted', async (t) => {
  const g = new ReplayGuard();
  t.ok(accepts(g, 'a', 5000));
  t.notOk(accepts(g, 'a', 5000), 'duplicate');
  t.ok(accepts(g, 'a', 4990), 'late but inside the window');
  t.notOk(accepts(g, 'a', 4990), 'late duplicate');
  t.ok(accepts(g, 'a', 5000 - 1023), 'oldest seq inside the window');
  t.notOk(accepts(g, 'a', 5000 - 1024), 'just outside the window');
  t.throws(() => g.check('a', 1), { code: 'WIRE_REPLAY', message: /older than the replay window/ });
  t.throws(() => g.check('a', 5000), { code: 'WIRE_REPLAY', message: /already accepted/ });
  t.ok(accepts(g, 'b', 5000), 'senders are independent');
  t.ok(accepts(g, 'a', 100_000), 'a big jump forward');
  t.notOk(accepts(g, 'a', 5001), 'everything before the jump is now too old');
  t.ok(accepts(g, 'a', 99_999));
  t.equal(g.highest('a'), 100_000);
  t.throws(() => g.accept('a', 99_999), { code: 'WIRE_REPLAY' }, 'accept re-checks');
  g.forget('a');
  t.equal(g.highest('a'), undefined);
  t.throws(() => new ReplayGuard({ window: 100 }), RangeError);
});

t.test('matches a reference model: accept iff unseen and > max - window (fast-check)', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 300 }), (seqs) => {
      const g = new ReplayGuard({ window: 64 });
      const seen = new Set<number>();
      let max = -Infinity;
      for (const s of seqs) {
        const expected = !seen.has(s) && s > max - 64;
        if (accepts(g, 'x', s) !== expected) return false;
        if (expected) {
          seen.add(s);
          max = Math.max(max, s);
        }
      }
      return true;
    }),
    { numRuns: 500 },
  );
  t.pass();
});

t.test('state survives export/import', async (t) => {
  const g = new ReplayGuard();
  for (const s of [10, 12, 11, 500]) g.accept('n1', s);
  const state = JSON.parse(JSON.stringify(g.exportState()));
  const h = new ReplayGuard();
  t.equal(h.importState(state), 1);
  t.notOk(accepts(h, 'n1', 12), 'seen before the restart');
  t.ok(accepts(h, 'n1', 13), 'unseen inside the window');
  t.equal(h.importState({ bad: { top: -1, bits: '' }, worse: { top: 1, bits: 'AAAA' } }), 0, 'malformed entries skipped');
});
