/**
 * Baselines of the collective-learning evaluation that do not use the field (docs/evaluation.md):
 * the no-network prototypes a board has on its own, and the central and FedAvg classifiers on the
 * standardized raw features, all scored on the same nodes' test rows as the field.
 */
import type { Prototype } from '../conditioning/prototypes.js';
import type { LocalStats } from '../conditioning/prototypes.js';
import type { TrainedEncoder } from '../model/mlp.js';
import { createRng } from '../../util/prng.js';
import { initClassifier, parameterCount, predictClassifier, trainClassifier, type ClassifierShape } from './classifier.js';
import { runFedAvg, type FedAvgQuantization } from './fedavg.js';
import { AccuracyCounter, r4, type Accuracy } from './metrics.js';
import type { FedAvgRound, Scores } from './types.js';

/** Rounded scores. */
export function rs(a: Accuracy): Scores {
  return {
    accuracy: r4(a.accuracy),
    unseenAccuracy: r4(a.unseenAccuracy),
    seenAccuracy: r4(a.seenAccuracy),
    ...(a.novelAccuracy !== undefined ? { novelAccuracy: r4(a.novelAccuracy) } : {}),
  };
}

/** Per metric, the best of `list`. */
export function bestOf(list: Scores[]): Scores {
  const max = (f: (s: Scores) => number | undefined): number => Math.max(...list.map((s) => f(s) ?? 0));
  const anyNovel = list.some((s) => s.novelAccuracy !== undefined);
  return { accuracy: max((s) => s.accuracy), unseenAccuracy: max((s) => s.unseenAccuracy), seenAccuracy: max((s) => s.seenAccuracy), ...(anyNovel ? { novelAccuracy: max((s) => s.novelAccuracy) } : {}) };
}

/** The encoder's own prototypes (its pre-training class means). */
export function encoderPrototypes(enc: TrainedEncoder): Prototype[] {
  const E = enc.embeddingDim;
  return enc.classes.map((key, c) => ({ key, vector: Float64Array.from(enc.prototypes.subarray(c * E, (c + 1) * E)), source: 'local' as const }));
}

/** Encoder prototypes, with the node's own class means in place of (or beside) them. */
export function localPlusEncoderPrototypes(enc: TrainedEncoder, local: ReadonlyMap<string, LocalStats>): Prototype[] {
  const out = new Map(encoderPrototypes(enc).map((p) => [p.key, p]));
  for (const [key, s] of local) if (s.count > 0) out.set(key, { key, vector: Float64Array.from(s.sum, (v) => v / s.count), source: 'local' });
  return [...out.values()];
}

/** Test rows of one node for the classifier baselines. */
export interface RawTestNode {
  classes: ReadonlySet<string>;
  rows: Array<{ x: Float64Array; label: string }>;
}

/** Options for `classifierBaselines`. */
export interface ClassifierBaselineOptions {
  classes: string[];
  /** Per node: standardized training rows and labels (all rounds). */
  train: Array<{ X: Float64Array[]; y: string[] }>;
  test: RawTestNode[];
  novel: ReadonlySet<string>;
  hidden: number;
  centralEpochs: number;
  fedAvgRounds: number;
  quantization: FedAvgQuantization;
  seed: number;
  onProgress: (line: string) => void;
}

function scoreParams(shape: ClassifierShape, params: Float64Array, o: ClassifierBaselineOptions): Accuracy {
  const counter = new AccuracyCounter();
  for (const node of o.test) {
    for (const r of node.rows) counter.add(o.classes[predictClassifier(shape, params, r.x)] === r.label, !node.classes.has(r.label), o.novel.has(r.label));
  }
  return counter.result();
}

/** Train the central classifier on pooled raw data and run FedAvg over the nodes. */
export function classifierBaselines(o: ClassifierBaselineOptions): { central: Scores; fedAvg: { final: Scores; series: FedAvgRound[]; parameters: number } } {
  const shape: ClassifierShape = { d: o.train.find((t) => t.X.length > 0)!.X[0]!.length, h: o.hidden, c: o.classes.length };
  const idx = (l: string): number => o.classes.indexOf(l);
  const pooledX = o.train.flatMap((t) => t.X);
  const pooledY = Int32Array.from(o.train.flatMap((t) => t.y), idx);
  o.onProgress(`central: training the ${shape.d}-${shape.h}-${shape.c} classifier on all nodes' pooled raw training data (${pooledX.length} rows, ${o.centralEpochs} epochs)`);
  const central = initClassifier(shape, o.seed * 17 + 3);
  trainClassifier(shape, central, pooledX, pooledY, { epochs: o.centralEpochs, rng: createRng(o.seed * 29 + 1) });
  const centralScores = rs(scoreParams(shape, central, o));
  o.onProgress(`central: accuracy ${(centralScores.accuracy * 100).toFixed(1)}%`);
  const series: FedAvgRound[] = [];
  runFedAvg({
    shape,
    nodes: o.train.map((t) => ({ X: t.X, y: Int32Array.from(t.y, idx) })),
    rounds: o.fedAvgRounds,
    quantization: o.quantization,
    seed: o.seed,
    evaluate: (params, round) => {
      series.push({ round, scores: rs(scoreParams(shape, params, o)), bytesPerNode: 0 });
    },
  }).bytesPerNodePerRound.forEach((b, i) => {
    series[i]!.bytesPerNode = b;
  });
  const last = series[series.length - 1]!;
  o.onProgress(`fedAvg: ${o.fedAvgRounds} rounds, accuracy ${(last.scores.accuracy * 100).toFixed(1)}%, ${last.bytesPerNode} B per node per round (${o.quantization})`);
  return { central: centralScores, fedAvg: { final: last.scores, series, parameters: parameterCount(shape) } };
}
