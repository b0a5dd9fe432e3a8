import t from 'tap';
import { ManualClock } from '../../src/util/clock.js';
import { AntiEntropy } from '../../src/sync/anti-entropy.js';
import type { VersionVector } from '../../src/ccf/types.js';

function setup(self: string, sync: VersionVector, digest = 'mine', settleMs = 0) {
  const clock = new ManualClock();
  const sent: VersionVector[] = [];
  let wants = 0;
  const local = { sync, digest };
  const ae = new AntiEntropy({ self, clock, local: () => local, respond: (need) => sent.push(need), want: () => wants++, jitterMs: 400, settleMs, random: () => 0.5 });
  return { clock, sent, ae, local, wants: () => wants };
}

t.test('owner answers for its own origin quickly; equal digest means nothing to do', async (t) => {
  const { clock, sent, ae } = setup('a', { a: 5, b: 2 });
  ae.onPeerVector('p', { a: 5, b: 2 }, 'mine');
  clock.advance(2000);
  t.same(sent, [], 'same digest: silent');
  ae.onPeerVector('p', { a: 3, b: 2 }, 'theirs');
  clock.advance(49);
  t.same(sent, []);
  clock.advance(2);
  t.same(sent, [{ a: 3 }], 'own origin answered within J/4');
  t.equal(ae.stats.responses, 1);
});

t.test('relays wait and are suppressed by coverage seen on the wire', async (t) => {
  const { clock, sent, ae } = setup('a', { a: 5, b: 9 });
  ae.onPeerVector('p', { a: 5, b: 2 }, 'theirs');
  clock.advance(300);
  ae.onCoverage({ b: [2, 9] }); // the owner b answered first
  clock.advance(2000);
  t.same(sent, [], 'suppressed');
  t.equal(ae.stats.suppressed, 1);
  ae.onPeerVector('q', { a: 5, b: 4 }, 'theirs');
  clock.advance(2000);
  t.same(sent, [{ b: 4 }], 'relay sends what is still missing');
  t.equal(ae.stats.relays, 1);
});

t.test('need is the minimum over lagging peers; wants go out only while still behind', async (t) => {
  const { clock, sent, ae, local, wants } = setup('a', { a: 9 });
  ae.onPeerVector('p', { a: 4 }, 'x');
  ae.onPeerVector('q', { a: 2 }, 'y');
  clock.advance(1000);
  t.same(sent, [{ a: 2 }]);
  ae.onPeerVector('r', { a: 9, c: 3 }, 'z');
  clock.advance(2000);
  t.equal(wants(), 1, 'behind on c: want');
  local.sync = { a: 9, c: 3 };
  ae.onPeerVector('r', { a: 9, c: 3 }, 'z');
  clock.advance(2000);
  t.equal(wants(), 1, 'caught up: no want');
  ae.onPeerVector('s', { a: 1 });
  ae.onPeerOffline('s');
  clock.advance(2000);
  t.same(sent, [{ a: 2 }, { c: 0 }], 'offline peer s is not answered (a stays covered); p and q get c relayed');
  ae.onPeerVector('a', { a: 0 }, 'self');
  ae.stop();
  clock.advance(2000);
  t.equal(sent.length, 2, 'own vector and stopped planner ignored');
});

t.test('versions we only just got are not answered until they settle', async (t) => {
  const { clock, sent, ae, local } = setup('a', { a: 5 }, 'mine', 1000);
  ae.touch();
  clock.advance(5000); // a:5 is old now
  local.sync = { a: 6 };
  ae.touch(); // a:6 just arrived (its delta is still in flight to the peers)
  ae.onPeerVector('p', { a: 5 }, 'theirs');
  clock.advance(500);
  t.same(sent, [], 'a:6 is recent: no answer yet');
  ae.onPeerVector('p', { a: 6 }, 'mine');
  clock.advance(3000);
  t.same(sent, [], 'the peer got it meanwhile: never answered');
  ae.onPeerVector('q', { a: 3 }, 'other');
  clock.advance(200);
  t.same(sent, [{ a: 3 }], 'old lag is answered at once (with everything above it)');
});
