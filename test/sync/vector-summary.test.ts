import t from 'tap';
import { decodeDigestBody, decodeWantBody, encodeDigestBody, encodeWantBody } from '../../src/ccf/codec/sync-bodies.js';
import { CborWriter } from '../../src/ccf/codec/cbor.js';
import { WireError } from '../../src/errors.js';
import { SUMMARY_BUCKETS, VectorSummarizer, bucketOf, bucketsBehind, restrictToBuckets } from '../../src/sync/vector-summary.js';

const origins = (n: number) => Array.from({ length: n }, (_, i) => `node-${i.toString(36).padStart(4, '0')}`);
const vector = (n: number, v = 3) => Object.fromEntries(origins(n).map((o) => [o, v]));

t.test('equal vectors give equal summaries whatever the insertion order; a summary has a fixed size', (t) => {
  const s = new VectorSummarizer();
  const a = vector(200);
  const b = Object.fromEntries(Object.entries(a).reverse());
  t.same(s.summarize(a), new VectorSummarizer().summarize(b));
  t.same(bucketsBehind(s.summarize(a), s.summarize(b)), [], 'no bucket differs');
  const small = encodeDigestBody({ summary: s.summarize(vector(10)), digest: '00'.repeat(32), count: 60 }).length;
  const large = encodeDigestBody({ summary: s.summarize(vector(5000)), digest: '00'.repeat(32), count: 30000 }).length;
  const legacySmall = encodeDigestBody({ vv: vector(10), digest: '00'.repeat(32), count: 60 }).length;
  const legacyLarge = encodeDigestBody({ vv: vector(5000), digest: '00'.repeat(32), count: 30000 }).length;
  t.ok(large - small <= 3 * SUMMARY_BUCKETS, `summary digest ${small} B at 10 origins, ${large} B at 5000 (only the varints of the bucket sums grow, with the log of the versions)`);
  t.ok(legacyLarge > 100 * legacySmall / 2, `control: the whole-vector digest grows with the fleet (${legacySmall} B → ${legacyLarge} B)`);
  t.end();
});

t.test('a peer ahead in one origin shows up in that origin\'s bucket only, and only on the side that lacks it', (t) => {
  const s = new VectorSummarizer();
  const mine = vector(300);
  const o = origins(300)[123]!;
  const theirs = { ...mine, [o]: 4 };
  const behind = bucketsBehind(s.summarize(mine), new VectorSummarizer().summarize(theirs));
  t.same(behind, [bucketOf(o)], 'we lack something in exactly that bucket');
  t.same(bucketsBehind(new VectorSummarizer().summarize(theirs), s.summarize(mine)), [], 'the peer that is ahead lacks nothing');
  const drill = restrictToBuckets(mine, behind);
  t.ok(o in drill && Object.keys(drill).every((x) => bucketOf(x) === bucketOf(o)), `the drill-down carries ${Object.keys(drill).length} of 300 entries, all of that bucket`);
  // a new origin the peer knows and we do not
  const extra = { ...mine, 'node-zzzz': 1 };
  t.same(bucketsBehind(s.summarize(mine), new VectorSummarizer().summarize(extra)), [bucketOf('node-zzzz')]);
  // mixed: ahead in one origin, behind in another of the same bucket (equal sums): both sides see it
  const same = origins(300).filter((x) => bucketOf(x) === bucketOf(o) && x !== o)[0]!;
  const mixed = { ...mine, [o]: 4, [same]: 2 };
  t.same(bucketsBehind(s.summarize(mine), new VectorSummarizer().summarize(mixed)), [bucketOf(o)]);
  t.same(bucketsBehind(new VectorSummarizer().summarize(mixed), s.summarize(mine)), [bucketOf(o)]);
  t.end();
});

t.test('summary digests and scoped wants round-trip; the whole-vector forms still decode', (t) => {
  const summary = new VectorSummarizer().summarize(vector(40));
  const d = decodeDigestBody(encodeDigestBody({ summary, digest: 'ab'.repeat(32), count: 240 }));
  t.same(d, { summary, digest: 'ab'.repeat(32), count: 240 });
  t.same(decodeDigestBody(encodeDigestBody({ vv: { a: 1 }, digest: 'ab'.repeat(32), count: 1 })).vv, { a: 1 });
  t.same(decodeWantBody(encodeWantBody({ vv: { a: 1 }, buckets: [3, 9], nonce: 0xfffffffe })), { vv: { a: 1 }, buckets: [3, 9], nonce: 0xfffffffe });
  t.same(decodeWantBody(encodeWantBody({ vv: { a: 1 } })), { vv: { a: 1 } });
  t.throws(() => encodeDigestBody({ digest: 'ab'.repeat(32), count: 1 }), { code: 'WIRE_TYPE' }, 'neither vv nor summary');
  t.end();
});

