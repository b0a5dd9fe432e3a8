import t from 'tap';
import { createLearningStack } from '../../src/signals/learning-stack.js';
import { memoryPersistence } from '../../src/signals/accountant.js';
import { secureRng } from '../../src/signals/secure-rng.js';
import { CcfField } from '../../src/ccf/field.js';
import { defaultConfig } from '../../src/config/load.js';
import { ManualClock } from '../../src/util/clock.js';

t.test('secureRng: uniform in [0,1) and standard normals', async (t) => {
  const rng = secureRng();
  let s = 0;
  let ss = 0;
  let min = 1;
  let max = 0;
  const N = 20000;
  for (let i = 0; i < N; i++) {
    const u = rng.next();
    min = Math.min(min, u);
    max = Math.max(max, u);
    const z = rng.normal();
    s += z;
    ss += z * z;
  }
  t.ok(min >= 0 && max < 1);
  t.ok(Math.abs(s / N) < 0.05, `mean ${s / N}`);
  t.ok(Math.abs(Math.sqrt(ss / N) - 1) < 0.03, `std ${Math.sqrt(ss / N)}`);
  t.ok(rng.int(5) < 5 && rng.range(2, 3) >= 2);
});

t.test('the composed stack: feedback → budgeted release into the real field → conditioning and evolution', async (t) => {
  const clock = new ManualClock();
  const cfg = defaultConfig();
  const field = new CcfField({ nodeId: 'n1', clock, config: cfg.ccf, quantization: 'int8' });
  const peer = new CcfField({ nodeId: 'n2', clock, config: cfg.ccf, quantization: 'int8' });
  const store = memoryPersistence();
  const heads: string[][] = [];
  const stack = createLearningStack({ signals: cfg.signals, field, clock, persistence: store, onHead: (h) => heads.push(h.classes) });
  stack.start();
  t.teardown(() => stack.stop());
  for (let i = 0; i < 60; i++) {
    stack.accumulator.add('a', [1 + 0.01 * (i % 3), 0]);
    stack.history.add('a', [1, 0.01 * (i % 5)]);
    stack.accumulator.add('b', [0, 1 + 0.01 * (i % 3)]);
    stack.history.add('b', [0.01 * (i % 5), 1]);
  }
  clock.advance(cfg.signals.publishIntervalSeconds * 1000);
  t.same(field.keys(), ['a', 'b'], 'released into the field as local contributions');
  t.equal(field.get('n1', 'a')!.origin, 'n1');
  t.equal(store.saved!.releases, 1, 'budget persisted through the hook');
  // a peer's class arrives: the conditioner is invalidated by the field's change event
  t.equal(stack.conditioner.predict([-1, -1]).label === 'c', false);
  peer.contributeLocal('c', Float32Array.from([-50, -50]), 50);
  field.merge(peer.contributions());
  t.equal(stack.conditioner.predict([-1, -1]).label, 'c', 'new field class predicted at once');
  const r = await stack.evolution.run();
  t.ok(r.trained);
  t.same(heads, [['a', 'b', 'c']]);
  stack.stop();
  for (let i = 0; i < 30; i++) stack.accumulator.add('a', [1, 0]);
  clock.advance(10 * cfg.signals.publishIntervalSeconds * 1000);
  t.equal(store.saved!.releases, 1, 'stopped: no more releases although new data arrived');
  stack.start();
  clock.advance(cfg.signals.publishIntervalSeconds * 1000);
  t.equal(store.saved!.releases, 2, 'restarted: releases resume');
});
