import t from 'tap';
import { CcfField } from '../../src/ccf/field.js';
import { validateConfig } from '../../src/config/load.js';
import { keyPairFromSeed } from '../../src/crypto/ed25519.js';
import { nodeIdFromPublicKey } from '../../src/crypto/node-id.js';
import { OpenKeyResolver } from '../../src/sync/key-resolver.js';
import { SiteAggregator, SiteKeyResolver, isSiteOrigin, siteOrigin } from '../../src/sync/site-aggregate.js';
import { ManualClock } from '../../src/util/clock.js';
import { mulberry32 } from '../../src/util/prng.js';

const ccf = validateConfig({ node: { dataDir: '/tmp/unused', fleet: 'f' } }).ccf;
const clock = new ManualClock(Date.UTC(2026, 5, 1));

/** A gateway's board field with `m` honest boards around `centre` (±1), and one optional poisoner. */
function site(m: number, centre: number, poison?: { vector: number; count: number }, unsafeNoRobust = false) {
  const random = mulberry32(3);
  const source = new CcfField({ nodeId: 'ngateway', clock, config: ccf, quantization: 'int8' });
  const batch = [];
  for (let i = 0; i < m; i++) {
    const v = Float32Array.from({ length: 4 }, () => centre + random() * 2 - 1);
    batch.push({ origin: `nb${i}`, key: 'k', sum: v, count: 1, version: 1, hlc: { wall: clock.now(), logical: 0 } });
  }
  if (poison) batch.push({ origin: 'nbad', key: 'k', sum: Float32Array.from({ length: 4 }, () => poison.vector * poison.count), count: poison.count, version: 1, hlc: { wall: clock.now(), logical: 0 } });
  source.merge(batch);
  const target = new CcfField({ nodeId: siteOrigin('a'), clock, config: ccf, quantization: 'int8' });
  const agg = new SiteAggregator({ source, target, clock, unsafeNoRobust });
  return { source, target, agg };
}

t.test('site origins are named site-<name>; a bad name is refused with CONFIG_INVALID', (t) => {
  t.equal(siteOrigin('north-1'), 'site-north-1');
  t.ok(isSiteOrigin('site-x'));
  t.notOk(isSiteOrigin(nodeIdFromPublicKey(keyPairFromSeed(new Uint8Array(32)).publicKey)), 'board ids never look like site origins');
  t.throws(() => siteOrigin('a/b'), { code: 'CONFIG_INVALID' });
  t.throws(() => siteOrigin(''), { code: 'CONFIG_INVALID' });
  t.end();
});

t.test('the site contribution is the robust value of its boards, published once per change', (t) => {
  const { source, target, agg } = site(20, 0.5);
  t.equal(agg.aggregate(), 1, 'one key published');
  const c = target.get(target.nodeId, 'k')!;
  t.equal(c.count, 20, 'count: 20 boards × median count 1');
  const v = source.value('k', clock.now(), (o) => !isSiteOrigin(o))!;
  for (let i = 0; i < 4; i++) t.ok(Math.abs(c.sum[i]! / c.count - v[i]!) < 0.02, `coordinate ${i}: site ${(c.sum[i]! / c.count).toFixed(3)} ≈ boards' robust value ${v[i]!.toFixed(3)} (int8)`);
  t.equal(agg.aggregate(), 0, 'unchanged: nothing republished');
  t.equal(target.localVersion(), 1);
  t.end();
});

t.test('poisoning: one board of 20 moves the site value by at most 2·C·s/(1−2t); unsafe control moves it beyond', (t) => {
  const bound = (2 * ccf.clipNorm * Math.max(ccf.maxOriginShare, 1 / 21)) / (1 - 2 * ccf.trimFraction);
  const move = (unsafe: boolean) => {
    const honest = site(20, 0, undefined, unsafe).agg.siteValue('k', clock.now())!;
    const bad = site(20, 0, { vector: 1e6, count: 1e6 }, unsafe).agg.siteValue('k', clock.now())!;
    return { d: Math.max(...honest.mean.map((x, i) => Math.abs(bad.mean[i]! - x))), count: bad.count };
  };
  const robust = move(false);
  t.ok(robust.d <= bound, `robust: moved ${robust.d.toFixed(4)} ≤ bound ${bound.toFixed(3)}`);
  t.equal(robust.count, 21, 'a board claiming count 1e6 does not inflate the site count (21 × median 1)');
  const unsafe = move(true);
  t.ok(unsafe.d > bound, `control (no robust step): moved ${unsafe.d.toExponential(2)} > bound ${bound.toFixed(3)}`);
  t.ok(unsafe.count > 1e5, 'control: the claimed count passes through');
  t.end();
});

t.test('SiteKeyResolver pins site keys: presence cannot teach another key for a site origin', (t) => {
  const gw = keyPairFromSeed(new Uint8Array(32).fill(1));
  const other = keyPairFromSeed(new Uint8Array(32).fill(2));
  const r = new SiteKeyResolver(new OpenKeyResolver(), new Map([[siteOrigin('a'), gw.publicKey]]));
  t.same(r.resolve('site-a'), gw.publicKey);
  t.equal(r.resolve('site-b'), undefined, 'an unknown site has no key');
  t.notOk(r.learn('site-a', other.publicKey), 'another key offered for site-a is refused');
  t.same(r.resolve('site-a'), gw.publicKey);
  t.ok(r.learn('site-a', gw.publicKey), 'the pinned key itself is accepted (unparks)');
  const id = nodeIdFromPublicKey(other.publicKey);
  t.ok(r.learn(id, other.publicKey), 'boards are learned as before (self-certifying id)');
  t.same(r.resolve(id), other.publicKey);
  t.end();
});
