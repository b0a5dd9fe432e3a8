import t, { type Test } from 'tap';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InferenceService } from '../../src/instance/inference/inference-service.js';
import { readGolden, readManifest } from '../../src/instance/model/manifest.js';
import { silentLogger } from '../../src/util/logger.js';
import { H3lixError } from '../../src/errors.js';

const root = join(import.meta.dirname, '..', '..', 'models');
const sensorDir = join(root, 'sensor-encoder');
const ctxDir = join(root, 'sensor-encoder-ctx');

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

async function started(t: Test, opts: Partial<ConstructorParameters<typeof InferenceService>[0]> = {}): Promise<InferenceService> {
  const svc = new InferenceService({ modelDir: sensorDir, logger: silentLogger(), ...opts });
  t.teardown(() => svc.stop());
  await svc.start();
  return svc;
}

t.test('embed returns the golden embeddings through the worker', async (t) => {
  const svc = await started(t);
  const golden = readGolden(sensorDir);
  const outs = await Promise.all(golden.cases.map((c) => svc.embed(Float32Array.from(c.input))));
  t.ok(golden.cases.every((c, i) => maxDiff(outs[i]!, c.embedding) <= golden.tolerance), `${golden.cases.length} golden cases within tolerance`);
  t.equal(svc.manifest.name, 'sensor-encoder');
});

t.test('queued requests are coalesced into batches of at most maxBatch rows', async (t) => {
  const svc = await started(t, { maxBatch: 16 });
  const golden = readGolden(sensorDir);
  const row = Float32Array.from(golden.cases[0]!.input);
  const before = svc.stats();
  const outs = await Promise.all(Array.from({ length: 100 }, () => svc.embed(row)));
  const after = svc.stats();
  t.equal(after.requests - before.requests, 100);
  t.equal(after.rows - before.rows, 100);
  // 100 requests issued synchronously: ceil(100 / 16) = 7 runs, not 100.
  t.equal(after.runs - before.runs, 7, 'runs counted');
  t.equal(after.largestBatch, 16);
  t.ok(outs.every((o) => maxDiff(o, golden.cases[0]!.embedding) <= golden.tolerance), 'every answer is the golden embedding');
});

t.test('embedBatch and the context input', async (t) => {
  const svc = await started(t, { modelDir: ctxDir });
  const golden = readGolden(ctxDir);
  const m = readManifest(ctxDir);
  const n = golden.cases.length;
  const out = await svc.embedBatch(Float32Array.from(golden.cases.flatMap((c) => c.input)), n, Float32Array.from(golden.cases.flatMap((c) => c.context!)));
  t.equal(out.length, n * m.embeddingDim);
  t.ok(maxDiff(out, golden.cases.flatMap((c) => c.embedding)) <= golden.tolerance);
  // Context changes the embedding: zeros (omitted) differ from the golden context.
  const noCtx = await svc.embed(Float32Array.from(golden.cases[0]!.input));
  t.ok(maxDiff(noCtx, golden.cases[0]!.embedding) > 0.01);
});

t.test('bad requests are rejected with DATA_INVALID', async (t) => {
  const svc = await started(t);
  await t.rejects(svc.embed(new Float32Array(3)), { code: 'DATA_INVALID' });
  await t.rejects(svc.embedBatch(new Float32Array(40), 3), { code: 'DATA_INVALID' });
});

t.test('a model whose bytes do not match the manifest is refused (MODEL_CHECKSUM)', async (t) => {
  const dir = t.testdir();
  cpSync(sensorDir, dir, { recursive: true });
  const bytes = readFileSync(join(dir, 'model.onnx'));
  bytes[bytes.length - 5] ^= 0xff;
  writeFileSync(join(dir, 'model.onnx'), bytes);
  const svc = new InferenceService({ modelDir: dir, logger: silentLogger() });
  t.teardown(() => svc.stop());
  await t.rejects(svc.start(), { code: 'MODEL_CHECKSUM' });
});

