import t from 'tap';
import { PrivacyAccountant, memoryPersistence, releaseCost, zcdpToEpsilon } from '../../src/signals/accountant.js';
import { SignalAccumulator } from '../../src/signals/accumulator.js';
import { SignalPublisher } from '../../src/signals/publisher.js';
import { normalTail } from '../../src/signals/gaussian.js';
import { createRng } from '../../src/util/prng.js';
import { ManualClock } from '../../src/util/clock.js';
import { H3lixError } from '../../src/errors.js';

t.test('zCDP conversion matches Bun & Steinke Prop 1.3 on known values', async (t) => {
  // rho = 0.5, delta = 1e-5: 0.5 + 2*sqrt(0.5*ln(1e5)) = 0.5 + 2*sqrt(5.7565) = 5.2985
  t.ok(Math.abs(zcdpToEpsilon(0.5, 1e-5) - 5.29853) < 1e-4);
  t.equal(zcdpToEpsilon(0, 1e-5), 0);
  t.equal(zcdpToEpsilon(1, 0), Infinity);
  // one release with z = 2: rho = 1/4 (sum sensitivity C with sigma 2C, count sensitivity 1 with sigma 2)
  t.equal(releaseCost(2, 20).rho, 0.25);
  t.ok(releaseCost(2, 20).deltaSelection < 1e-15, 'selection delta for k=20, z=2 is tiny');
  t.ok(Math.abs(normalTail(1.96) - 0.025) < 1e-4, 'normal tail is accurate');
});

t.test('the budget is respected: charges stop exactly when the next would exceed it', async (t) => {
  const store = memoryPersistence();
  const acc = new PrivacyAccountant({ epsilon: 6, delta: 1e-5, persistence: store });
  const cost = releaseCost(2, 20);
  const expected = acc.remainingReleases(cost);
  t.ok(expected > 0);
  let n = 0;
  for (;;) {
    try {
      acc.charge(cost);
      n++;
    } catch (err) {
      t.ok(err instanceof H3lixError && err.code === 'PRIVACY_BUDGET_SPENT', 'PRIVACY_BUDGET_SPENT');
      break;
    }
    t.ok(acc.spentEpsilon() <= 6, `after ${n} charges ε=${acc.spentEpsilon()} ≤ 6`);
  }
  t.equal(n, expected, 'remainingReleases predicted the count');
  t.ok(acc.epsilonAfter(cost) > 6, 'the refused release would have exceeded the budget');
  t.equal(store.saved!.releases, n, 'persisted');
  // a restarted node reads the ledger back and cannot publish again
  const again = new PrivacyAccountant({ epsilon: 6, delta: 1e-5, persistence: store });
  t.equal(again.spentEpsilon(), acc.spentEpsilon());
  t.notOk(again.canAfford(cost));
});

t.test('with the budget spent the accumulator publishes nothing more, the publisher stops and reports', async (t) => {
  const clock = new ManualClock();
  const accountant = new PrivacyAccountant({ epsilon: 6, delta: 1e-5 });
  const accumulator = new SignalAccumulator({ clipNorm: 1, noiseMultiplier: 2, minCount: 20, accountant, rng: createRng(1) });
  const contributed: Array<{ key: string; count: number }> = [];
  const results: string[] = [];
  const pub = new SignalPublisher({
    accumulator,
    field: { contributeLocal: (key, _sum, count) => contributed.push({ key, count }) },
    clock,
    intervalSeconds: 60,
    onRelease: (r) => results.push(r.skipped ?? `published ${r.published.length}`),
  });
  pub.start();
  const allowed = accountant.remainingReleases(releaseCost(2, 20));
  t.ok(allowed >= 2, `budget allows ${allowed} releases`);
  for (let round = 0; round < allowed + 3; round++) {
    for (let i = 0; i < 50; i++) accumulator.add('a', [1, 0, 0]);
    clock.advance(60_000);
  }
  const published = results.filter((r) => r.startsWith('published')).length;
  t.equal(published, allowed, `exactly ${allowed} releases happened`);
  t.equal(results.filter((r) => r === 'budget-spent').length, 1, 'one budget-spent report, then the timer stopped');
  t.ok(pub.budgetSpent());
  const before = contributed.length;
  clock.advance(600_000);
  t.equal(contributed.length, before, 'nothing is contributed after the budget is spent');
  t.same(accumulator.release().published, [], 'a direct release publishes nothing');
  accumulator.add('a', [1, 0, 0]);
  t.equal(accumulator.release().skipped, 'budget-spent');
  t.ok(accountant.spentEpsilon() <= 6);
});

t.test('no new data: no release and no charge', async (t) => {
  const accountant = new PrivacyAccountant({ epsilon: 10, delta: 1e-5 });
  const acc = new SignalAccumulator({ clipNorm: 1, noiseMultiplier: 2, minCount: 20, accountant, rng: createRng(2) });
  t.equal(acc.release().skipped, 'no-new-data');
  t.equal(accountant.snapshot().releases, 0);
  for (let i = 0; i < 60; i++) acc.add('x', [0.5, 0.5]);
  t.equal(acc.release().published.length, 1);
  t.equal(acc.release().skipped, 'no-new-data', 'second release without new data is skipped');
  t.equal(accountant.snapshot().releases, 1);
});

t.test('a threshold k too low for the noise makes the selection δ exceed the budget: nothing is released', async (t) => {
  const accountant = new PrivacyAccountant({ epsilon: 10, delta: 1e-5 });
  t.ok(releaseCost(2, 5).deltaSelection > 1e-5, 'P[N ≥ 1.75] ≫ δ');
  t.notOk(accountant.canAfford(releaseCost(2, 5)));
  const err = t.throws(() => accountant.charge(releaseCost(2, 5))) as H3lixError;
  t.equal(err.code, 'PRIVACY_BUDGET_SPENT');
  t.match(err.message, /minCount/);
});
