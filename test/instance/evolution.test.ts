import t from 'tap';
import { LocalHistory } from '../../src/instance/evolution/history.js';
import { predictHead, synthesize, trainLocalHead } from '../../src/instance/evolution/head.js';
import { LocalEvolutionTask } from '../../src/instance/evolution/task.js';
import { createRng } from '../../src/util/prng.js';

function cluster(rng: ReturnType<typeof createRng>, c: number[], n: number, s = 0.1): number[][] {
  return Array.from({ length: n }, () => c.map((v) => v + s * rng.normal()));
}

t.test('history keeps bounded per-class reservoirs and a pooled spread', async (t) => {
  const rng = createRng(1);
  const h = new LocalHistory({ rng, perClass: 50, maxClasses: 2 });
  for (const e of cluster(rng, [1, 0], 500)) h.add('a', e);
  for (const e of cluster(rng, [0, 1], 20)) h.add('b', e);
  h.add('c', [0, 0]); // over maxClasses: ignored
  t.equal(h.size(), 70);
  t.same(h.classes(), ['a', 'b']);
  t.ok(Math.abs(h.pooledSpread()! - 0.1) < 0.02, `spread ${h.pooledSpread()} ≈ 0.1`);
});

t.test('the local head learns an unseen class from synthetic field samples', async (t) => {
  const rng = createRng(2);
  const local = [...cluster(rng, [1, 0], 100).map((e) => ({ label: 'a', embedding: Float32Array.from(e) })), ...cluster(rng, [0, 1], 100).map((e) => ({ label: 'b', embedding: Float32Array.from(e) }))];
  const field = new Map([['c', [-1, -1]]]);
  const without = trainLocalHead(local, [])!;
  t.not(predictHead(without, [-1, -1]).label, 'c', 'without field samples c is unknown');
  const head = trainLocalHead(local, synthesize(field, 64, 0.1, rng))!;
  t.same(head.classes, ['a', 'b', 'c']);
  let ok = 0;
  for (const e of cluster(rng, [-1, -1], 50)) if (predictHead(head, e).label === 'c') ok++;
  t.ok(ok >= 48, `${ok}/50 unseen-class samples classified`);
  t.equal(predictHead(head, [1, 0]).label, 'a');
  t.equal(trainLocalHead(local.slice(0, 5), []), undefined, 'one class: no head');
});

t.test('local-evolution task: name, energy estimate, run, measured cost', async (t) => {
  const rng = createRng(3);
  const history = new LocalHistory({ rng });
  for (const e of cluster(rng, [1, 0], 40)) history.add('a', e);
  for (const e of cluster(rng, [0, 1], 40)) history.add('b', e);
  const heads: number[] = [];
  const task = new LocalEvolutionTask({ history, fieldMeans: () => new Map([['c', [-1, -1]]]), rng, busyWatts: 4, onHead: (h) => heads.push(h.classes.length) });
  t.equal(task.name, 'local-evolution');
  const est = task.costEstimateJ;
  t.ok(est > 0 && Number.isFinite(est), `estimate before the first run: ${est} J`);
  const r = await task.run();
  t.ok(r.trained);
  t.equal(r.classes, 3);
  t.same(heads, [3]);
  t.equal(task.head()!.trainedOn.synthetic, 64);
  t.ok(Math.abs(task.costEstimateJ - r.seconds * 4) < 1e-9, 'after a run the estimate is measured seconds × busy watts');
});
