/**
 * One inference worker thread bound to one loaded model. A slot runs at most one batch at a time;
 * the InferenceService owns the queue and decides what to send. The worker script is resolved next to
 * this module: `inference-worker.js` in the compiled dist, `inference-worker.ts` under tsx (see
 * `workerEntry`).
 */
import { Worker } from 'node:worker_threads';
import { H3lixError } from '../../errors.js';
import { workerEntry as workerEntryNextTo } from '../../util/worker-entry.js';
import type { ModelManifest } from '../model/manifest.js';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.js';

export interface SlotBatch {
  id: number;
  n: number;
  resolve(output: Float32Array, runMs: number): void;
  reject(err: H3lixError): void;
}

/** How to start the inference worker for the running flavour (`src/util/worker-entry.ts`). */
export function workerEntry(): { script: URL | string; eval: boolean } {
  return workerEntryNextTo(import.meta.url, 'inference-worker');
}

export class WorkerSlot {
  readonly manifest: ModelManifest;
  /** The batch currently running in the worker, if any. */
  busy: SlotBatch | undefined;
  /** False once the worker died or was terminated. */
  alive = true;
  private readonly worker: Worker;
  private readonly onDeath: (slot: WorkerSlot, err: H3lixError) => void;
  private readyWaiter: { resolve(): void; reject(err: H3lixError): void } | undefined;

  constructor(manifest: ModelManifest, bytes: Uint8Array, intraOpThreads: number, onDeath: (slot: WorkerSlot, err: H3lixError) => void) {
    this.manifest = manifest;
    this.onDeath = onDeath;
    const ctx = manifest.inputs.find((i) => i.name === 'context');
    const init: WorkerInit = {
      modelBytes: bytes,
      inputName: manifest.inputs.find((i) => i.name !== 'context')!.name,
      outputName: manifest.outputs[0]!.name,
      inputDim: manifest.inputDim,
      intraOpThreads,
      ...(ctx && manifest.contextDim ? { contextName: ctx.name, contextDim: manifest.contextDim } : {}),
    };
    const entry = workerEntry();
    // A small young generation: the worker only shuttles rows to onnxruntime and back, and the default
    // (the main thread's) would cost a board several MB of RSS for nothing (docs/bundle.md, "Footprint").
    this.worker = new Worker(entry.script, { workerData: init, eval: entry.eval, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
    this.worker.on('message', (msg: FromWorker) => this.onMessage(msg));
    this.worker.on('error', (err) => this.die(new H3lixError('INFERENCE_FAILED', `inference worker crashed: ${err.message}`, { cause: err, retryable: true })));
    this.worker.on('exit', (code) => this.die(new H3lixError('INFERENCE_FAILED', `inference worker exited with code ${code}`, { retryable: true })));
  }

  /** Resolves once the session is loaded; rejects MODEL_INVALID when onnxruntime refuses the model. */
  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.alive) reject(new H3lixError('INFERENCE_FAILED', 'inference worker is not running', { retryable: true }));
      else this.readyWaiter = { resolve, reject };
    });
  }

  /** Send one batch (the slot must be idle). Input buffers are transferred, not copied. */
  run(batch: SlotBatch, input: Float32Array, context: Float32Array | undefined): void {
    this.busy = batch;
    const msg: ToWorker = { type: 'run', id: batch.id, n: batch.n, input, ...(context ? { context } : {}) };
    this.worker.postMessage(msg, context ? [input.buffer as ArrayBuffer, context.buffer as ArrayBuffer] : [input.buffer as ArrayBuffer]);
  }

  /** Fault injection: make the worker throw an uncaught error. */
  injectCrash(): void {
    const msg: ToWorker = { type: 'crash' };
    this.worker.postMessage(msg);
  }

  /** Stop the thread; a running batch is rejected. */
  async terminate(): Promise<void> {
    this.alive = false;
    const busy = this.busy;
    this.busy = undefined;
    busy?.reject(new H3lixError('INFERENCE_FAILED', 'inference worker stopped', { retryable: true }));
    await this.worker.terminate();
  }

  private onMessage(msg: FromWorker): void {
    switch (msg.type) {
      case 'ready':
        this.readyWaiter?.resolve();
        this.readyWaiter = undefined;
        return;
      case 'load-failed':
        this.readyWaiter?.reject(new H3lixError('MODEL_INVALID', `onnxruntime could not load ${this.manifest.name}: ${msg.message}`));
        this.readyWaiter = undefined;
        void this.terminate();
        return;
      case 'result':
      case 'run-failed': {
        const batch = this.busy;
        if (!batch || batch.id !== msg.id) return;
        this.busy = undefined;
        if (msg.type === 'result') batch.resolve(msg.output, msg.runMs);
        else batch.reject(new H3lixError('INFERENCE_FAILED', `inference run failed: ${msg.message}`));
      }
    }
  }

  private die(err: H3lixError): void {
    if (!this.alive) return; // already terminated on purpose, or a second event for the same death
    this.alive = false;
    this.readyWaiter?.reject(err);
    this.readyWaiter = undefined;
    const busy = this.busy;
    this.busy = undefined;
    busy?.reject(err);
    this.onDeath(this, err);
  }
}
