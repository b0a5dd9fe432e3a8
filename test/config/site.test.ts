import t from 'tap';
import { validateConfig } from '../../src/config/load.js';

// `site:` (docs/sync.md "Site aggregates"): refused combinations and values name their key.
const base = { node: { dataDir: '/tmp/x', fleet: 'f1' } };
const key = Buffer.alloc(32, 7).toString('base64');

t.test('site config: defaults, a valid gateway, and refusals naming the key', async (t) => {
  const d = validateConfig(base);
  t.equal(d.site.enabled, false, 'off by default');
  t.equal(d.site.aggregateEveryMs, 60_000);
  t.doesNotThrow(() => validateConfig({ ...base, site: { enabled: true, name: 'north', gateway: true, keys: { south: key } } }));
  const fleet = t.throws(() => validateConfig({ ...base, fleet: { enabled: true }, site: { enabled: true, name: 'north' } })) as Error & { code?: string };
  t.equal(fleet.code, 'CONFIG_INVALID');
  t.match(fleet.message, /site\.enabled.*fleet\.enabled.*not supported/s, 'site + fleet mode: names both keys');
  t.match((t.throws(() => validateConfig({ ...base, site: { enabled: true } })) as Error).message, /site\.name/, 'enabled without a name');
  t.match((t.throws(() => validateConfig({ ...base, site: { enabled: true, name: 'no/slash' } })) as Error).message, /site\.name/, 'a bad site name');
  t.match((t.throws(() => validateConfig({ ...base, site: { enabled: true, name: 'n', keys: { s: Buffer.alloc(31).toString('base64') } } })) as Error).message, /site\.keys/, 'a key of the wrong length');
  t.match((t.throws(() => validateConfig({ ...base, site: { aggregateEveryMs: 10 } })) as Error).message, /site\.aggregateEveryMs/);
});

t.test('site.zones: a valid chain, and a chain that does not link up is refused naming the key', async (t) => {
  const zones = [{ name: 'east', members: ['n1', 'n2'], gateway: true }, { name: 'europe', members: ['east', 'west'] }];
  const keys = { n1: key, n2: key, west: key, europe: key };
  const c = validateConfig({ ...base, site: { enabled: true, name: 'n1', zones, keys } });
  t.equal(c.site.zones.length, 2);
  t.equal(c.site.zones[1]!.gateway, false, 'gateway defaults to false');
  t.same(validateConfig(base).site.zones, [], 'no zones by default');
  const missing = t.throws(() => validateConfig({ ...base, site: { enabled: true, name: 'n1', zones: [{ name: 'east', members: ['n2'] }] } })) as Error & { code?: string };
  t.equal(missing.code, 'CONFIG_INVALID');
  t.match(missing.message, /site\.zones\.0\.members.*"n1"/s, 'the first zone must list the site');
  t.match((t.throws(() => validateConfig({ ...base, site: { enabled: true, name: 'n1', zones: [zones[0], { name: 'europe', members: ['west'] }] } })) as Error).message, /site\.zones\.1\.members.*"east"/s, 'the next zone must list the zone below');
  t.match((t.throws(() => validateConfig({ ...base, site: { enabled: true, name: 'n1', zones: [{ name: 'n1', members: ['n1'] }] } })) as Error).message, /site\.zones\.0\.name.*twice/s, 'a zone named like its site');
  t.match((t.throws(() => validateConfig({ ...base, site: { enabled: true, name: 'n1', zones: [{ name: 'east', members: [] }] } })) as Error).message, /site\.zones\.0\.members/, 'no members');
  t.match((t.throws(() => validateConfig({ ...base, site: { enabled: true, name: 'n1', zones: [{ name: 'e/ast', members: ['n1'] }] } })) as Error).message, /site\.zones\.0\.name/, 'a bad zone name');
  const refuse = (zs: unknown[], re: RegExp, what: string) => t.match((t.throws(() => validateConfig({ ...base, site: { enabled: true, name: 'n1', zones: zs, keys: { ...keys, east: key, w2: key } } })) as Error).message, re, what);
  refuse([{ name: 'east', members: ['n1', 'n2', 'east'] }], /site\.zones\.0\.members.*"east" is another level/s, 'a zone listing itself');
  refuse([{ name: 'east', members: ['n1', 'europe'] }, { name: 'europe', members: ['east', 'west'] }], /site\.zones\.0\.members.*"europe" is another level/s, 'a zone listing the zone above');
  refuse([zones[0], { name: 'europe', members: ['east', 'west', 'n1'] }], /site\.zones\.[01]\.members.*"n1" is (another level|also a member)/s, 'a level mixing a site into the zones');
  refuse([{ name: 'east', members: ['n1', 'n2'] }, { name: 'europe', members: ['east', 'n2'] }], /site\.zones\.0\.members.*"n2" is also a member of site\.zones\.1/s, 'a child with two parents');
  const nokeys = t.throws(() => validateConfig({ ...base, site: { enabled: true, name: 'n1', gateway: true, zones: [{ name: 'east', members: ['n1', 'n2'], gateway: true }] } })) as Error;
  t.match(nokeys.message, /site\.keys.*"n2"/s, 'a member without a pinned key');
  t.notMatch(nokeys.message, /"n1"|"east"/, 'the levels this board publishes need no key of their own');
});
