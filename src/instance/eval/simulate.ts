/**
 * The collective-learning evaluation (DESIGN sections 1, 5 and 12; docs/evaluation.md): a simulated
 * fleet on a non-IID split of a labelled numeric dataset in the *novel concepts* setting (a share of
 * the classes is absent from the encoder's pre-training data and from most nodes). Every node runs the
 * real signal path (clip → sum → Gaussian mechanism → accountant → `CcfField.contributeLocal`), ships
 * its new contributions through the real codec (wire.ts), merges what the others sent, and is scored
 * on its own test rows against baselines computed in the same run on the same split:
 *   localOnly, encoderOnly, localPlusEncoder (no network), ccf, ccfHead (the field),
 *   pooledMeans (noise-free field), central and fedAvg (baselines.ts, on raw features).
 */
import { CcfField } from '../../ccf/field.js';
import { PrivacyAccountant } from '../../signals/accountant.js';
import { SignalAccumulator } from '../../signals/accumulator.js';
import { clipL2, l2Norm } from '../../signals/clip.js';
import { ManualClock } from '../../util/clock.js';
import { PlausibilityGate } from '../conditioning/plausibility.js';
import { buildPrototypes, type LocalStats } from '../conditioning/prototypes.js';
import { LocalHistory } from '../evolution/history.js';
import { predictHead, synthesize, trainLocalHead } from '../evolution/head.js';
import { createRng } from '../../util/prng.js';
import { encode, trainEncoder, type TrainedEncoder } from '../model/mlp.js';
import { trainWhitenedEncoder } from '../model/whitened.js';
import { bestOf, classifierBaselines, encoderPrototypes, localPlusEncoderPrototypes, rs } from './baselines.js';
import { computeGoals } from './goals.js';
import { AccuracyCounter, prototypePredictor, r4, scoreNode } from './metrics.js';
import { SYBIL_IDENTITIES, attackerIndices, poisonRelease } from './poison.js';
import { splitFleet } from './split.js';
import type { EncoderKind, FleetEvalOptions, FleetEvalResult, RoundResult } from './types.js';
import { WireReceiver, encodeDelta, simulatedWireNode, type WireNode } from './wire.js';

export type { FleetEvalOptions, FleetEvalResult, RoundResult, Scores } from './types.js';

/** Parameter count × 4 bytes: what shipping the encoder's weights once costs. */
export function encoderWeightBytes(enc: TrainedEncoder): number {
  let n = enc.mean.length + enc.std.length;
  for (const l of enc.layers) n += l.weights.length + l.bias.length;
  return n * 4;
}

/** One identity that publishes into the field: a node, or one of an attacker's sybils. */
interface Publisher {
  id: string;
  field: CcfField;
  wire: WireNode;
  sentVersion: number;
}

interface SimNode extends Publisher {
  classes: Set<string>;
  acc: SignalAccumulator;
  accountant: PrivacyAccountant;
  history: LocalHistory;
  receiver: WireReceiver;
  attacker: boolean;
  sybils: Publisher[];
  sent: number;
  received: number;
  test: Array<{ embedding: Float64Array; label: string; row: number }>;
}

function fieldValues(field: CcfField, now: number, accept?: (origin: string, key: string, mean: Float64Array) => boolean): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const k of field.keys()) {
    const v = field.value(k, now, accept);
    if (v) out.set(k, v);
  }
  return out;
}

/** What every run on the same options shares: the split, the encoder and the clip norm (the daemon path reuses it). */
export interface PreparedEval {
  split: ReturnType<typeof splitFleet>;
  novel: Set<string>;
  enc: TrainedEncoder;
  kind: EncoderKind | 'loaded';
  source: string;
  bootX: ArrayLike<number>[];
  bootY: string[];
  clipNorm: number;
}

