/**
 * `h3lix models verify`: a model directory is good when the ONNX bytes match the manifest sha256,
 * ONNX Runtime accepts the model with the declared inputs/outputs, and the golden vectors come out
 * within tolerance when run as ONE batch through onnxruntime-node.
 */
import * as ort from 'onnxruntime-node';
import { H3lixError } from '../../errors.js';
import { loadModelDir, readGolden, type ModelManifest } from './manifest.js';

export interface VerifyResult {
  manifest: ModelManifest;
  cases: number;
  maxAbsDiff: number;
  tolerance: number;
}

/** Verify a model directory; throws MODEL_CHECKSUM / MODEL_INVALID with the reason on failure. */
export async function verifyModelDir(dir: string): Promise<VerifyResult> {
  const { manifest, bytes } = loadModelDir(dir);
  const golden = readGolden(dir);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes);
  } catch (err) {
    throw new H3lixError('MODEL_INVALID', `onnxruntime rejected ${dir}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const declared = manifest.inputs.map((i) => i.name).sort();
    const actual = [...session.inputNames].sort();
    if (declared.join() !== actual.join()) throw new H3lixError('MODEL_INVALID', `manifest declares inputs [${declared.join(', ')}], model has [${actual.join(', ')}]`);
    const outName = manifest.outputs[0]!.name;
    if (!session.outputNames.includes(outName)) throw new H3lixError('MODEL_INVALID', `model has no output "${outName}"`);
    const n = golden.cases.length;
    const feeds: Record<string, ort.Tensor> = {
      input: new ort.Tensor('float32', Float32Array.from(golden.cases.flatMap((c) => c.input)), [n, manifest.inputDim]),
    };
    if (manifest.contextDim) {
      feeds.context = new ort.Tensor('float32', Float32Array.from(golden.cases.flatMap((c) => c.context ?? new Array<number>(manifest.contextDim!).fill(0))), [n, manifest.contextDim]);
    }
    const out = await session.run(feeds);
    const got = out[outName]!.data as Float32Array;
    let maxAbsDiff = 0;
    golden.cases.forEach((c, i) => {
      if (c.embedding.length !== manifest.embeddingDim) throw new H3lixError('MODEL_INVALID', `golden case ${i} has ${c.embedding.length} outputs, manifest says ${manifest.embeddingDim}`);
      c.embedding.forEach((v, j) => (maxAbsDiff = Math.max(maxAbsDiff, Math.abs(v - got[i * manifest.embeddingDim + j]!))));
    });
    if (!(maxAbsDiff <= golden.tolerance)) {
      throw new H3lixError('MODEL_INVALID', `golden vectors differ by ${maxAbsDiff} > tolerance ${golden.tolerance}`, { detail: { maxAbsDiff } });
    }
    return { manifest, cases: n, maxAbsDiff, tolerance: golden.tolerance };
  } finally {
    await session.release();
  }
}