t.test('bad summaries and wants are refused with their reason', (t) => {
  const raw = (entries: Array<[string, (w: CborWriter) => void]>) => {
    const w = new CborWriter();
    w.head(5, entries.length);
    for (const [k, f] of entries) {
      w.text(k);
      f(w);
    }
    return w.finish();
  };
  const digest = (w: CborWriter) => w.bytes(new Uint8Array(32));
  const count = (w: CborWriter) => w.int(1);
  const sums = (n: number) => (w: CborWriter) => {
    w.head(4, n);
    for (let i = 0; i < n; i++) w.int(1);
  };
  const cases: Array<[string, Uint8Array, string, RegExp]> = [
    ['hash bytes do not match the bucket count', raw([['sh', (w) => w.bytes(new Uint8Array(10))], ['ss', sums(32)], ['digest', digest], ['count', count]]), 'WIRE_TYPE', /8 per bucket/],
    ['too many buckets', raw([['sh', (w) => w.bytes(new Uint8Array(8 * 300))], ['ss', sums(300)], ['digest', digest], ['count', count]]), 'WIRE_OVERSIZE', /300 summary buckets/],
    ['a negative sum', raw([['sh', (w) => w.bytes(new Uint8Array(8))], ['ss', (w) => { w.head(4, 1); w.int(-1); }], ['digest', digest], ['count', count]]), 'WIRE_TYPE', /ss\[0\]/],
    ['no vector and no summary', raw([['digest', digest], ['count', count]]), 'WIRE_TYPE', /needs vv, or sh/],
  ];
  for (const [why, bytes, code, re] of cases) {
    let err: unknown;
    try {
      decodeDigestBody(bytes);
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof WireError && err.code === code && re.test(err.message), `${why}: ${err instanceof Error ? err.message : 'accepted'}`);
  }
  const want = (b: (w: CborWriter) => void, key = 'b') => raw([['vv', (w) => w.head(5, 0)], [key, b]]);
  t.throws(() => decodeWantBody(want((w) => { w.head(4, 1); w.int(256); })), /bucket number below 256/, 'bucket out of range');
  t.throws(() => decodeWantBody(want((w) => w.int(3))), /b must be an array/, 'buckets not an array');
  t.throws(() => decodeWantBody(want((w) => w.int(2 ** 33), 'r')), /uint32/, 'nonce too large');
  t.end();
});

t.test('after a reconnect a bucket that differs both ways is wanted; outside that window it waits for a digest that is ahead', async (t) => {
  const { AntiEntropy } = await import('../../src/sync/anti-entropy.js');
  const { ManualClock } = await import('../../src/util/clock.js');
  const all = origins(400);
  const b = bucketOf(all[0]!);
  const [mineAhead, theirsAhead, third] = all.filter((o) => bucketOf(o) === b);
  // both sides moved while apart: we hold mineAhead v5 and third v4, the peer theirsAhead v3 (we have v2)
  const base = Object.fromEntries(all.map((o) => [o, 2]));
  const mine = { ...base, [mineAhead!]: 5, [third!]: 4 };
  const theirs = { ...base, [theirsAhead!]: 3 };
  const peerSummary = new VectorSummarizer().summarize(theirs);
  const run = (reconnected: boolean) => {
    const clock = new ManualClock();
    const wants: Array<number[] | undefined> = [];
    const ae = new AntiEntropy({ self: 'me', clock, local: () => ({ sync: mine, digest: 'a'.repeat(64) }), respond: () => undefined, want: (bs) => wants.push(bs), random: () => 0.5 });
    if (reconnected) ae.onConnected();
    ae.onPeerSummary('peer', peerSummary, 'b'.repeat(64));
    clock.advance(5000);
    ae.stop();
    return wants;
  };
  t.same(bucketsBehind(new VectorSummarizer().summarize(mine), peerSummary), [], 'the peer\'s sum in that bucket is below ours: "behind" alone does not see what we lack');
  t.same(run(true), [[b]], 'just after a reconnect the differing bucket is wanted');
  t.same(run(false), [], 'control: without the reconnect window no want goes out (a later digest that is ahead brings it)');
});

t.test('a want with a nonce wakes about 8 of 40 peers; without the nonce every peer answers', async (t) => {
  const { AntiEntropy } = await import('../../src/sync/anti-entropy.js');
  const { ManualClock } = await import('../../src/util/clock.js');
  const ids = origins(41);
  const answered = (nonce: number | undefined) => {
    const clock = new ManualClock();
    let n = 0;
    const helpers = ids.slice(1).map((self) => new AntiEntropy({ self, clock, local: () => ({ sync: { [ids[0]!]: 1, x: 5 }, digest: 'a'.repeat(64) }), respond: () => n++, want: () => undefined, random: () => 0.5, settleMs: 0 }));
    const summary = new VectorSummarizer().summarize({ x: 5 });
    // every helper knows the 40 others (their digests), so the fleet is large enough for the subset
    for (const h of helpers) for (const p of ids.slice(1)) h.onPeerSummary(p, summary, 'a'.repeat(64));
    clock.advance(10);
    for (const h of helpers) h.onPeerVector(ids[0]!, { x: 1 }, undefined, 0, nonce === undefined ? {} : { nonce });
    clock.advance(10_000);
    for (const h of helpers) h.stop();
    return n;
  };
  const counts = [1, 2, 3, 4, 5].map((nonce) => answered(nonce));
  t.ok(counts.every((c) => c <= 16), `answers per want with a nonce: ${counts.join(', ')} of 40 (about 8 expected)`);
  t.ok(counts.some((c) => c > 0), 'someone answers');
  t.equal(answered(undefined), 40, 'control: a want without a nonce is answered by all 40');
});
