/** Public surface of the instance model package (training, export, model directories, datasets live in ../data). */
import { loadModelDir, type ModelManifest } from './manifest.js';
import { importEncoderOnnx } from './onnx-export.js';
import { resolveModelDir } from './model-path.js';
import type { TrainedEncoder } from './mlp.js';

export { trainEncoder, encode, withContextProjection, nearestPrototype } from './mlp.js';
export type { TrainedEncoder, TrainEncoderOptions, TrainProgress, DenseLayer, ContextProjection } from './mlp.js';
export { exportEncoderOnnx, importEncoderOnnx, INPUT_NAME, CONTEXT_NAME, OUTPUT_NAME, ONNX_OPSET, ONNX_IR_VERSION } from './onnx-export.js';
export { loadModelDir, readManifest, readGolden, sha256Hex, type ModelManifest, type GoldenVectors } from './manifest.js';
export { writeModelDir, type WriteModelOptions } from './model-writer.js';
export { verifyModelDir, type VerifyResult } from './verify.js';
export { resolveModelDir, packageRoot } from './model-path.js';
export { createRng, shuffleInPlace, type Rng } from '../../util/prng.js';

/**
 * Load a model directory for the pure-TS forward (simulations, cross-checks): sha256 checked against
 * the manifest, ONNX initializers read back into a TrainedEncoder (`prototypes` empty).
 */
export function loadEncoder(dir: string): { manifest: ModelManifest; encoder: TrainedEncoder } {
  const { manifest, bytes } = loadModelDir(resolveModelDir(dir));
  return { manifest, encoder: importEncoderOnnx(bytes) };
}