t.test('a worker crash rejects the running batch with INFERENCE_FAILED and the worker restarts', async (t) => {
  const svc = await started(t, { restartDelayMs: 10 });
  const row = Float32Array.from(readGolden(sensorDir).cases[0]!.input);
  await svc.embed(row);
  svc.injectCrash();
  // The crash message is handled before this run: the run dies with the worker.
  const err = await svc.embed(row).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof H3lixError, 'rejected');
  t.equal((err as H3lixError).code, 'INFERENCE_FAILED');
  t.equal((err as H3lixError).retryable, true);
  // Requests made after the crash are served by the restarted worker.
  const out = await svc.embed(row);
  t.equal(out.length, 16);
  t.equal(svc.stats().restarts, 1);
});

t.test('swap under load loses no request; queued requests go to the new model', async (t) => {
  const dirB = t.testdir();
  cpSync(ctxDir, dirB, { recursive: true });
  // A second model with the same input shape but different weights: the appliance-free sensor model
  // is re-exported with a changed version so outputs can be told apart.
  const { trainEncoder } = await import('../../src/instance/model/mlp.js');
  const { writeModelDir } = await import('../../src/instance/model/model-writer.js');
  const { generateSensorDataset } = await import('../../src/instance/data/sensor-task.js');
  const ds = generateSensorDataset({ n: 160, seed: 9, domain: 'bench' });
  const encB = trainEncoder(ds.X, ds.y, { epochs: 3, seed: 5 });
  const golden = readGolden(sensorDir);
  writeModelDir(dirB, encB, { name: 'sensor-b', version: '2.0.0', trainingData: 'test', goldenInputs: [golden.cases[0]!.input] });
  const expectB = readGolden(dirB).cases[0]!.embedding;
  const expectA = golden.cases[0]!.embedding;
  const row = Float32Array.from(golden.cases[0]!.input);

  const svc = await started(t, { maxBatch: 8 });
  const results: Promise<Float32Array>[] = [];
  let stop = false;
  const load = (async () => {
    // Closed loop with 20 requests outstanding: the queue is never empty when the swap lands.
    while (!stop) {
      for (let i = 0; i < 20; i++) results.push(svc.embed(row));
      await results[results.length - 1]!.catch(() => undefined);
    }
  })();
  await new Promise((r) => setTimeout(r, 30));
  const m = await svc.swap(dirB);
  t.equal(m.name, 'sensor-b');
  await new Promise((r) => setTimeout(r, 30));
  stop = true;
  await load;
  const settled = await Promise.allSettled(results);
  const rejected = settled.filter((s) => s.status === 'rejected');
  t.equal(rejected.length, 0, `all ${settled.length} requests answered`);
  let a = 0;
  let b = 0;
  let sawBThenA = false;
  for (const s of settled) {
    const v = (s as PromiseFulfilledResult<Float32Array>).value;
    if (maxDiff(v, expectA) <= 1e-4) {
      a++;
      if (b > 0) sawBThenA = true;
    } else if (maxDiff(v, expectB) <= 1e-4) b++;
  }
  t.equal(a + b, settled.length, 'every answer comes from model A or model B');
  t.ok(a > 0 && b > 0, `both models answered (A ${a}, B ${b})`);
  t.notOk(sawBThenA, 'once the new model answers, the old one never does again (in request order)');
  t.equal(svc.stats().swaps, 1);
});

t.test('swap to a model with another input shape is refused', async (t) => {
  const svc = await started(t);
  await t.rejects(svc.swap(join(root, 'appliance-encoder')), { code: 'MODEL_INVALID' });
  t.equal(svc.manifest.name, 'sensor-encoder');
});

