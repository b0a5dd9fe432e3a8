/**
 * The collective-learning evaluation (DESIGN sections 1 and 5): a simulated fleet on a non-IID split
 * of a labelled numeric dataset. Every node runs the real signal path (clip → sum → Gaussian
 * mechanism → accountant → `CcfField.contributeLocal`), ships its new contributions through the real
 * codec (see wire.ts), merges what the others sent, and is scored three ways with the SAME encoder:
 *   localOnly: prototypes from the node's own data only (blend 0),
 *   ccf:       local prototypes blended with the field (the runtime's conditioning),
 *   pooled:    class means of ALL nodes' training data in one place (the upper bound that needs
 *              raw data to leave the boards),
 * plus ccfHead: the private local head (evolution) trained on local history + field samples.
 * The encoder is fit on the bootstrap split only (or loaded), never on node or test rows.
 */
import { CcfField } from '../../ccf/field.js';
import type { H3lixConfig } from '../../config/schema.js';
import { PrivacyAccountant } from '../../signals/accountant.js';
import { SignalAccumulator } from '../../signals/accumulator.js';
import { clipL2, l2Norm } from '../../signals/clip.js';
import { ManualClock } from '../../util/clock.js';
import { buildPrototypes, type LocalStats } from '../conditioning/prototypes.js';
import { LocalHistory } from '../evolution/history.js';
import { predictHead, synthesize, trainLocalHead } from '../evolution/head.js';
import { createRng } from '../../util/prng.js';
import { encode, trainEncoder, type TrainedEncoder } from '../model/mlp.js';
import { AccuracyCounter, prototypePredictor, r4, scoreNode, type Accuracy } from './metrics.js';
import { splitFleet } from './split.js';
import { WireReceiver, encodeDelta, simulatedWireNode, type WireNode } from './wire.js';

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
  /** Clip norm C: a number, or 'auto' = 90th percentile of bootstrap embedding norms. Default: signals.clipNorm. */
  clipNorm?: number | 'auto';
  /** Fraction of each class reserved for the bootstrap split. Default 0.2. */
  bootstrapFraction?: number;
  /** Classes withheld from the encoder as well as from the nodes that do not hold them. Default 0. */
  novelClasses?: number;
  /** Progress lines (stderr in the CLI). */
  onProgress?: (line: string) => void;
  /** Every signed delta envelope a node sends (tests scan them for leaks; benches count them). */
  onEnvelope?: (from: string, bytes: Uint8Array, round: number) => void;
  /** The encoder every model family uses (tests scan envelopes for its weights). */
  onEncoder?: (enc: TrainedEncoder) => void;
}

/** Accuracy of one model family (rounded). */
export type Scores = Pick<Accuracy, 'accuracy' | 'unseenAccuracy' | 'seenAccuracy' | 'novelAccuracy'>;

/** One round's row. */
export interface RoundResult {
  round: number;
  localOnly: Scores;
  ccf: Scores;
  pooled: Scores;
  /** Mean bytes each node sent this round (signed delta envelopes). */
  bytesPerNode: number;
  /** Keys published this round, summed over nodes. */
  publishedKeys: number;
  /** Largest ε spent by any node so far. */
  epsilon: number;
  /** Keys the field holds (node 0's view). */
  fieldKeys: number;
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
    /** Classes the encoder never saw (--novel-classes). */
    novelClasses: string[];
    testPerNode: number;
    trainPerNode: number;
  };
  /**
   * What the encoder saw. Trained here: the bootstrap split only (`sawNodeTrainingData`/`sawTestData`
   * false). Loaded with --model: its manifest's training data, which this command cannot check ('unknown').
   */
  encoder: { source: string; trainedOn: string; rows: number; classes: string[]; sawNodeTrainingData: false | 'unknown'; sawTestData: false | 'unknown'; embeddingDim: number };
  localOnly: Scores;
  ccf: Scores;
  ccfHead: Scores;
  pooled: Scores;
  /** Mean total bytes each node sent over all rounds. */
  bytesPerNode: number;
  /** Largest ε spent by any node (δ = setup.delta). */
  epsilon: number;
  /** Releases charged per node (mean), and release attempts refused by the accountant (all nodes). */
  releasesPerNode: number;
  refusedReleases: number;
  /** Bytes one round of FedAvg would send per node (the encoder's float32 weights), for comparison. */
  fedAvgBytesPerRound: number;
  rounds: RoundResult[];
}

const rs = (a: Accuracy): Scores => ({
  accuracy: r4(a.accuracy),
  unseenAccuracy: r4(a.unseenAccuracy),
  seenAccuracy: r4(a.seenAccuracy),
  ...(a.novelAccuracy !== undefined ? { novelAccuracy: r4(a.novelAccuracy) } : {}),
});

/** Parameter count × 4 bytes: what shipping the encoder's weights once costs. */
export function encoderWeightBytes(enc: TrainedEncoder): number {
  let n = enc.mean.length + enc.std.length;
  for (const l of enc.layers) n += l.weights.length + l.bias.length;
  return n * 4;
}

