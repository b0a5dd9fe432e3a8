/** Messages between the InferenceService (main thread) and its worker thread. */

/** Sent once at start-up (as workerData): the model bytes, already checked against the manifest sha256. */
export interface WorkerInit {
  modelBytes: Uint8Array;
  outputName: string;
  inputName: string;
  contextName?: string;
  inputDim: number;
  contextDim?: number;
  intraOpThreads: number;
}

export type ToWorker =
  /** One run over `n` rows; `input` is [n, inputDim] row-major, `context` [n, contextDim]. */
  | { type: 'run'; id: number; n: number; input: Float32Array; context?: Float32Array }
  /** Fault injection for tests: the worker throws an uncaught error (simulates a native crash). */
  | { type: 'crash' };

export type FromWorker =
  | { type: 'ready'; inputNames: readonly string[]; outputNames: readonly string[] }
  | { type: 'load-failed'; message: string }
  | { type: 'result'; id: number; output: Float32Array; runMs: number }
  | { type: 'run-failed'; id: number; message: string };
