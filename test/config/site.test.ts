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