interface SimNode {
  id: string;
  classes: Set<string>;
  acc: SignalAccumulator;
  accountant: PrivacyAccountant;
  field: CcfField;
  history: LocalHistory;
  wire: WireNode;
  receiver: WireReceiver;
  sentVersion: number;
  bytes: number;
  test: Array<{ embedding: Float64Array; label: string }>;
}

/** Run the simulation. Deterministic for a seed. Throws DATA_INVALID when the data cannot be split. */
export function runFleetEval(opts: FleetEvalOptions): FleetEvalResult {
  const progress = opts.onProgress ?? (() => undefined);
  const split = splitFleet(opts.y, { nodes: opts.nodes, classesPerNode: opts.classesPerNode, rounds: opts.rounds, seed: opts.seed, bootstrapFraction: opts.bootstrapFraction, novelClasses: opts.novelClasses });
  const novel = new Set(split.novel);
  const bootX = split.bootstrap.map((i) => opts.X[i]!);
  const bootY = split.bootstrap.map((i) => opts.y[i]!);
  let enc: TrainedEncoder;
  let source: string;
  if (opts.encoder) {
    enc = opts.encoder.model;
    source = opts.encoder.source;
  } else {
    progress(`training encoder on the bootstrap split (${bootX.length} rows, ${new Set(bootY).size} classes)`);
    enc = trainEncoder(bootX.map((r) => Array.from(r)), bootY, { seed: opts.seed });
    source = `trained by h3lix eval (seed ${opts.seed}, train accuracy ${r4(enc.training.trainAccuracy)})`;
  }
  opts.onEncoder?.(enc);
  const embed = (i: number): Float32Array => encode(enc, opts.X[i]!);
  let C = typeof opts.clipNorm === 'number' ? opts.clipNorm : opts.signals.clipNorm;
  if (opts.clipNorm === 'auto') {
    const norms = split.bootstrap.map((i) => l2Norm(embed(i))).sort((a, b) => a - b);
    C = Math.max(1e-6, norms[Math.floor(0.9 * (norms.length - 1))]!);
  }
  const sig = opts.signals;
  const clock = new ManualClock();
  const fleet = 'eval';
  const keys = new Map<string, Uint8Array>();
  const wires = split.nodes.map((n, i) => simulatedWireNode(n.id, opts.seed, i));
  for (const w of wires) keys.set(w.id, w.publicKey);
  const nodes: SimNode[] = split.nodes.map((share, i) => {
    const accountant = new PrivacyAccountant({ epsilon: sig.epsilon, delta: sig.delta });
    return {
      id: share.id,
      classes: new Set(share.classes),
      accountant,
      acc: new SignalAccumulator({ clipNorm: C, noiseMultiplier: sig.noiseMultiplier, minCount: sig.minCount, accountant, rng: createRng(opts.seed * 7919 + i + 1) }),
      field: new CcfField({ nodeId: share.id, clock, config: opts.ccf, quantization: 'int8' }),
      history: new LocalHistory({ rng: createRng(opts.seed * 31 + i), perClass: 256 }),
      wire: wires[i]!,
      receiver: new WireReceiver(fleet, keys),
      sentVersion: 0,
      bytes: 0,
      test: share.test.map((r) => ({ embedding: clipL2(embed(r), C), label: opts.y[r]! })),
    };
  });
  const pooledStats = new Map<string, { sum: Float64Array; count: number }>();
  const rounds: RoundResult[] = [];
  let last: { localOnly: Accuracy; ccf: Accuracy; pooled: Accuracy } | undefined;
  let refused = 0;

  for (let round = 0; round < opts.rounds; round++) {
    clock.advance(sig.publishIntervalSeconds * 1000);
    // 1. local data arrives; signals are released into each node's own field
    const envelopes: Array<{ from: string; bytes: Uint8Array }> = [];
    let published = 0;
    split.nodes.forEach((share, i) => {
      const node = nodes[i]!;
      for (const r of share.trainByRound[round]!) {
        const e = embed(r);
        const label = opts.y[r]!;
        node.acc.add(label, e);
        const ce = clipL2(e, C);
        node.history.add(label, ce);
        let p = pooledStats.get(label);
        if (!p) pooledStats.set(label, (p = { sum: new Float64Array(ce.length), count: 0 }));
        for (let j = 0; j < ce.length; j++) p.sum[j] = p.sum[j]! + ce[j]!;
        p.count++;
      }
      const rel = node.acc.release(node.field.keys());
      if (rel.skipped === 'budget-spent') refused++;
      for (const s of rel.published) node.field.contributeLocal(s.key, s.sum, s.count);
      published += rel.published.length;
      // 2. ship the node's new contributions through the real codec
      const fresh = node.field.deltaSince({ [node.id]: node.sentVersion }).filter((c) => c.origin === node.id);
      if (fresh.length > 0) {
        const bytes = encodeDelta(node.wire, fleet, fresh, node.field.hlc.now(), 'int8', node.sentVersion);
        node.sentVersion = node.field.localVersion();
        node.bytes += bytes.length;
        envelopes.push({ from: node.id, bytes });
        opts.onEnvelope?.(node.id, bytes, round + 1);
      }
    });
    // 3. every other node decodes and merges
    for (const node of nodes) for (const env of envelopes) if (env.from !== node.id) node.field.merge(node.receiver.decode(env.bytes));
    // 4. score
    const now = clock.now();
    const lo = new AccuracyCounter();
    const cc = new AccuracyCounter();
    const po = new AccuracyCounter();
    const pooledProtos = buildPrototypes(pooledStats as ReadonlyMap<string, LocalStats>, new Map(), 0);
    for (const node of nodes) {
      const fieldValues = new Map<string, Float32Array>();
      for (const k of node.field.keys()) {
        const v = node.field.value(k, now);
        if (v) fieldValues.set(k, v);
      }
      scoreNode(lo, node.test, node.classes, prototypePredictor(buildPrototypes(node.acc.local(), new Map(), 0), sig.score, C), novel);
      scoreNode(cc, node.test, node.classes, prototypePredictor(buildPrototypes(node.acc.local(), fieldValues, sig.blend), sig.score, C), novel);
      scoreNode(po, node.test, node.classes, prototypePredictor(pooledProtos, sig.score, C), novel);
    }
    last = { localOnly: lo.result(), ccf: cc.result(), pooled: po.result() };
    const epsilon = Math.max(...nodes.map((n) => n.accountant.spentEpsilon()));
    const bytesThisRound = envelopes.reduce((s, e) => s + e.bytes.length, 0) / nodes.length;
    rounds.push({ round: round + 1, localOnly: rs(last.localOnly), ccf: rs(last.ccf), pooled: rs(last.pooled), bytesPerNode: Math.round(bytesThisRound), publishedKeys: published, epsilon: r4(epsilon), fieldKeys: nodes[0]!.field.keys().length });
    const rr = rounds[rounds.length - 1]!;
    progress(
      `round ${rr.round}/${opts.rounds}: local-only ${pct(rr.localOnly.accuracy)} (unseen ${pct(rr.localOnly.unseenAccuracy)}) | ccf ${pct(rr.ccf.accuracy)} (unseen ${pct(rr.ccf.unseenAccuracy)}) | pooled ${pct(rr.pooled.accuracy)} (unseen ${pct(rr.pooled.unseenAccuracy)}) | ${rr.bytesPerNode} B/node | ε ${rr.epsilon.toFixed(2)}`,
    );
  }

  // 5. the private local head (evolution), trained once at the end on history + field samples
  const head = new AccuracyCounter();
  const now = clock.now();
  nodes.forEach((node, i) => {
    const fieldValues = new Map<string, Float32Array>();
    for (const k of node.field.keys()) {
      const v = node.field.value(k, now);
      if (v) fieldValues.set(k, v);
    }
    const spread = node.history.pooledSpread() ?? 0.1;
    const h = trainLocalHead(node.history.examples(), synthesize(fieldValues, 128, spread, createRng(opts.seed * 131 + i)));
    scoreNode(head, node.test, node.classes, (e) => (h ? predictHead(h, e) : { label: undefined, scores: {} }), novel);
  });

  const final = last!;
  return {
    dataset: { name: opts.datasetName, rows: opts.y.length, features: opts.X[0]?.length ?? 0, classes: split.classes },
    setup: {
      nodes: opts.nodes,
      classesPerNode: opts.classesPerNode,
      rounds: opts.rounds,
      seed: opts.seed,
      clipNorm: r4(C),
      noiseMultiplier: sig.noiseMultiplier,
      minCount: sig.minCount,
      blend: sig.blend,
      score: sig.score,
      epsilonBudget: sig.epsilon,
      delta: sig.delta,
      nodeClasses: Object.fromEntries(split.nodes.map((n) => [n.id, n.classes])),
      novelClasses: split.novel,
      testPerNode: Math.round(split.nodes.reduce((s, n) => s + n.test.length, 0) / nodes.length),
      trainPerNode: Math.round(split.nodes.reduce((s, n) => s + n.trainByRound.flat().length, 0) / nodes.length),
    },
    encoder: {
      source,
      trainedOn: opts.encoder ? opts.encoder.trainedOn : `the bootstrap split only (${r4(opts.bootstrapFraction ?? 0.2)} of each class, withheld from every node and from the test sets)`,
      rows: opts.encoder ? 0 : bootX.length,
      classes: opts.encoder ? opts.encoder.model.classes : [...new Set(bootY)].sort(),
      sawNodeTrainingData: opts.encoder ? 'unknown' : false,
      sawTestData: opts.encoder ? 'unknown' : false,
      embeddingDim: enc.embeddingDim,
    },
    localOnly: rs(final.localOnly),
    ccf: rs(final.ccf),
    ccfHead: rs(head.result()),
    pooled: rs(final.pooled),
    bytesPerNode: Math.round(nodes.reduce((s, n) => s + n.bytes, 0) / nodes.length),
    epsilon: r4(Math.max(...nodes.map((n) => n.accountant.spentEpsilon()))),
    releasesPerNode: nodes.reduce((s, n) => s + n.accountant.snapshot().releases, 0) / nodes.length,
    refusedReleases: refused,
    fedAvgBytesPerRound: encoderWeightBytes(enc),
    rounds,
  };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}
