import t from 'tap';
import { validateConfig } from '../../src/config/load.js';
import { siteChain } from '../../src/daemon/features/site.js';

// siteChain (features/site.ts, docs/sync.md "Zones of zones"): each level's members, peers and the top.
const key = Buffer.alloc(32, 7).toString('base64');
const site = (zones: unknown[], gateway = true) =>
  validateConfig({ node: { dataDir: '/tmp/x', fleet: 'f1' }, site: { enabled: true, name: 'n1', gateway, zones, keys: Object.fromEntries(['n1', 'n2', 'w1', 'east', 'west', 'europe', 'asia'].map((n) => [n, key])) } }).site;

t.test('no zones: the site aggregates the boards and syncs with every site origin', async (t) => {
  const { levels, top } = siteChain(site([]));
  t.equal(levels.length, 1);
  t.equal(levels[0]!.origin, 'site-n1');
  t.ok(levels[0]!.members('nAbc') && !levels[0]!.members('site-n2'), 'members: board origins only');
  t.ok(levels[0]!.peers('site-anything') && !levels[0]!.peers('nAbc'), 'peers: every site origin, no board');
  t.ok(top('site-n2') && !top('nAbc'), 'the fleet value is over every site origin');
});

t.test('two zones: each level its members, its peers one level, the top the chain does not list', async (t) => {
  const { levels, top } = siteChain(site([{ name: 'east', members: ['n1', 'n2'], gateway: true }, { name: 'europe', members: ['east', 'west'] }], false));
  t.same(levels.map((l) => [l.origin, l.gateway]), [['site-n1', false], ['site-east', true], ['site-europe', false]]);
  const [s, z, e] = levels as [(typeof levels)[0], (typeof levels)[0], (typeof levels)[0]];
  t.ok(s.peers('site-n2') && !s.peers('site-east') && !s.peers('site-europe'), 'the site syncs with its zone\'s sites only');
  t.ok(z.members('site-n1') && z.members('site-n2') && !z.members('site-west') && !z.members('nAbc'), 'east aggregates its sites');
  t.ok(z.peers('site-west') && !z.peers('site-n2') && !z.peers('site-asia'), 'east syncs with the zones of europe');
  t.ok(e.members('site-east') && e.members('site-west') && !e.members('site-n1'), 'europe aggregates its zones');
  t.ok(e.peers('site-asia') && !e.peers('site-west') && !e.peers('site-n1'), 'europe syncs with the top level');
  t.ok(top('site-asia') && top('site-europe') && !top('site-east') && !top('site-n2'), 'the fleet value is over the top level only');
});