/** Split the data, fit (or take) the encoder on the bootstrap rows and fix the clip norm. Deterministic. */
export function prepareFleetEval(opts: FleetEvalOptions): PreparedEval {
  const progress = opts.onProgress ?? (() => undefined);
  const split = splitFleet(opts.y, { nodes: opts.nodes, classesPerNode: opts.classesPerNode, rounds: opts.rounds, seed: opts.seed, bootstrapFraction: opts.bootstrapFraction, novelClasses: opts.novelClasses });
  const bootX = split.bootstrap.map((i) => opts.X[i]!);
  const bootY = split.bootstrap.map((i) => opts.y[i]!);
  const kind = opts.encoder ? 'loaded' : (opts.encoderKind ?? 'whitened');
  let enc: TrainedEncoder;
  let source: string;
  if (opts.encoder) {
    enc = opts.encoder.model;
    source = opts.encoder.source;
  } else {
    progress(`training the ${kind} encoder on the bootstrap split (${bootX.length} rows, ${new Set(bootY).size} classes; novel: ${split.novel.join(', ') || 'none'})`);
    enc = kind === 'mlp' ? trainEncoder(bootX.map((r) => Array.from(r)), bootY, { seed: opts.seed }) : trainWhitenedEncoder(bootX, bootY, { seed: opts.seed });
    source = `${kind} encoder trained by h3lix eval (seed ${opts.seed}, prototype accuracy on its own rows ${r4(enc.training.trainAccuracy)})`;
  }
  let C = typeof opts.clipNorm === 'number' ? opts.clipNorm : opts.signals.clipNorm;
  if (opts.clipNorm === 'auto') {
    const norms = split.bootstrap.map((i) => l2Norm(encode(enc, opts.X[i]!))).sort((a, b) => a - b);
    C = Math.max(1e-6, norms[Math.floor(0.9 * (norms.length - 1))]!);
  }
  return { split, novel: new Set(split.novel), enc, kind, source, bootX, bootY, clipNorm: C };
}