t.test('embed before start and after stop is rejected', async (t) => {
  const svc = new InferenceService({ modelDir: sensorDir, logger: silentLogger() });
  await t.rejects(svc.embed(new Float32Array(20)), { code: 'INFERENCE_FAILED' });
  await svc.start();
  const row = Float32Array.from(readGolden(sensorDir).cases[0]!.input);
  const pending = Promise.allSettled(Array.from({ length: 50 }, () => svc.embed(row)));
  await svc.stop();
  const settled = await pending;
  // Each request was either answered or rejected with a retryable INFERENCE_FAILED: none hangs.
  const rejected = settled.filter((s) => s.status === 'rejected');
  t.equal(settled.length, 50);
  t.ok(rejected.every((s) => (s.reason as H3lixError).code === 'INFERENCE_FAILED' && (s.reason as H3lixError).retryable), `${rejected.length} rejected, all retryable INFERENCE_FAILED`);
  await t.rejects(svc.embed(row), { code: 'INFERENCE_FAILED' });
});


t.test('batchWindowMs holds a partial batch until the window closes (ManualClock)', async (t) => {
  const { ManualClock } = await import('../../src/util/clock.js');
  const clock = new ManualClock();
  const svc = await started(t, { batchWindowMs: 5, clock, maxBatch: 8 });
  const row = Float32Array.from(readGolden(sensorDir).cases[0]!.input);
  const before = svc.stats().runs;
  const a = svc.embed(row);
  await new Promise((r) => setImmediate(r));
  const b = svc.embed(row);
  await new Promise((r) => setImmediate(r));
  t.equal(svc.stats().runs, before, 'nothing dispatched while the window is open');
  t.equal(svc.stats().queuedRows, 2);
  clock.advance(5);
  await Promise.all([a, b]);
  t.equal(svc.stats().runs, before + 1, 'two requests from different ticks went in one run');
  // A full batch does not wait for the window.
  const full = Promise.all(Array.from({ length: 8 }, () => svc.embed(row)));
  await full;
  t.equal(svc.stats().runs, before + 2);
});

t.test('requests queued while the worker restarts are served by the restarted worker', async (t) => {
  const svc = await started(t, { restartDelayMs: 50, maxBatch: 4 });
  const golden = readGolden(sensorDir);
  const row = Float32Array.from(golden.cases[1]!.input);
  svc.injectCrash();
  const first = svc.embed(row).then(
    () => 'answered',
    (e: H3lixError) => e.code,
  );
  t.equal(await first, 'INFERENCE_FAILED');
  // The worker is down now: these wait in the queue for the restart.
  const queued = await Promise.all(Array.from({ length: 10 }, () => svc.embed(row)));
  t.ok(queued.every((o) => maxDiff(o, golden.cases[1]!.embedding) <= golden.tolerance), 'all 10 answered correctly after restart');
  t.equal(svc.stats().restarts, 1);
});

t.test('inferenceServiceFromConfig uses the instance section defaults (bundled sensor-encoder)', async (t) => {
  const { inferenceServiceFromConfig } = await import('../../src/instance/inference/index.js');
  const { defaultConfig } = await import('../../src/config/load.js');
  const cfg = defaultConfig();
  t.equal(cfg.instance.modelDir, 'models/sensor-encoder');
  const svc = inferenceServiceFromConfig(cfg.instance, silentLogger());
  t.teardown(() => svc.stop());
  await svc.start();
  t.equal(svc.manifest.name, 'sensor-encoder');
  t.equal((await svc.embed(new Float32Array(20))).length, 16);
});

t.test('a model onnxruntime refuses is MODEL_INVALID; a wrong context width is DATA_INVALID', async (t) => {
  const { sha256Hex } = await import('../../src/instance/model/manifest.js');
  const dir = t.testdir();
  cpSync(sensorDir, dir, { recursive: true });
  const junk = new Uint8Array(256).map((_, i) => (i * 37) & 0xff);
  writeFileSync(join(dir, 'model.onnx'), junk);
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { sha256: string };
  m.sha256 = sha256Hex(junk);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
  const bad = new InferenceService({ modelDir: dir, logger: silentLogger() });
  t.teardown(() => bad.stop());
  await t.rejects(bad.start(), { code: 'MODEL_INVALID' });

  const svc = await started(t, { modelDir: ctxDir });
  await t.rejects(svc.embed(new Float32Array(20), new Float32Array(3)), { code: 'DATA_INVALID', message: /context/ });
});
