/**
 * Model directory layout (DESIGN section 2, `models/`): `model.onnx`, `manifest.json` (name, version,
 * sha256, opset, IR version, input/output names, shapes and dtypes, classes, training data),
 * `golden.json` (inputs and the embeddings the pure-TS forward computes) and `MODEL_CARD.md`.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { H3lixError } from '../../errors.js';

export const MODEL_FILE = 'model.onnx';
export const MANIFEST_FILE = 'manifest.json';
export const GOLDEN_FILE = 'golden.json';
export const CARD_FILE = 'MODEL_CARD.md';
/** Optional: the encoder's own class prototypes `{classes, vectors}` (the plausibility gate's anchors). */
export const PROTOTYPES_FILE = 'prototypes.json';

const tensorSpec = z
  .object({
    name: z.string().min(1),
    dtype: z.literal('float32'),
    /** A string entry is a symbolic (dynamic) dimension, e.g. "N" for the batch. */
    shape: z.array(z.union([z.number().int().positive(), z.string().min(1)])).min(1),
  })
  .strict();

export const manifestSchema = z
  .object({
    name: z.string().min(1),
    version: z.string().regex(/^\d+\.\d+\.\d+$/),
    file: z.string().min(1),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    opset: z.number().int().positive(),
    irVersion: z.number().int().positive(),
    inputs: z.array(tensorSpec).min(1),
    outputs: z.array(tensorSpec).min(1),
    inputDim: z.number().int().positive(),
    embeddingDim: z.number().int().positive(),
    /** Width of the `context` input, when the model declares one (DESIGN 5). */
    contextDim: z.number().int().positive().optional(),
    classes: z.array(z.string()),
    featureNames: z.array(z.string()).optional(),
    training: z
      .object({
        data: z.string(),
        samples: z.number().int().nonnegative(),
        epochs: z.number().int().nonnegative(),
        seed: z.number().int(),
        finalLoss: z.number(),
        trainAccuracy: z.number(),
        hidden: z.number().int().positive(),
      })
      .strict(),
  })
  .strict();

export type ModelManifest = z.output<typeof manifestSchema>;
export type TensorSpec = z.output<typeof tensorSpec>;

export const goldenSchema = z
  .object({
    /** Max absolute difference allowed between ONNX Runtime and the TS forward. */
    tolerance: z.number().positive(),
    cases: z.array(z.object({ input: z.array(z.number()), context: z.array(z.number()).optional(), embedding: z.array(z.number()) }).strict()).min(1),
  })
  .strict();
export type GoldenVectors = z.output<typeof goldenSchema>;

/** Lowercase hex sha256 of bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new H3lixError('MODEL_INVALID', `cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new H3lixError('MODEL_INVALID', `${what} ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

function check<T>(schema: z.ZodType<T>, value: unknown, path: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new H3lixError('MODEL_INVALID', `${path}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return r.data;
}

/** Read and validate `<dir>/manifest.json`. Throws MODEL_INVALID naming the bad field. */
export function readManifest(dir: string): ModelManifest {
  const path = join(dir, MANIFEST_FILE);
  return check(manifestSchema, readJson(path, 'manifest'), path);
}

/** Read and validate `<dir>/golden.json`. */
export function readGolden(dir: string): GoldenVectors {
  const path = join(dir, GOLDEN_FILE);
  return check(goldenSchema, readJson(path, 'golden vectors'), path);
}

/**
 * Read a model directory: the manifest and the ONNX bytes, with the bytes' sha256 checked against the
 * manifest (MODEL_CHECKSUM on mismatch, MODEL_INVALID when files are missing or malformed).
 */
export function loadModelDir(dir: string): { manifest: ModelManifest; bytes: Uint8Array; path: string } {
  const manifest = readManifest(dir);
  const path = join(dir, manifest.file);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new H3lixError('MODEL_INVALID', `cannot read model file ${path}: ${(err as Error).message}`, { cause: err });
  }
  const actual = sha256Hex(bytes);
  if (actual !== manifest.sha256) {
    throw new H3lixError('MODEL_CHECKSUM', `${path}: sha256 ${actual} does not match manifest ${manifest.sha256}`, {
      detail: { expected: manifest.sha256, actual },
    });
  }
  return { manifest, bytes, path };
}