/** Run the simulation. Deterministic for a seed. Throws DATA_INVALID when the data cannot be split. */
export function runFleetEval(opts: FleetEvalOptions): FleetEvalResult {
  const progress = opts.onProgress ?? (() => undefined);
  const { split, novel, enc, kind, source, bootX, bootY, clipNorm: C } = prepareFleetEval(opts);
  opts.onEncoder?.(enc);
  const embed = (i: number): Float32Array => encode(enc, opts.X[i]!);
  const sig = opts.signals;
  // A mean of embeddings clipped to C has norm ≤ C: the field's per-origin bound must not clip it again.
  const ccfConfig = { ...opts.ccf, clipNorm: Math.max(opts.ccf.clipNorm, C) };
  const clock = new ManualClock();
  const fleet = 'eval';
  const keys = new Map<string, Uint8Array>();
  const attackers = new Set(opts.poison ? attackerIndices(opts.nodes, opts.poison.fraction) : []);
  const attack = opts.poison?.attack ?? 'none';
  const newPublisher = (id: string, index: number): Publisher => {
    const wire = simulatedWireNode(id, opts.seed, index);
    keys.set(id, wire.publicKey);
    return { id, wire, field: new CcfField({ nodeId: id, clock, config: ccfConfig, quantization: 'int8' }), sentVersion: 0 };
  };
  const nodes: SimNode[] = split.nodes.map((share, i) => {
    const accountant = new PrivacyAccountant({ epsilon: sig.epsilon, delta: sig.delta });
    const attacker = attackers.has(i);
    const sybilCount = attacker && attack === 'sybil' ? SYBIL_IDENTITIES : 0;
    return {
      ...newPublisher(share.id, i),
      classes: new Set(share.classes),
      accountant,
      acc: new SignalAccumulator({ clipNorm: C, noiseMultiplier: sig.noiseMultiplier, minCount: sig.minCount, accountant, rng: createRng(opts.seed * 7919 + i + 1) }),
      history: new LocalHistory({ rng: createRng(opts.seed * 31 + i), perClass: 256 }),
      receiver: new WireReceiver(fleet, keys),
      attacker,
      sybils: Array.from({ length: sybilCount }, (_, s) => newPublisher(`${share.id}-sybil-${s}`, 1000 + i * 16 + s)),
      sent: 0,
      received: 0,
      test: share.test.map((r) => ({ embedding: clipL2(embed(r), C), label: opts.y[r]!, row: r })),
    };
  });
  const scored = nodes.filter((n) => !n.attacker);
  const gate = opts.plausibilityGate === false ? undefined : new PlausibilityGate({ prototypes: new Map(encoderPrototypes(enc).map((p) => [p.key, p.vector])), minAnchorCount: sig.minCount, noiseStd: sig.noiseMultiplier * C });
  const gated = (node: SimNode): Map<string, Float32Array> => fieldValues(node.field, clock.now(), gate?.predicate(node.field, node.acc.local(), ccfConfig.clipNorm, node.id).accept);
  const pooledStats = new Map<string, { sum: Float64Array; count: number }>();
  const rounds: RoundResult[] = [];
  let refused = 0;

  for (let round = 0; round < opts.rounds; round++) {
    clock.advance(sig.publishIntervalSeconds * 1000);
    // 1. local data arrives; signals are released into each node's own field
    const envelopes: Array<{ from: string; bytes: Uint8Array }> = [];
    let published = 0;
    const ship = (p: Publisher, owner: SimNode): void => {
      const fresh = p.field.deltaSince({ [p.id]: p.sentVersion }).filter((c) => c.origin === p.id);
      if (fresh.length === 0) return;
      const bytes = encodeDelta(p.wire, fleet, fresh, p.field.hlc.now(), 'int8', p.sentVersion);
      p.sentVersion = p.field.localVersion();
      owner.sent += bytes.length;
      envelopes.push({ from: p.id, bytes });
      opts.onEnvelope?.(p.id, bytes, round + 1);
    };
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
      const out = node.attacker ? poisonRelease(attack, rel.published) : rel.published;
      for (const s of out) node.field.contributeLocal(s.key, s.sum, s.count);
      for (const sy of node.sybils) for (const s of out) sy.field.contributeLocal(s.key, s.sum, s.count);
      published += rel.published.length;
      // 2. ship the node's new contributions through the real codec
      ship(node, node);
      for (const sy of node.sybils) ship(sy, node);
    });
    // 3. every other node decodes and merges
    for (const node of nodes) {
      for (const env of envelopes) {
        if (env.from === node.id || node.sybils.some((s) => s.id === env.from)) continue;
        node.received += env.bytes.length;
        node.field.merge(node.receiver.decode(env.bytes));
      }
    }
    // 4. score
    const lo = new AccuracyCounter();
    const cc = new AccuracyCounter();
    const po = new AccuracyCounter();
    const pooledProtos = buildPrototypes(pooledStats as ReadonlyMap<string, LocalStats>, new Map(), 0);
    for (const node of scored) {
      scoreNode(lo, node.test, node.classes, prototypePredictor(buildPrototypes(node.acc.local(), new Map(), 0), sig.score, C), novel);
      scoreNode(cc, node.test, node.classes, prototypePredictor(buildPrototypes(node.acc.local(), gated(node), sig.blend), sig.score, C), novel);
      scoreNode(po, node.test, node.classes, prototypePredictor(pooledProtos, sig.score, C), novel);
    }
    const epsilon = Math.max(...nodes.map((n) => n.accountant.spentEpsilon()));
    const sentThisRound = envelopes.reduce((s, e) => s + e.bytes.length, 0) / nodes.length;
    const rr: RoundResult = {
      round: round + 1,
      localOnly: rs(lo.result()),
      ccf: rs(cc.result()),
      pooledMeans: rs(po.result()),
      bytesSentPerNode: Math.round(sentThisRound),
      bytesPerNode: Math.round(sentThisRound * (1 + (envelopes.length > 0 ? (nodes.length - 1) : 0))),
      publishedKeys: published,
      epsilon: r4(epsilon),
      fieldKeys: nodes[0]!.field.keys().length,
    };
    rounds.push(rr);
    progress(
      `round ${rr.round}/${opts.rounds}: local-only ${pct(rr.localOnly.accuracy)} | ccf ${pct(rr.ccf.accuracy)} (novel ${pct(rr.ccf.novelAccuracy ?? 0)}) | pooled means ${pct(rr.pooledMeans.accuracy)} | ${rr.bytesPerNode} B/node | ε ${rr.epsilon.toFixed(2)}`,
    );
  }

  // 5. the private local head (evolution), trained once at the end on history + field samples,
  //    and the no-network baselines on the same test rows
  const head = new AccuracyCounter();
  const encOnly = new AccuracyCounter();
  const lpe = new AccuracyCounter();
  const encProtos = encoderPrototypes(enc);
  nodes.forEach((node, i) => {
    if (node.attacker) return;
    const spread = node.history.pooledSpread() ?? 0.1;
    if (!opts.skipClassifiers) {
      const h = trainLocalHead(node.history.examples(), synthesize(gated(node), 128, spread, createRng(opts.seed * 131 + i)));
      scoreNode(head, node.test, node.classes, (e) => (h ? predictHead(h, e) : { label: undefined, scores: {} }), novel);
    }
    scoreNode(encOnly, node.test, node.classes, prototypePredictor(encProtos, sig.score, C), novel);
    scoreNode(lpe, node.test, node.classes, prototypePredictor(localPlusEncoderPrototypes(enc, node.acc.local()), sig.score, C), novel);
  });
  const last = rounds[rounds.length - 1]!;
  const localOnly = last.localOnly;
  const encoderOnly = rs(encOnly.result());
  const localPlusEncoder = rs(lpe.result());

  // 6. central and FedAvg on the standardized raw features (the encoder's public standardization)
  let classifiers: ReturnType<typeof classifierBaselines> | undefined;
  if (!opts.skipClassifiers) {
    const std = (r: number): Float64Array => Float64Array.from(opts.X[r]!, (v, j) => (v - enc.mean[j]!) / enc.std[j]!);
    classifiers = classifierBaselines({
      classes: split.classes,
      train: split.nodes.map((s) => ({ X: s.trainByRound.flat().map(std), y: s.trainByRound.flat().map((r) => opts.y[r]!) })),
      test: scored.map((n) => ({ classes: n.classes, rows: n.test.map((t) => ({ x: std(t.row), label: t.label })) })),
      novel,
      hidden: opts.classifierHidden ?? 64,
      centralEpochs: opts.centralEpochs ?? 30,
      fedAvgRounds: opts.fedAvgRounds ?? 20,
      quantization: opts.fedAvgQuantization ?? 'int8',
      seed: opts.seed,
      onProgress: progress,
    });
  }
  const bytesSentPerNode = Math.round(nodes.reduce((s, n) => s + n.sent, 0) / nodes.length);
  const bytesPerNode = Math.round(nodes.reduce((s, n) => s + n.sent + n.received, 0) / nodes.length);
  const fedAvgSeries = classifiers?.fedAvg.series;
  const result: FleetEvalResult = {
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
      novelHolders: Object.fromEntries(split.novel.map((c) => [c, split.nodes.filter((n) => n.classes.includes(c)).length])),
      bootstrapRows: split.bootstrap.length,
      testPerNode: Math.round(split.nodes.reduce((s, n) => s + n.test.length, 0) / nodes.length),
      trainPerNode: Math.round(split.nodes.reduce((s, n) => s + n.trainByRound.flat().length, 0) / nodes.length),
      ...(opts.poison ? { poison: { fraction: opts.poison.fraction, attack, attackers: nodes.filter((n) => n.attacker).map((n) => n.id) } } : {}),
    },
    encoder: {
      kind,
      source,
      trainedOn: opts.encoder ? opts.encoder.trainedOn : `the bootstrap split only (${r4(opts.bootstrapFraction ?? 0.2)} of each non-novel class, withheld from every node and from the test sets)`,
      rows: opts.encoder ? 0 : bootX.length,
      classes: opts.encoder ? opts.encoder.model.classes : [...new Set(bootY)].sort(),
      sawNodeTrainingData: opts.encoder ? 'unknown' : false,
      sawTestData: opts.encoder ? 'unknown' : false,
      sawNovelClasses: opts.encoder ? 'unknown' : false,
      embeddingDim: enc.embeddingDim,
      parameters: encoderWeightBytes(enc) / 4,
    },
    localOnly,
    encoderOnly,
    localPlusEncoder,
    bestNoNetwork: bestOf([localOnly, encoderOnly, localPlusEncoder]),
    ccf: last.ccf,
    ...(opts.skipClassifiers ? {} : { ccfHead: rs(head.result()) }),
    pooledMeans: last.pooledMeans,
    ...(classifiers && fedAvgSeries
      ? {
          central: classifiers.central,
          fedAvg: {
            ...classifiers.fedAvg.final,
            rounds: fedAvgSeries.length,
            quantization: opts.fedAvgQuantization ?? 'int8',
            parameters: classifiers.fedAvg.parameters,
            bytesPerRound: fedAvgSeries[0]!.bytesPerNode,
            bytesPerNode: fedAvgSeries.reduce((s, r) => s + r.bytesPerNode, 0),
            series: fedAvgSeries,
          },
        }
      : {}),
    bytesSentPerNode,
    bytesPerNode,
    epsilon: r4(Math.max(...nodes.map((n) => n.accountant.spentEpsilon()))),
    releasesPerNode: nodes.reduce((s, n) => s + n.accountant.snapshot().releases, 0) / nodes.length,
    refusedReleases: refused,
    rounds,
  };
  if (result.central && result.fedAvg) result.goals = computeGoals(result);
  return result;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}
