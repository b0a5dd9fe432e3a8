/**
 * The local head in the personal instance on real parts: embedded aedes on loopback, the real
 * onnxruntime worker with the committed sensor encoder, a real CcfField, the real local-evolution task
 * run under a real UpdateLock. Without a head predictions come from the prototypes; with one they come
 * from the head (source 'head'), including a class the node never saw locally once the field holds it;
 * a head swap in the middle of a burst loses no observation and scores each one entirely by one head.
 */
import t from 'tap';
import { startInstanceRig } from './fixtures/instance-rig.js';
import { PersonalInstance } from '../../src/instance/personal-instance.js';
import { CcfField } from '../../src/ccf/field.js';
import { clipL2 } from '../../src/signals/clip.js';
import { LocalEvolutionTask } from '../../src/instance/evolution/task.js';
import { predictHead, type LocalHead } from '../../src/instance/evolution/head.js';
import { UpdateLock } from '../../src/energy/update-lock.js';
import { createRng } from '../../src/util/prng.js';
import { systemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import { until } from '../helpers/until.js';

type Pred = { id?: string; label: string | null; scores: Record<string, number>; time: number; source: string };

t.test('predictions come from the local head once trained, and a swap mid-burst loses none', async (t) => {
  const { rows, svc, client, device, cfg, field, accumulator, history, conditioner } = await startInstanceRig(t);
  // the real service, counting embeddings so the test can swap heads after the Nth one
  let embedded = 0;
  const hooks: { afterEmbed?: () => void } = {};
  const embedder = {
    manifest: svc.manifest,
    embed: async (x: Float32Array, ctx?: Float32Array) => {
      const e = await svc.embed(x, ctx);
      embedded++;
      hooks.afterEmbed?.();
      return e;
    },
  };
  const inst = new PersonalInstance({ mqtt: client, topicPrefix: 'h3lix/v1/demo', nodeId: 'board-1', embedder, conditioner, accumulator, history, clipNorm: 3, clock: systemClock, logger: silentLogger(), maxInFlight: 256 });
  await inst.start();
  t.teardown(() => inst.stop());
  const fieldMeans = () => {
    const out = new Map<string, ArrayLike<number>>();
    for (const k of field.keys()) {
      const v = field.value(k, systemClock.now());
      if (v) out.set(k, v);
    }
    return out;
  };
  const lock = new UpdateLock();
  /** One evolution round as the daemon runs it: train, then install, all under the update lock. */
  const evolve = (task: LocalEvolutionTask): Promise<LocalHead> =>
    lock.run('local-evolution', async () => {
      const r = await task.run();
      t.ok(r.trained, `head trained (${r.classes} classes, ${(r.seconds * 1000).toFixed(0)} ms)`);
      conditioner.installHead(task.head());
      return task.head()!;
    });

  const preds: Pred[] = [];
  await device.subscribeAsync(inst.topics.pred, { qos: 1 });
  device.on('message', (_topic, payload) => preds.push(JSON.parse(payload.toString()) as Pred));
  const send = (msg: unknown): Promise<unknown> => device.publishAsync(inst.topics.obs, JSON.stringify(msg), { qos: 1 });

  // 1. feedback for two conditions; no head yet → prototypes
  for (const cls of ['imbalance', 'misalignment']) for (const x of rows(cls, 0, 30)) await send({ features: x, label: cls });
  await until(() => preds.length >= 60, 10_000, 'feedback predictions');
  t.ok(preds.every((p) => p.source === 'prototypes'), 'no head: every prediction from the prototypes');

  // 2. a peer's contribution for a condition this node never saw reaches the field
  const peer = new CcfField({ nodeId: 'board-2', clock: systemClock, config: cfg.ccf, quantization: 'int8' });
  const peerRows = rows('bearing-outer', 10, 40);
  const sum = new Float32Array(16);
  for (const x of peerRows) {
    const e = clipL2(await svc.embed(Float32Array.from(x)), 3);
    for (let i = 0; i < 16; i++) sum[i] = sum[i]! + e[i]!;
  }
  peer.contributeLocal('bearing-outer', sum, peerRows.length);
  field.merge(peer.contributions());

  // 3. evolution round: history + synthetic field samples → head with all three classes, installed
  const task = new LocalEvolutionTask({ history, fieldMeans, rng: createRng(3) });
  const head1 = await evolve(task);
  t.same(head1.classes, ['bearing-outer', 'imbalance', 'misalignment']);
  preds.length = 0;
  const probe = [...rows('imbalance', 30, 10), ...rows('misalignment', 30, 10), ...rows('bearing-outer', 0, 10)];
  const truth = [...Array(10).fill('imbalance'), ...Array(10).fill('misalignment'), ...Array(10).fill('bearing-outer')] as string[];
  for (const [i, x] of probe.entries()) await send({ features: x, id: `p${i}` });
  await until(() => preds.length >= 30, 10_000, 'probe predictions');
  t.ok(preds.every((p) => p.source === 'head'), 'with a head covering the prototypes: every prediction from the head');
  t.ok(preds.every((p) => typeof p.time === 'number' && p.label !== null && Object.keys(p.scores).length === 3), 'pred = {id, label, scores, time, source}');
  const correct = preds.filter((p) => p.label === truth[Number(p.id!.slice(1))]).length;
  const unseen = preds.filter((p) => Number(p.id!.slice(1)) >= 20 && p.label === 'bearing-outer').length;
  t.ok(unseen >= 9, `head predicts the class never seen locally: ${unseen}/10`);
  t.ok(correct >= 27, `head accuracy on the probe: ${correct}/30`);

  // 4. a second head, trained differently, swapped in under the lock in the middle of a burst
  const task2 = new LocalEvolutionTask({ history, fieldMeans, rng: createRng(4), syntheticPerKey: 8, head: { steps: 20, learningRate: 0.2 } });
  const burst = Array.from({ length: 120 }, (_, i) => probe[i % probe.length]!);
  const embeddings = await Promise.all(burst.map(async (x) => clipL2(await svc.embed(Float32Array.from(x)), 3)));
  preds.length = 0;
  let swapped: Promise<LocalHead> | undefined;
  const start = embedded;
  hooks.afterEmbed = () => {
    if (embedded - start === 40 && !swapped) swapped = evolve(task2); // while ~80 observations are still in flight
  };
  await Promise.all(burst.map((x, i) => send({ features: x, id: `b${i}` })));
  await until(() => preds.length >= 120, 20_000, 'burst predictions');
  const head2 = await swapped!;
  t.not(head2, head1);
  t.equal(preds.length, 120, 'no observation lost across the swap');
  t.same(new Set(preds.map((p) => p.id)).size, 120, 'each answered once');
  t.ok(preds.every((p) => p.source === 'head'));
  const known = ['bearing-outer', 'imbalance', 'misalignment'];
  const close = (a: Record<string, number>, b: Record<string, number>) => known.every((k) => Math.abs(a[k]! - b[k]!) < 1e-6);
  let byOld = 0;
  let byNew = 0;
  for (const p of preds) {
    const e = embeddings[Number(p.id!.slice(1))]!;
    const o = close(p.scores, predictHead(head1, e, known).scores);
    const n = close(p.scores, predictHead(head2, e, known).scores);
    if (o === n) t.fail(`prediction ${p.id} matches ${o ? 'both heads' : 'neither head'}`);
    if (o) byOld++;
    if (n) byNew++;
  }
  t.equal(byOld + byNew, 120, `every prediction scored entirely by one head: old ${byOld}, new ${byNew}`);
  t.ok(byOld >= 1 && byNew >= 1, 'the swap happened mid-burst');
  t.equal(inst.stats().rejected, 0);
});
