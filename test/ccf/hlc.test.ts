import t from 'tap';
import fc from 'fast-check';
import { HybridLogicalClock, compareHlc } from '../../src/ccf/hlc.js';
import { ManualClock } from '../../src/util/clock.js';
import type { HlcStamp } from '../../src/ccf/types.js';

t.test('local stamps are strictly increasing even when wall time stands still or steps back', async (t) => {
  const clock = new ManualClock(1_000_000);
  const hlc = new HybridLogicalClock({ clock });
  const a = hlc.now();
  const b = hlc.now();
  t.same(a, { wall: 1_000_000, logical: 0 });
  t.same(b, { wall: 1_000_000, logical: 1 });
  clock.jumpWall(-500_000);
  const c = hlc.now();
  t.ok(compareHlc(c, b) > 0, 'monotonic across a backwards wall jump');
  t.equal(c.wall, 1_000_000, 'wall part never goes back');
  clock.jumpWall(600_000);
  t.same(hlc.now(), { wall: 1_100_000, logical: 0 }, 'logical resets when physical time overtakes');
});

t.test('observe follows Kulkarni et al.: receive stamps exceed both the local and remote stamps', async (t) => {
  const clock = new ManualClock(1_000);
  const hlc = new HybridLogicalClock({ clock });
  t.same(hlc.observe({ wall: 2_000, logical: 5 }), { wall: 2_000, logical: 6 }, 'remote ahead: adopt its wall, logical+1');
  t.same(hlc.observe({ wall: 2_000, logical: 9 }), { wall: 2_000, logical: 10 }, 'same l everywhere: max(c, m.c)+1');
  t.same(hlc.observe({ wall: 1_500, logical: 50 }), { wall: 2_000, logical: 11 }, 'remote behind: tick local');
  clock.jumpWall(5_000);
  t.same(hlc.observe({ wall: 10, logical: 3 }), { wall: 6_000, logical: 0 }, 'physical ahead of both: reset');
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 0, max: 10 }), fc.integer({ min: -50, max: 100 }))), (events) => {
      const ck = new ManualClock(5_000);
      const h = new HybridLogicalClock({ clock: ck });
      let last: HlcStamp = { wall: -1, logical: 0 };
      for (const [recv, wall, logical, step] of events) {
        ck.jumpWall(step);
        const remote = { wall, logical };
        const s = recv ? h.observe(remote) : h.now();
        if (compareHlc(s, last) <= 0) return false;
        if (recv && compareHlc(s, remote) <= 0) return false;
        if (s.wall < ck.now()) return false;
        last = s;
      }
      return true;
    }),
    { numRuns: 500 },
  );
});

t.test('a remote stamp too far in the future is not adopted', async (t) => {
  const clock = new ManualClock(1_000_000);
  const hlc = new HybridLogicalClock({ clock, maxForwardMs: 60_000 });
  const s = hlc.observe({ wall: 1_000_000 + 3_600_000, logical: 0 });
  t.equal(s.wall, 1_000_000);
  t.equal(hlc.rejectedAhead, 1);
  t.equal(hlc.observe({ wall: 1_050_000, logical: 0 }).wall, 1_050_000, 'within bound is adopted');
});

t.test('compareHlc, peek and restore', async (t) => {
  t.equal(compareHlc({ wall: 1, logical: 9 }, { wall: 2, logical: 0 }), -1);
  t.equal(compareHlc({ wall: 2, logical: 1 }, { wall: 2, logical: 0 }), 1);
  t.equal(compareHlc({ wall: 2, logical: 1 }, { wall: 2, logical: 1 }), 0);
  const clock = new ManualClock(100);
  const hlc = new HybridLogicalClock({ clock });
  hlc.restore({ wall: 500, logical: 7 });
  t.same(hlc.peek(), { wall: 500, logical: 7 });
  t.same(hlc.now(), { wall: 500, logical: 8 }, 'continues after the persisted stamp');
  hlc.restore({ wall: 1, logical: 0 });
  t.same(hlc.peek(), { wall: 500, logical: 8 }, 'restore never moves backwards');
});
