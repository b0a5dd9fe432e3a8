import t from 'tap';
import { validateConfig } from '../../src/config/load.js';

// Issue 9 section 8: `signals.minCount: 2` passed `config check`, then every release failed with
// "privacy budget spent" and ε 0 because the key-selection δ alone exceeded δ.
const base = { node: { dataDir: '/tmp/x', fleet: 'f1' } };

t.test('a signals budget that allows no release is refused with the reason', async (t) => {
  const err = t.throws(() => validateConfig({ ...base, signals: { minCount: 2 } })) as Error & { code?: string };
  t.equal(err.code, 'CONFIG_INVALID');
  t.match(err.message, /signals\.minCount/, 'names the key');
  t.match(err.message, /key-selection δ/, 'and why');
  const eps = t.throws(() => validateConfig({ ...base, signals: { epsilon: 0.01 } })) as Error & { code?: string };
  t.match(eps.message, /signals\.epsilon.*below the cost of one release/s, 'an epsilon below one release is refused too');
  t.doesNotThrow(() => validateConfig(base), 'the defaults allow releases');
  t.doesNotThrow(() => validateConfig({ ...base, signals: { minCount: 8, noiseMultiplier: 1 } }), 'a small k with less noise is fine');
});
