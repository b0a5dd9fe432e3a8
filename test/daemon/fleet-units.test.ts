import t from 'tap';
import { CcfField } from '../../src/ccf/field.js';
import type { Contribution } from '../../src/ccf/types.js';
import { EmbeddedBroker, type BrokerAuthHooks } from '../../src/sync/embedded-broker.js';
import { Transport } from '../../src/sync/transport.js';
import { ManualClock } from '../../src/util/clock.js';
import { freePort } from '../helpers/mosquitto.js';
import { until } from './helpers.js';

const ccf = { clipNorm: 10, trimFraction: 0.1, medianBelowOrigins: 5, halfLifeSeconds: 604800, retentionSeconds: 2592000, maxOriginShare: 0.5 };
const field = (nodeId: string, exclude?: (o: string) => boolean) => new CcfField({ nodeId, clock: new ManualClock(), config: ccf, quantization: 'float16', ...(exclude ? { exclude } : {}) });
const c = (origin: string, key: string, sum: number[], version: number, wall = 1000): Contribution => ({ origin, key, sum: Float32Array.from(sum), count: 1, version, hlc: { wall, logical: 0 } });

t.test('CcfField exclude: revoked origins stop counting in value(), are not merged and not relayed', async (t) => {
  const revoked = new Set<string>();
  const f = field('self', (o) => revoked.has(o));
  f.merge([c('a', 'k', [2, 0], 1), c('bad', 'k', [8, 8], 1), c('bad', 'only-bad', [5, 5], 1)]);
  t.ok(f.value('only-bad', 1000), 'counts before the revocation');
  const withBad = Array.from(f.value('k', 1000)!);

  revoked.add('bad');
  t.equal(f.value('only-bad', 1000), undefined, 'a revoked-only key has no value');
  const ref = field('self');
  ref.merge([c('a', 'k', [2, 0], 1)]);
  t.same(Array.from(f.value('k', 1000)!), Array.from(ref.value('k', 1000)!), 'value(k) equals the value without the revoked origin');
  t.not(Array.from(f.value('k', 1000)!).join(), withBad.join(), 'and differs from the value with it');
  t.same(f.merge([c('bad', 'k', [7, 7], 2)]), [], 'new contributions of a revoked origin are not merged');
  t.equal(f.get('bad', 'k')!.version, 1);
  t.notOk(f.deltaSince({}).some((x) => x.origin === 'bad'), 'anti-entropy does not relay the revoked origin');
  t.ok(f.contributions().some((x) => x.origin === 'bad'), 'held rows stay (digest unchanged until compaction)');

  // The node's own origin is never excluded.
  const me = field('self', () => true);
  t.equal(me.merge([c('self', 'x', [1], 3)]).length, 1);
  t.ok(me.value('x', 1000));
  t.ok(me.isExcluded('other') && !me.isExcluded('self'));
  me.setExclude(undefined);
  t.notOk(me.isExcluded('other'), 'setExclude(undefined) clears the filter');
});

t.test('CcfField: own contributions relayed back above localVersion raise it (store reset after corruption)', async (t) => {
  // Before: this node published versions 1..5. The DB was moved aside: a fresh field at localVersion 0.
  const f = field('self');
  f.restore([], 0);
  const first = f.contributeLocal('a', Float32Array.of(1), 1);
  t.equal(first.version, 1);
  // A peer relays our old contributions (anti-entropy) with versions above our counter.
  f.merge([c('self', 'a', [4], 5), c('self', 'b', [2], 4)]);
  t.equal(f.localVersion(), 5, 'localVersion raised to the highest own version seen');
  const next = f.contributeLocal('a', Float32Array.of(7), 1);
  t.equal(next.version, 6, 'the next local contribution outranks the relayed one, so peers keep it');
  t.equal(f.get('self', 'a')!.version, 6);
  // A relayed copy that loses to what we hold must still raise the counter when above it.
  const g = field('self');
  g.restore([c('self', 'z', [1], 9)], 0);
  t.equal(g.localVersion(), 9, 'restore of stored rows above a lost counter raises it');
  t.equal(g.contributeLocal('z', Float32Array.of(2), 1).version, 10);
});

t.test('Transport re-reads credentials before every (re)connect', async (t) => {
  const port = await freePort();
  const seen: string[] = [];
  let minOk = 1; // accept tok-N with N >= minOk
  const hooks: BrokerAuthHooks = {
    authenticate: (_c, _u, p, done) => {
      const pw = p?.toString() ?? '';
      seen.push(pw);
      done(null, pw.startsWith('tok-') && Number(pw.slice(4)) >= minOk);
    },
  };
  let broker = new EmbeddedBroker({ host: '127.0.0.1', port, hooks });
  await broker.start();
  t.teardown(() => broker.stop());
  let n = 0;
  const tr = new Transport({
    url: broker.url,
    clientId: 'cred-test',
    reconnectMs: 50,
    username: 'static',
    password: 'static',
    credentials: () => ({ username: 'node', password: `tok-${++n}` }),
    stateTopic: 'h3lix/v1/x/state/cred-test',
    birth: () => ({ v: 1, online: true, node: 'cred-test', fleet: 'x', ts: 0, publicKey: '' }),
    death: { v: 1, online: false, node: 'cred-test', fleet: 'x', ts: 0, publicKey: '' },
  });
  t.teardown(() => tr.stop());
  await tr.start();
  await until(() => tr.connected, 5000, 'first connect');
  t.same(seen, ['tok-1'], 'the first CONNECT carries credentials(), not the static password');

  // Token rotated while connected; the broker restarts and only accepts a fresh token.
  await broker.stop();
  minOk = Infinity;
  broker = new EmbeddedBroker({ host: '127.0.0.1', port, hooks });
  await broker.start();
  await until(() => seen.length >= 2, 5000, 'reconnect attempt');
  t.not(seen[1], 'tok-1', 'a reconnect asks credentials() again');
  minOk = n + 1; // only tokens issued from now on
  await until(() => tr.connected, 5000, 'reconnected with a fresh token');
  t.ok(Number(seen.at(-1)!.slice(4)) >= minOk, `connected with a token issued after the rotation (${seen.at(-1)})`);

  // A throwing credentials source keeps the previous ones instead of crashing.
  const tr2 = new Transport({
    url: broker.url,
    clientId: 'cred-test-2',
    credentials: () => {
      throw new Error('no token');
    },
    stateTopic: 'h3lix/v1/x/state/c2',
    birth: () => ({ v: 1, online: true, node: 'c2', fleet: 'x', ts: 0, publicKey: '' }),
    death: { v: 1, online: false, node: 'c2', fleet: 'x', ts: 0, publicKey: '' },
  });
  t.teardown(() => tr2.stop());
  await tr2.start();
  await until(() => seen.includes(''), 5000, 'tr2 attempted');
  t.notOk(tr2.connected, 'no credentials: refused by the broker, but no crash');
});
