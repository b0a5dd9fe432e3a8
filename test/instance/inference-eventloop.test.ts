import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { InferenceService } from '../../src/instance/inference/inference-service.js';
import { trainEncoder } from '../../src/instance/model/mlp.js';
import { writeModelDir } from '../../src/instance/model/model-writer.js';
import { createRng } from '../../src/util/prng.js';
import { silentLogger } from '../../src/util/logger.js';

// A deliberately wide encoder (hidden 512) so a run is dominated by native compute, not by the
// main thread's copy of the input: the measurement then tells blocking from non-blocking even on a
// loaded box. 20k rows ≈ 370 M multiply-adds per run.
const ROWS = 20_000;
const DIM = 20;

/** Longest event-loop delay (ms) while `work` runs, sampled at 1 ms resolution. */
async function maxDelayDuring(work: () => Promise<void>): Promise<number> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  await work();
  h.disable();
  return h.max / 1e6;
}

t.test('the event loop stays responsive while the worker runs inference', async (t) => {
  const modelDir = t.testdir();
  const rng = createRng(3);
  const X = Array.from({ length: 64 }, () => Array.from({ length: DIM }, () => rng.normal()));
  const enc = trainEncoder(X, X.map((_, i) => `c${i % 2}`), { hidden: 512, epochs: 1 });
  writeModelDir(modelDir, enc, { name: 'wide', version: '1.0.0', trainingData: 'random', goldenInputs: [X[0]!] });
  const input = new Float32Array(ROWS * DIM).map((_, i) => Math.sin(i));
  // Baseline: the same runs on the main thread with a bare session (run blocks the loop).
  const session = await ort.InferenceSession.create(readFileSync(join(modelDir, 'model.onnx')), { intraOpNumThreads: 1 });
  t.teardown(() => session.release());
  const syncMax = await maxDelayDuring(async () => {
    for (let i = 0; i < 3; i++) {
      await session.run({ input: new ort.Tensor('float32', input, [ROWS, DIM]) });
      await new Promise((r) => setImmediate(r));
    }
  });

  const svc = new InferenceService({ modelDir, logger: silentLogger(), maxBatch: 32, maxQueue: 1_000_000 });
  t.teardown(() => svc.stop());
  await svc.start();
  await svc.embedBatch(input, ROWS); // warm-up
  const row = input.subarray(0, DIM);
  const workerMax = await maxDelayDuring(async () => {
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 3; i++) {
      work.push(svc.embedBatch(input, ROWS));
      for (let k = 0; k < 200; k++) work.push(svc.embed(row));
    }
    await Promise.all(work);
  });
  t.comment(`longest event-loop delay: in-thread run ${syncMax.toFixed(1)} ms, through the worker ${workerMax.toFixed(1)} ms`);
  t.ok(syncMax > 5, 'the in-thread baseline does block the loop (sanity check of the measurement)');
  t.ok(workerMax < syncMax / 2, 'the worker keeps the longest delay well below the in-thread run');
  t.ok(workerMax < 250, 'generous absolute bound for a loaded CI box');
});
