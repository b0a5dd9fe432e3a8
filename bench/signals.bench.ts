/**
 * Signals bench: what the collective learning costs on the wire and on the CPU.
 * - bytes per node (sent + received) to reach CCF's accuracy vs FedAvg run for real to the same
 *   accuracy (docs/evaluation.md);
 * - signal extraction rate (clip + per-key sum) vs the encoder forward pass it follows;
 * - CCF accuracy (all classes, novel classes) vs the central classifier trained on pooled raw data.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultConfig } from '../src/config/load.js';
import { parseTrainingCsv } from '../src/instance/data/csv.js';
import { runFleetEval } from '../src/instance/eval/simulate.js';
import { encode, type TrainedEncoder } from '../src/instance/model/mlp.js';
import { createRng } from '../src/util/prng.js';
import { PrivacyAccountant } from '../src/signals/accountant.js';
import { SignalAccumulator } from '../src/signals/accumulator.js';
import { rate, type BenchRow } from './row.js';

const here = dirname(fileURLToPath(import.meta.url));

export async function run(): Promise<BenchRow[]> {
  const cfg = defaultConfig();
  const ds = parseTrainingCsv(readFileSync(join(here, '..', 'models', 'datasets', 'sensor-vibration.csv'), 'utf8'), 'label');
  let enc: TrainedEncoder | undefined;
  const r = runFleetEval({ X: ds.X, y: ds.y, datasetName: 'sensor', nodes: 8, classesPerNode: 2, rounds: 5, seed: 1, signals: cfg.signals, ccf: cfg.ccf, clipNorm: 'auto', onEncoder: (e) => (enc = e) });
  const g = r.goals!;
  const central = r.central!;
  const fedBytes = g.fedAvgBytesToTarget ?? r.fedAvg!.bytesPerNode;
  const rows: BenchRow[] = [
    {
      metric: `bytes per node to reach ${(g.targetAccuracy * 100).toFixed(1)}% (8 nodes, sent + received)`,
      value: g.ccfBytesToTarget,
      unit: 'B',
      baseline: fedBytes,
      baselineName: `FedAvg run for real (${r.fedAvg!.quantization} updates${g.fedAvgBytesToTarget === undefined ? `, target not reached in ${r.fedAvg!.rounds} rounds: its total` : ''})`,
      ratio: g.ccfBytesToTarget / fedBytes,
      target: 'ratio <= 0.1',
      ok: g.ccfBytesToTarget / fedBytes <= 0.1,
    },
    {
      metric: 'CCF accuracy, all classes (novel-concept split)',
      value: r.ccf.accuracy,
      unit: 'fraction',
      baseline: central.accuracy,
      baselineName: 'central classifier on pooled raw data',
      ratio: r.ccf.accuracy / central.accuracy,
      target: 'ratio >= 0.95',
      ok: r.ccf.accuracy / central.accuracy >= 0.95,
    },
    {
      metric: 'CCF accuracy, novel classes',
      value: r.ccf.novelAccuracy ?? 0,
      unit: 'fraction',
      baseline: central.novelAccuracy ?? 0,
      baselineName: 'central classifier on pooled raw data',
      ratio: (r.ccf.novelAccuracy ?? 0) / Math.max(1e-9, central.novelAccuracy ?? 0),
      target: 'ratio >= 0.9',
      ok: (r.ccf.novelAccuracy ?? 0) / Math.max(1e-9, central.novelAccuracy ?? 0) >= 0.9,
    },
  ];

  const model = enc!;
  const xs = ds.X.slice(0, 512).map((x) => Float32Array.from(x));
  const embs = xs.map((x) => encode(model, x));
  const accountant = new PrivacyAccountant({ epsilon: 1e9, delta: 1e-5 });
  const acc = new SignalAccumulator({ clipNorm: 3, noiseMultiplier: 2, minCount: 20, accountant, rng: createRng(1) });
  let i = 0;
  const extract = await rate(() => {
    acc.add(ds.y[i % embs.length]!, embs[i % embs.length]!);
    i++;
  }, 700);
  let j = 0;
  const forward = await rate(() => {
    encode(model, xs[j++ % xs.length]!);
  }, 700);
  rows.push({
    metric: 'signal extraction (clip + per-key sum)',
    value: extract,
    unit: 'emb/s',
    baseline: forward,
    baselineName: 'encoder forward (pure TS)',
    ratio: extract / forward,
    target: 'ratio >= 1 (cheaper than inference)',
    ok: extract / forward >= 1,
  });
  const release = await rate(() => {
    acc.add('normal', embs[0]!);
    acc.release();
  }, 500, 10);
  rows.push({
    metric: 'noised release of 8 keys (Gaussian + accountant)',
    value: release,
    unit: 'releases/s',
    baseline: forward,
    baselineName: 'encoder forward (pure TS)',
    ratio: release / forward,
    target: 'ratio >= 0.1 (a release costs < 10 inferences)',
    ok: release / forward >= 0.1,
  });
  return rows;
}
