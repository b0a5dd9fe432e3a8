import { z } from 'zod';

/** `instance:` the personal instance's encoder and its inference worker (DESIGN sections 2 and 5, docs/models.md). */
export const instanceSection = z
  .object({
    /**
     * Run the personal instance and learning stack in `h3lix run` (inference worker, obs → pred,
     * signals, local evolution). Default true; false leaves a sync-and-energy-only node.
     */
    enabled: z.boolean().default(true),
    /** Base interval of the `local-evolution` scheduler task, seconds (scaled by the `learning` cadence per energy mode). Default 1800. */
    evolutionIntervalSeconds: z.number().min(1).max(604_800).default(1800),
    /** Model directory (model.onnx + manifest.json), checked against the manifest sha256 on load. Default "models/sensor-encoder". */
    modelDir: z.string().min(1).default('models/sensor-encoder'),
    /** Largest batch coalesced into one onnxruntime run. Default 32. */
    maxBatch: z.number().int().min(1).max(4096).default(32),
    /** How long the first queued request waits for company before a run starts, ms (0 = dispatch on the next microtask). Default 0. */
    batchWindowMs: z.number().min(0).max(1000).default(0),
    /** Requests waiting beyond this are rejected with INFERENCE_FAILED (retryable). Default 4096. */
    maxQueue: z.number().int().min(1).default(4096),
    /** Delay before restarting a crashed inference worker, ms. Default 100. */
    restartDelayMs: z.number().int().min(0).default(100),
    /** onnxruntime intra-op threads inside the worker. Default 1 (edge boards have few cores). */
    intraOpThreads: z.number().int().min(1).max(64).default(1),
    /** Labelled observations the windowed accuracy on feedback covers (status page, `h3lix status`, `/metrics`). Default 100. */
    feedbackWindow: z.number().int().min(1).max(100_000).default(100),
  })
  .strict()
  .default({ enabled: true, evolutionIntervalSeconds: 1800, modelDir: 'models/sensor-encoder', maxBatch: 32, batchWindowMs: 0, maxQueue: 4096, restartDelayMs: 100, intraOpThreads: 1, feedbackWindow: 100 });
