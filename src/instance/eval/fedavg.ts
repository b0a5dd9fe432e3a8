/**
 * FedAvg (McMahan et al. 2017), run for real as the parameter-sync alternative to the field
 * (docs/evaluation.md): every round each node trains the shared classifier (classifier.ts) on its own
 * rows for `localEpochs` of plain mini-batch SGD, uploads its update, the server averages the updates weighted by row count
 * and broadcasts the new global model. Updates are the parameter change since the last global model,
 * quantized (int8 with a power-of-two scale per tensor, the field's own quantizer, or float32), split
 * into ≤ 128 KiB chunk bodies (the codec's `splitPayload`) and each signed in an envelope: bytes are
 * counted on those envelopes, upload and download alike. Both sides apply the dequantized deltas, so
 * the quantization's effect on accuracy is part of the result.
 */
import { splitPayload } from '../../ccf/codec/chunk.js';
import { encodeEnvelope } from '../../ccf/codec/envelope.js';
import { quantizeInt8 } from '../../ccf/quantize.js';
import { createRng } from '../../util/prng.js';
import { initClassifier, trainClassifier, type ClassifierShape } from './classifier.js';
import { simulatedWireNode, type WireNode } from './wire.js';

/** What a FedAvg update is sent as. */
export type FedAvgQuantization = 'int8' | 'float32';

/** Options for `runFedAvg`. */
export interface FedAvgOptions {
  shape: ClassifierShape;
  /** Per node: standardized rows and class indices. */
  nodes: Array<{ X: ReadonlyArray<ArrayLike<number>>; y: ArrayLike<number> }>;
  rounds: number;
  /** Local passes over a node's rows per round. Default 2. */
  localEpochs?: number;
  /** Local SGD learning rate. Default 0.05. */
  learningRate?: number;
  quantization: FedAvgQuantization;
  seed: number;
  /** Scores the global model after each round. */
  evaluate: (params: Float64Array, round: number) => void;
}

/** Per-round bytes, per node (upload + download). */
export interface FedAvgResult {
  params: Float64Array;
  bytesPerNodePerRound: number[];
}

/** Tensor boundaries of the flat parameter vector (W1, b1, W2, b2): quantized one scale each. */
function tensors(s: ClassifierShape): Array<[number, number]> {
  const a = s.d * s.h;
  const b = a + s.h;
  const c = b + s.h * s.c;
  return [[0, a], [a, b], [b, c], [c, c + s.c]];
}

/** Quantize `delta` (in place to its dequantized value) and return its wire payload. */
export function packDelta(s: ClassifierShape, delta: Float64Array, quantization: FedAvgQuantization): Uint8Array {
  if (quantization === 'float32') {
    const f = Float32Array.from(delta);
    delta.set(f);
    return new Uint8Array(f.buffer);
  }
  const parts: Uint8Array[] = [];
  for (const [from, to] of tensors(s)) {
    const { scale, q } = quantizeInt8(Float32Array.from(delta.subarray(from, to)));
    for (let i = from; i < to; i++) delta[i] = q[i - from]! * scale;
    const head = new Uint8Array(4);
    new DataView(head.buffer).setFloat32(0, scale, true);
    parts.push(head, new Uint8Array(q.buffer));
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Signed envelopes carrying `payload` (chunked under the 128 KiB message limit). */
function envelopes(node: WireNode, payload: Uint8Array): number {
  let bytes = 0;
  for (const body of splitPayload(payload, 128 * 1024 - 1024)) {
    node.seq++;
    bytes += encodeEnvelope({ kind: 'chunk', fleet: 'eval', from: node.id, seq: node.seq, hlc: { wall: node.seq, logical: 0 }, body }, node.signer).length;
  }
  return bytes;
}

/** Run FedAvg. Deterministic for a seed. */
export function runFedAvg(o: FedAvgOptions): FedAvgResult {
  const global = initClassifier(o.shape, o.seed * 17 + 3);
  const rng = createRng(o.seed * 23 + 5);
  const wires = o.nodes.map((_, i) => simulatedWireNode(`node-${String(i).padStart(2, '0')}`, o.seed, i));
  const server = simulatedWireNode('fedavg-server', o.seed, 9999);
  const total = o.nodes.reduce((s, n) => s + n.X.length, 0);
  const bytesPerNodePerRound: number[] = [];
  for (let round = 1; round <= o.rounds; round++) {
    const sum = new Float64Array(global.length);
    let up = 0;
    o.nodes.forEach((node, i) => {
      const local = Float64Array.from(global);
      trainClassifier(o.shape, local, node.X, node.y, { epochs: o.localEpochs ?? 2, optimizer: 'sgd', learningRate: o.learningRate ?? 0.05, rng });
      const delta = new Float64Array(global.length);
      for (let j = 0; j < delta.length; j++) delta[j] = local[j]! - global[j]!;
      up += envelopes(wires[i]!, packDelta(o.shape, delta, o.quantization));
      const w = node.X.length / total;
      for (let j = 0; j < delta.length; j++) sum[j]! += w * delta[j]!;
    });
    const down = envelopes(server, packDelta(o.shape, sum, o.quantization));
    for (let j = 0; j < global.length; j++) global[j]! += sum[j]!;
    bytesPerNodePerRound.push(Math.round(up / o.nodes.length + down));
    o.evaluate(global, round);
  }
  return { params: global, bytesPerNodePerRound };
}
