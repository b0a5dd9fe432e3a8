/**
 * Write a complete model directory from a trained encoder: model.onnx, manifest.json, golden.json and
 * MODEL_CARD.md. Output is deterministic (no timestamps), so rebuilding gives identical files.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode, type TrainedEncoder } from './mlp.js';
import { CONTEXT_NAME, INPUT_NAME, ONNX_IR_VERSION, ONNX_OPSET, OUTPUT_NAME, exportEncoderOnnx } from './onnx-export.js';
import { CARD_FILE, PROTOTYPES_FILE, GOLDEN_FILE, MANIFEST_FILE, MODEL_FILE, sha256Hex, type GoldenVectors, type ModelManifest } from './manifest.js';

export interface WriteModelOptions {
  name: string;
  /** "major.minor.patch". */
  version: string;
  /** One paragraph: what data the encoder was trained on (goes to the manifest and the card). */
  trainingData: string;
  /** Intended use, for the model card. Default: a generic sentence. */
  intendedUse?: string;
  /** Known limits, for the model card (one bullet each). */
  limits?: string[];
  featureNames?: string[];
  /** Rows used as golden inputs (at least one). */
  goldenInputs: ArrayLike<number>[];
  /** Context vectors for the golden rows; required when the encoder has a context projection. */
  goldenContexts?: ArrayLike<number>[];
  /** Golden tolerance (max abs diff). Default 1e-4. */
  tolerance?: number;
  /** Also write prototypes.json (the encoder's own class prototypes: the plausibility gate's anchors). Default false. */
  prototypes?: boolean;
}

/** Write the directory (created if needed) and return the manifest written. */
export function writeModelDir(dir: string, enc: TrainedEncoder, opts: WriteModelOptions): ModelManifest {
  mkdirSync(dir, { recursive: true });
  const bytes = exportEncoderOnnx(enc, { name: opts.name, version: opts.version, description: opts.trainingData });
  const ctx = enc.context;
  const manifest: ModelManifest = {
    name: opts.name,
    version: opts.version,
    file: MODEL_FILE,
    sha256: sha256Hex(bytes),
    opset: ONNX_OPSET,
    irVersion: ONNX_IR_VERSION,
    inputs: [
      { name: INPUT_NAME, dtype: 'float32', shape: ['N', enc.inputDim] },
      ...(ctx ? [{ name: CONTEXT_NAME, dtype: 'float32' as const, shape: ['N', ctx.ctxDim] }] : []),
    ],
    outputs: [{ name: OUTPUT_NAME, dtype: 'float32', shape: ['N', enc.embeddingDim] }],
    inputDim: enc.inputDim,
    embeddingDim: enc.embeddingDim,
    ...(ctx ? { contextDim: ctx.ctxDim } : {}),
    classes: enc.classes,
    ...(opts.featureNames ? { featureNames: opts.featureNames } : {}),
    training: {
      data: opts.trainingData,
      samples: enc.training.samples,
      epochs: enc.training.epochs,
      seed: enc.training.seed,
      finalLoss: Number(enc.training.finalLoss.toFixed(6)),
      trainAccuracy: Number(enc.training.trainAccuracy.toFixed(6)),
      hidden: enc.layers[0]!.outDim,
    },
  };
  const golden: GoldenVectors = {
    tolerance: opts.tolerance ?? 1e-4,
    cases: opts.goldenInputs.map((row, i) => {
      const input = Array.from(row, (v) => Math.fround(v));
      const context = ctx ? Array.from(opts.goldenContexts?.[i] ?? new Float32Array(ctx.ctxDim), (v) => Math.fround(v)) : undefined;
      return { input, ...(context ? { context } : {}), embedding: Array.from(encode(enc, input, context)) };
    }),
  };
  writeFileSync(join(dir, MODEL_FILE), bytes);
  writeFileSync(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(dir, GOLDEN_FILE), `${JSON.stringify(golden)}\n`);
  writeFileSync(join(dir, CARD_FILE), modelCard(manifest, opts));
  if (opts.prototypes) {
    const E = enc.embeddingDim;
    const vectors = enc.classes.map((_, c) => Array.from(enc.prototypes.subarray(c * E, (c + 1) * E)));
    writeFileSync(join(dir, PROTOTYPES_FILE), `${JSON.stringify({ classes: enc.classes, vectors })}\n`);
  }
  return manifest;
}

function modelCard(m: ModelManifest, opts: WriteModelOptions): string {
  const limits = opts.limits ?? [];
  return [
    `# Model card: ${m.name} ${m.version}`,
    '',
    `Encoder: standardization + MLP ${m.inputDim} → ${m.training.hidden} (ReLU) → ${m.embeddingDim} (linear embedding).`,
    m.contextDim ? `Declares a \`${CONTEXT_NAME}\` input [N, ${m.contextDim}] (DESIGN 5): embedding = encoder(input) + context · W_ctx, W_ctx a fixed scaled identity.` : 'No context input.',
    `ONNX IR ${m.irVersion}, opset ${m.opset}; input \`${INPUT_NAME}\` float32 [N, ${m.inputDim}], output \`${OUTPUT_NAME}\` float32 [N, ${m.embeddingDim}]; batch dimension N is dynamic.`,
    `sha256 of ${m.file}: \`${m.sha256}\`.`,
    '',
    '## Training data',
    '',
    opts.trainingData,
    '',
    `Samples: ${m.training.samples}; epochs: ${m.training.epochs}; seed: ${m.training.seed}; final training loss ${m.training.finalLoss}; training accuracy of the (discarded) prototype head ${m.training.trainAccuracy}.`,
    `Classes seen in training (${m.classes.length}): ${m.classes.join(', ')}.`,
    m.featureNames ? `Features (${m.featureNames.length}, in input order): ${m.featureNames.join(', ')}.` : '',
    '',
    '## Intended use',
    '',
    opts.intendedUse ??
      'Map a feature row to an embedding that the h3lix-edge runtime compares to prototypes (local contributions blended with Collective Context Field values). The training head is not shipped; class decisions come from prototypes.',
    '',
    '## Limits',
    '',
    ...(limits.length ? limits.map((l) => `- ${l}`) : ['- Trained on the data described above only; embeddings for inputs far outside that distribution are not meaningful.']),
    '- Weights never leave the board (DESIGN 4); this file is shipped, not learned on device.',
    '',
    '## Verification',
    '',
    `\`h3lix models verify <dir>\` checks the sha256 and runs ${GOLDEN_FILE} through onnxruntime-node.`,
    '',
  ].join('\n');
}
