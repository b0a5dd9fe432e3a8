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
  ae.touch();
  return { clock, sent, ae, local, wants: () => wants };
}

t.test('a lagging peer gets one answer with everything it misses; equal digest means nothing to do', async (t) => {
  const { clock, sent, ae } = setup('a', { a: 5, b: 2 });
  ae.onPeerVector('p', { a: 5, b: 2 }, 'mine');
  clock.advance(2000);
  t.same(sent, [], 'same digest: silent');
  ae.onPeerVector('p', { a: 3, b: 1 }, 'theirs');
  clock.advance(199);
  t.same(sent, [], 'waits inside the window');
  clock.advance(2);
  t.same(sent, [{ a: 3, b: 1 }], 'answered all origins at once');
  t.equal(ae.stats.answers, 1);
  t.equal(ae.window(), 400, 'one peer: window is J');
});

t.test('answers are suppressed by coverage seen on the wire', async (t) => {
  const { clock, sent, ae } = setup('a', { a: 5, b: 9 });
  ae.onPeerVector('p', { a: 5, b: 2 }, 'theirs');
  clock.advance(100);
  ae.onCoverage({ b: [2, 9] }); // someone else answered first
  clock.advance(2000);
  t.same(sent, [], 'suppressed');
  t.equal(ae.stats.suppressed, 1);
  ae.onPeerVector('q', { a: 5, b: 4 }, 'theirs');
  clock.advance(2000);
  t.same(sent, [{ b: 4 }], 'what is still missing is sent');
});

t.test('need is the minimum over lagging peers; wants go out only while still behind; offline peers are dropped', async (t) => {
  const { clock, sent, ae, local, wants } = setup('a', { a: 9 });
  ae.onPeerVector('p', { a: 4 }, 'x');
  ae.onPeerVector('q', { a: 2 }, 'y');
  clock.advance(1000);
  t.same(sent, [{ a: 2 }]);
  ae.onPeerVector('r', { a: 9, c: 3 }, 'z');
  clock.advance(2000);
  t.equal(wants(), 1, 'behind on c: want');
  local.sync = { a: 9, c: 3 };
  ae.touch();
  ae.onPeerVector('r', { a: 9, c: 3 }, 'z');
  clock.advance(2000);
  t.equal(wants(), 1, 'caught up: no want');
  ae.onPeerVector('s', { a: 1, c: 3 });
  ae.onPeerOffline('s');
  clock.advance(2000);
  t.same(sent, [{ a: 2 }], 'offline peer s is not answered; p and q spoke before c reached us, so their next digest decides');
  ae.onPeerVector('a', { a: 0 }, 'self');
  ae.stop();
  ae.onPeerVector('t', { a: 0 }, 'other');
  clock.advance(2000);
  t.equal(sent.length, 1, 'own vector and stopped planner ignored');
});

t.test('a digest lagging a version we only got just before it was sent is not answered', async (t) => {
  const { clock, sent, ae, local } = setup('a', { a: 5 }, 'mine', 400);
  clock.advance(5000); // a:5 is old now
  local.sync = { a: 6 };
  ae.touch(); // a:6 arrives
  clock.advance(100);
  ae.onPeerVector('p', { a: 5 }, 'theirs', 50); // sent 50 ms ago, 50 ms after we got a:6
  clock.advance(2000);
  t.same(sent, [], 'probably overtaken by the live delta: not answered');
  ae.onPeerVector('p', { a: 5 }, 'theirs', 0); // still lagging 2 s later: real
  clock.advance(2000);
  t.same(sent, [{ a: 5 }], 'a lag that persists is answered');
  ae.onPeerVector('q', { a: 3 }, 'other', 1_000_000);
  clock.advance(2000);
  t.equal(sent.length, 1, 'a digest from before we held anything (replayed or delayed) is not answered');
});

t.test('the answer window grows with the number of peers', async (t) => {
  const { ae } = setup('a', { a: 1 });
  for (let i = 0; i < 45; i++) ae.onPeerVector(`p${i}`, { a: 1 }, 'mine');
  t.equal(ae.window(), 400 * 5);
  for (let i = 45; i < 200; i++) ae.onPeerVector(`p${i}`, { a: 1 }, 'mine');
  t.equal(ae.window(), 400 * 8, 'capped at 8 J');
});

t.test('a want waits while deliveries still advance our vector, up to quietWantMs', async (t) => {
  const run = (quietWantMs: number | undefined, advanceEvery: number, until: number) => {
    const clock = new ManualClock();
    const local = { sync: { a: 1, b: 0 } as VersionVector, digest: 'mine' };
    const at: number[] = [];
    const ae = new AntiEntropy({ self: 'a', clock, local: () => local, respond: () => undefined, want: () => at.push(clock.monotonic()), jitterMs: 400, settleMs: 0, random: () => 0.5, ...(quietWantMs !== undefined ? { quietWantMs } : {}) });
    ae.touch();
    const t0 = clock.monotonic();
    ae.onPeerVector('p', { a: 1, b: 50 }, 'theirs'); // ahead on b: a want is armed (fires after 0 + 0.5 × 400 ms)
    for (let ms = 0; ms < until; ms += 50) {
      clock.advance(50);
      if (advanceEvery && (ms + 50) % advanceEvery === 0 && local.sync.b! < 49) {
        local.sync = { ...local.sync, b: (local.sync.b ?? 0) + 1 }; // b's deltas keep arriving
        ae.touch(['b']);
      }
    }
    return at.map((x) => x - t0);
  };
  t.same(run(undefined, 0, 1000), [200], 'nothing arriving: the want goes out after settle + jitter');
  t.same(run(undefined, 150, 1000), [], 'b advancing every 150 ms: the want is put off');
  t.same(run(undefined, 150, 4000), [3200], 'but not past quietWantMs (8 J) after it was armed');
  t.same(run(0, 150, 1000), [200], 'control: quietWantMs 0 wants at once while b is still arriving');
});
