import t from 'tap';
import { openStore, KvStore } from '../../src/store/index.js';
import { kvPrivacyPersistence, PRIVACY_LEDGER_KEY } from '../../src/signals/kv-ledger.js';
import { PrivacyAccountant, releaseCost } from '../../src/signals/accountant.js';
import { silentLogger } from '../../src/util/logger.js';
import { H3lixError } from '../../src/errors.js';

t.test('the spent budget survives a restart of the real SQLite store; corruption fails closed', async (t) => {
  const dir = t.testdir();
  const cost = releaseCost(2, 20);
  let store = openStore({ dataDir: dir, logger: silentLogger() });
  let acc = new PrivacyAccountant({ epsilon: 10, delta: 1e-5, persistence: kvPrivacyPersistence(new KvStore({ store })) });
  acc.charge(cost);
  acc.charge(cost);
  const spent = acc.spentEpsilon();
  store.close();

  store = openStore({ dataDir: dir, logger: silentLogger() });
  t.teardown(() => store.close());
  const kv = new KvStore({ store });
  acc = new PrivacyAccountant({ epsilon: 10, delta: 1e-5, persistence: kvPrivacyPersistence(kv) });
  t.equal(acc.spentEpsilon(), spent, 'ε read back after reopening');
  t.equal(acc.snapshot().releases, 2);

  kv.set(PRIVACY_LEDGER_KEY, '{"rho": -1}');
  const broken = new PrivacyAccountant({ epsilon: 10, delta: 1e-5, persistence: kvPrivacyPersistence(kv) });
  const err = t.throws(() => broken.charge(cost)) as H3lixError;
  t.equal(err.code, 'STORE_CORRUPT', 'a malformed ledger refuses to charge rather than resetting');
  kv.set(PRIVACY_LEDGER_KEY, 'not json');
  t.throws(() => new PrivacyAccountant({ epsilon: 10, delta: 1e-5, persistence: kvPrivacyPersistence(kv) }).spentEpsilon(), { code: 'STORE_CORRUPT' });
});
