/**
 * Inference latency and throughput (docs/models.md): the worker-thread InferenceService against a bare
 * `InferenceSession.run` in the same process, and coalesced batching against one run per request.
 * Run alone: `npx tsx bench/run.ts inference`.
 */
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { InferenceService } from '../src/instance/inference/inference-service.js';
import { readGolden } from '../src/instance/model/manifest.js';
import { silentLogger } from '../src/util/logger.js';
import { percentile, type BenchRow } from './row.js';

const modelDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'models', 'sensor-encoder');

async function latencies(fn: () => Promise<unknown>, n: number): Promise<number[]> {
  for (let i = 0; i < 300; i++) await fn(); // warm-up
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out.sort((a, b) => a - b);
}

/** Rows per second with `clients` closed-loop callers for `ms`. */
async function throughput(svc: InferenceService, row: Float32Array, clients: number, ms: number): Promise<number> {
  let done = 0;
  const end = performance.now() + ms;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        await svc.embed(row);
        done++;
      }
    }),
  );
  return done / (ms / 1000);
}

export async function run(): Promise<BenchRow[]> {
  const row = Float32Array.from(readGolden(modelDir).cases[0]!.input);
  const session = await ort.InferenceSession.create(readFileSync(join(modelDir, 'model.onnx')), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const bare = await latencies(() => session.run({ input: new ort.Tensor('float32', row.slice(), [1, row.length]) }), 3000);
  await session.release();

  const svc = new InferenceService({ modelDir, logger: silentLogger(), maxBatch: 32 });
  await svc.start();
  const worker = await latencies(() => svc.embed(row), 3000);
  const batched = await throughput(svc, row, 64, 3000);
  await svc.stop();

  const single = new InferenceService({ modelDir, logger: silentLogger(), maxBatch: 1 });
  await single.start();
  const unbatched = await throughput(single, row, 64, 3000);
  await single.stop();

  const p50w = percentile(worker, 50);
  const p50b = percentile(bare, 50);
  const p99w = percentile(worker, 99);
  const p99b = percentile(bare, 99);
  return [
    { metric: 'embed latency p50 (worker vs bare session.run)', value: p50w, unit: 'ms', baseline: p50b, baselineName: 'bare run', ratio: p50w / p50b, target: 'worker adds <= 0.2 ms', ok: p50w - p50b <= 0.2 },
    { metric: 'embed latency p99 (worker vs bare session.run)', value: p99w, unit: 'ms', baseline: p99b, baselineName: 'bare run', ratio: p99w / p99b },
    { metric: 'throughput, 64 clients, batching (maxBatch 32)', value: batched, unit: 'rows/s', baseline: unbatched, baselineName: 'maxBatch 1', ratio: batched / unbatched, target: 'ratio >= 2', ok: batched / unbatched >= 2 },
  ];
}
