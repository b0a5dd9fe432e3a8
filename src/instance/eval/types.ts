/** Options and result of the collective-learning evaluation (`h3lix eval`, docs/evaluation.md). */
import type { H3lixConfig } from '../../config/schema.js';
import type { TrainedEncoder } from '../model/mlp.js';
import type { Accuracy } from './metrics.js';
import type { FedAvgQuantization } from './fedavg.js';
import type { Attack } from './poison.js';

/** How the evaluation gets its encoder. */
export type EncoderKind = 'whitened' | 'mlp';

/** Options for `runFleetEval`. */
export interface FleetEvalOptions {
  X: ArrayLike<number>[];
  y: string[];
  datasetName: string;
  nodes: number;
  classesPerNode: number;
  rounds: number;
  seed: number;
  signals: H3lixConfig['signals'];
  ccf: H3lixConfig['ccf'];
  /** A loaded encoder (`--model`); default: train one on the bootstrap split. */
  encoder?: { model: TrainedEncoder; source: string; trainedOn: string };
  /** Encoder trained on the bootstrap split when none is loaded. Default 'whitened'. */
  encoderKind?: EncoderKind;
  /** Clip norm C: a number, or 'auto' = 90th percentile of bootstrap embedding norms. Default: signals.clipNorm. */
  clipNorm?: number | 'auto';
  /** Fraction of each class reserved for the bootstrap split. Default 0.2. */
  bootstrapFraction?: number;
  /** Classes withheld from the encoder. Default: about 30 % of the classes, at least 2 (see split.ts). */
  novelClasses?: number;
  /** FedAvg rounds (the parameter-sync baseline). Default 20. */
  fedAvgRounds?: number;
  /** What FedAvg updates travel as. Default 'int8'. */
  fedAvgQuantization?: FedAvgQuantization;
  /** Hidden units of the central / FedAvg classifier. Default 64. */
  classifierHidden?: number;
  /** Epochs of central training. Default 30. */
  centralEpochs?: number;
  /** Fraction of nodes that attack the field (0 = none) and how. */
  poison?: { fraction: number; attack: Attack };
  /** The conditioning layer's plausibility gate against poisoning (docs/evaluation.md). Default true; false is the negative control. */
  plausibilityGate?: boolean;
  /** Skip the trained classifiers (central, fedAvg and the CCF + local head): tests of the split and the field only. */
  skipClassifiers?: boolean;
  /** Progress lines (stderr in the CLI). */
  onProgress?: (line: string) => void;
  /** Every signed delta envelope a node sends (tests scan them for leaks; benches count them). */
  onEnvelope?: (from: string, bytes: Uint8Array, round: number) => void;
  /** The encoder every model family uses (tests scan envelopes for its weights). */
  onEncoder?: (enc: TrainedEncoder) => void;
}

/** Accuracy of one model family (rounded). */
export type Scores = Pick<Accuracy, 'accuracy' | 'unseenAccuracy' | 'seenAccuracy' | 'novelAccuracy'>;

/** One CCF round. */
export interface RoundResult {
  round: number;
  localOnly: Scores;
  ccf: Scores;
  pooledMeans: Scores;
  /** Mean bytes each node sent this round (signed delta envelopes). */
  bytesSentPerNode: number;
  /** Mean bytes each node sent and received this round (every envelope reaches every other node). */
  bytesPerNode: number;
  /** Keys published this round, summed over nodes. */
  publishedKeys: number;
  /** Largest ε spent by any node so far. */
  epsilon: number;
  /** Keys the field holds (node 0's view). */
  fieldKeys: number;
}

/** One FedAvg round. */
export interface FedAvgRound {
  round: number;
  scores: Scores;
  /** Upload + download per node this round, measured on the signed envelopes. */
  bytesPerNode: number;
}

/** What `h3lix eval --json` prints. */
export interface FleetEvalResult {
  dataset: { name: string; rows: number; features: number; classes: string[] };
  setup: {
    nodes: number;
    classesPerNode: number;
    rounds: number;
    seed: number;
    clipNorm: number;
    noiseMultiplier: number;
    minCount: number;
    blend: number;
    score: string;
    epsilonBudget: number;
    delta: number;
    nodeClasses: Record<string, string[]>;
    /** Classes the encoder never saw. */
    novelClasses: string[];
    /** How many nodes hold each novel class locally. */
    novelHolders: Record<string, number>;
    bootstrapRows: number;
    testPerNode: number;
    trainPerNode: number;
    poison?: { fraction: number; attack: Attack; attackers: string[] };
  };
  /**
   * What the encoder saw. Trained here: the bootstrap split only (`sawNodeTrainingData`/`sawTestData`
   * false). Loaded with --model: its manifest's training data, which this command cannot check ('unknown').
   */
  encoder: { kind: EncoderKind | 'loaded'; source: string; trainedOn: string; rows: number; classes: string[]; sawNodeTrainingData: false | 'unknown'; sawTestData: false | 'unknown'; sawNovelClasses: false | 'unknown'; embeddingDim: number; parameters: number };
  /** The node's own class means only. */
  localOnly: Scores;
  /** The pre-trained encoder's own class prototypes (its bootstrap classes), no local data, no network. */
  encoderOnly: Scores;
  /** Encoder prototypes plus the node's own class means: everything a board knows without a network. */
  localPlusEncoder: Scores;
  /** Per metric, the best of the three no-network baselines. */
  bestNoNetwork: Scores;
  ccf: Scores;
  /** Absent with skipClassifiers. */
  ccfHead?: Scores;
  /** Class means of all nodes' training data in one place (what a noise-free field converges to). */
  pooledMeans: Scores;
  /** The classifier trained on all nodes' pooled raw training data: the upper bound. */
  central?: Scores;
  /** The same classifier trained by federated averaging over the same nodes. */
  fedAvg?: Scores & { rounds: number; quantization: FedAvgQuantization; parameters: number; bytesPerRound: number; bytesPerNode: number; series: FedAvgRound[] };
  /** Mean bytes each node sent over all rounds. */
  bytesSentPerNode: number;
  /** Mean bytes each node sent and received over all rounds. */
  bytesPerNode: number;
  /** Largest ε spent by any node (δ = setup.delta). */
  epsilon: number;
  /** Releases charged per node (mean), and release attempts refused by the accountant (all nodes). */
  releasesPerNode: number;
  refusedReleases: number;
  /** The goals, computed from the numbers above (docs/evaluation.md). */
  goals?: Goals;
  rounds: RoundResult[];
}

/** Goal checks (issue 8): differences in accuracy points (0..100), byte ratios. */
export interface Goals {
  ccfVsCentral: number;
  ccfNovelVsCentral: number;
  ccfNovelVsBestNoNetwork: number;
  /** Accuracy both are measured at: CCF's final all-class accuracy minus one point. */
  targetAccuracy: number;
  ccfBytesToTarget: number;
  /** undefined when FedAvg never reached the target within its rounds. */
  fedAvgBytesToTarget?: number;
  /** fedAvgBytesToTarget / ccfBytesToTarget (a lower bound with FedAvg's total when it never got there). */
  bytesRatio: number;
  met: { allWithin5: boolean; novelWithin10: boolean; novelPlus20: boolean; bytesTenth: boolean };
}
