/**
 * Export a trained encoder as an ONNX model (IR version 8, default-domain opset 13) and read one back.
 * Graph: input [N, d] → Sub(mean) → Div(std) → (MatMul → Add → Relu?)* → embedding [N, E];
 * with a context input: embedding = encoded + MatMul(context [N, c], ctx_weight [c, E]).
 * The batch dimension is symbolic ("N"), so one session serves any batch size.
 * Bytes are deterministic: the same encoder and options always give the same sha256.
 */
import { H3lixError } from '../../errors.js';
import type { DenseLayer, TrainedEncoder } from './mlp.js';
import { ONNX_FLOAT, modelProtoType, type OnnxModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from './onnx-proto.js';

export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 13;
export const INPUT_NAME = 'input';
export const CONTEXT_NAME = 'context';
export const OUTPUT_NAME = 'embedding';

export interface ExportOptions {
  /** Model name, stored in metadata and the graph name. */
  name: string;
  /** Semantic version "major.minor.patch", stored in metadata; model_version = major*1e6+minor*1e3+patch. */
  version: string;
  /**
   * Declare the `context` input (DESIGN 5). Requires `enc.context` or adds the default projection
   * (0.5 · identity, ctxDim = embeddingDim) when absent. Default: whether `enc.context` is set.
   */
  withContextInput?: boolean;
  /** Free text for the model's doc_string. */
  description?: string;
}

function tensor(name: string, dims: number[], values: Float32Array): OnnxTensor {
  // raw_data is little-endian float32 (onnx.proto TensorProto.raw_data).
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return { name, dims, dataType: ONNX_FLOAT, rawData: raw };
}

function valueInfo(name: string, dims: (number | string)[], doc: string): OnnxValueInfo {
  return {
    name,
    docString: doc,
    type: { tensorType: { elemType: ONNX_FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

function modelVersionNumber(version: string): number {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (!m) throw new H3lixError('MODEL_INVALID', `model version must be "major.minor.patch", got "${version}"`);
  return Number(m[1]) * 1_000_000 + Number(m[2]) * 1_000 + Number(m[3]);
}

/** Serialize the encoder (not the training head) to ONNX bytes. */
export function exportEncoderOnnx(enc: TrainedEncoder, opts: ExportOptions): Uint8Array {
  const withContext = opts.withContextInput ?? enc.context !== undefined;
  let context = enc.context;
  if (withContext && !context) {
    const weights = new Float32Array(enc.embeddingDim * enc.embeddingDim);
    for (let i = 0; i < enc.embeddingDim; i++) weights[i * enc.embeddingDim + i] = 0.5;
    context = { ctxDim: enc.embeddingDim, weights };
  }
  if (!withContext) context = undefined;

  const nodes: OnnxNode[] = [];
  const inits: OnnxTensor[] = [tensor('mean', [enc.inputDim], enc.mean), tensor('std', [enc.inputDim], enc.std)];
  const node = (opType: string, input: string[], output: string): string => {
    nodes.push({ input, output: [output], name: `${opType.toLowerCase()}_${nodes.length}`, opType });
    return output;
  };
  let cur = node('Sub', [INPUT_NAME, 'mean'], 'centered');
  cur = node('Div', [cur, 'std'], 'standardized');
  enc.layers.forEach((layer: DenseLayer, i) => {
    const last = i === enc.layers.length - 1;
    inits.push(tensor(`layer${i}.weight`, [layer.inDim, layer.outDim], layer.weights), tensor(`layer${i}.bias`, [layer.outDim], layer.bias));
    cur = node('MatMul', [cur, `layer${i}.weight`], `layer${i}.matmul`);
    const addOut = last && !context && layer.activation === 'linear' ? OUTPUT_NAME : `layer${i}.add`;
    cur = node('Add', [cur, `layer${i}.bias`], addOut);
    if (layer.activation === 'relu') cur = node('Relu', [cur], last && !context ? OUTPUT_NAME : `layer${i}.relu`);
  });
  const inputs = [valueInfo(INPUT_NAME, ['N', enc.inputDim], 'raw feature rows (standardized inside the graph)')];
  if (context) {
    inits.push(tensor('context.weight', [context.ctxDim, enc.embeddingDim], context.weights));
    inputs.push(valueInfo(CONTEXT_NAME, ['N', context.ctxDim], 'field vector for the active key set (DESIGN 5)'));
    const proj = node('MatMul', [CONTEXT_NAME, 'context.weight'], 'context.projected');
    node('Add', [cur, proj], OUTPUT_NAME);
  }

  const model: OnnxModel = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'h3lix-edge',
    producerVersion: '0.1.0',
    modelVersion: modelVersionNumber(opts.version),
    docString: opts.description ?? `${opts.name} encoder`,
    graph: {
      name: opts.name,
      node: nodes,
      initializer: inits,
      input: inputs,
      output: [valueInfo(OUTPUT_NAME, ['N', enc.embeddingDim], 'embedding')],
    },
    metadataProps: [
      { key: 'h3lix.name', value: opts.name },
      { key: 'h3lix.version', value: opts.version },
      { key: 'h3lix.classes', value: JSON.stringify(enc.classes) },
      { key: 'h3lix.embedding_dim', value: String(enc.embeddingDim) },
    ],
  };
  const type = modelProtoType();
  return type.encode(type.fromObject(model)).finish();
}

function floats(t: OnnxTensor | undefined, name: string): Float32Array {
  if (!t) throw new H3lixError('MODEL_INVALID', `ONNX model has no initializer "${name}"`);
  if (t.rawData && t.rawData.length > 0) {
    const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    return Float32Array.from({ length: t.rawData.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
  }
  return Float32Array.from(t.floatData ?? []);
}

/**
 * Read an encoder exported by `exportEncoderOnnx` back into a `TrainedEncoder` for the pure-TS
 * `encode` (simulations, cross-checks). Only understands graphs this module writes: throws
 * MODEL_INVALID otherwise. `prototypes` is empty (the training head is never exported).
 */
export function importEncoderOnnx(bytes: Uint8Array): TrainedEncoder {
  let model: OnnxModel;
  try {
    const type = modelProtoType();
    model = type.toObject(type.decode(bytes), { longs: Number, arrays: true, defaults: false }) as OnnxModel;
  } catch (err) {
    throw new H3lixError('MODEL_INVALID', `not an ONNX ModelProto: ${(err as Error).message}`, { cause: err });
  }
  const g = model.graph;
  if (!g) throw new H3lixError('MODEL_INVALID', 'ONNX model has no graph');
  const byName = new Map(g.initializer.map((t) => [t.name, t]));
  const mean = floats(byName.get('mean'), 'mean');
  const std = floats(byName.get('std'), 'std');
  const layers: DenseLayer[] = [];
  for (let i = 0; byName.has(`layer${i}.weight`); i++) {
    const w = byName.get(`layer${i}.weight`)!;
    const relu = g.node.some((n) => n.opType === 'Relu' && n.input[0] === `layer${i}.add`);
    layers.push({ inDim: w.dims[0]!, outDim: w.dims[1]!, weights: floats(w, w.name), bias: floats(byName.get(`layer${i}.bias`), `layer${i}.bias`), activation: relu ? 'relu' : 'linear' });
  }
  if (layers.length === 0) throw new H3lixError('MODEL_INVALID', 'ONNX model has no layer0.weight: not an h3lix encoder');
  const meta = new Map((model.metadataProps ?? []).map((p) => [p.key, p.value]));
  const embeddingDim = layers[layers.length - 1]!.outDim;
  const ctx = byName.get('context.weight');
  return {
    inputDim: mean.length,
    embeddingDim,
    mean,
    std,
    layers,
    classes: JSON.parse(meta.get('h3lix.classes') ?? '[]') as string[],
    prototypes: new Float32Array(0),
    ...(ctx ? { context: { ctxDim: ctx.dims[0]!, weights: floats(ctx, 'context.weight') } } : {}),
    training: { samples: 0, epochs: 0, seed: 0, finalLoss: NaN, trainAccuracy: NaN },
  };
}
