/**
 * The instance's inference front door (DESIGN sections 2 and 5). Sessions live in a worker thread
 * (WorkerSlot); callers `embed()` single rows and get embeddings back. Requests that queue up while a
 * run is in flight are coalesced into one run with batch dimension N (up to `maxBatch` rows).
 *
 * Swap semantics (`swap(dir)`): the new model is loaded and checked in a second worker while the old
 * one keeps serving. At the moment the new worker is ready it becomes active: the batch already
 * running in the old worker is answered by the OLD model; every request still queued (and every later
 * one) is answered by the NEW model. The old worker is terminated only after its batch settles, so no
 * request is dropped.
 *
 * Crash semantics: if the worker dies, the batch it was running is rejected with INFERENCE_FAILED
 * (retryable); queued requests stay queued and are served once the worker is restarted
 * (after `restartDelayMs`, retrying with backoff up to 5 s while the restart fails).
 */
import { H3lixError } from '../../errors.js';
import type { Logger } from '../../util/logger.js';
import { systemClock, type Clock, type TimerHandle } from '../../util/clock.js';
import { loadModelDir, type ModelManifest } from '../model/manifest.js';
import { resolveModelDir } from '../model/model-path.js';
import { WorkerSlot, type SlotBatch } from './worker-slot.js';

/** Options of `InferenceService`. */
export interface InferenceServiceOptions {
  /** Model directory (model.onnx + manifest.json); relative paths go through `resolveModelDir`. Required. */
  modelDir: string;
  logger: Logger;
  /** Most rows per onnxruntime run. Default 32. */
  maxBatch?: number;
  /** Extra wait after the first queued request before dispatching a partial batch, ms. Default 0 (next microtask). */
  batchWindowMs?: number;
  /** Queue limit in rows; beyond it `embed` rejects INFERENCE_FAILED (retryable). Default 4096. */
  maxQueue?: number;
  /** Delay before restarting a crashed worker, ms. Default 100. */
  restartDelayMs?: number;
  /** onnxruntime intra-op threads in the worker. Default 1. */
  intraOpThreads?: number;
  /** Clock for the batch window and restart timers. Default systemClock. */
  clock?: Clock;
}

interface Request {
  n: number;
  input: Float32Array;
  context: Float32Array | undefined;
  resolve(out: Float32Array): void;
  reject(err: unknown): void;
}

/** Counters for tests, benches and telemetry. */
export interface InferenceStats {
  runs: number;
  rows: number;
  requests: number;
  largestBatch: number;
  restarts: number;
  swaps: number;
  queuedRows: number;
}

export class InferenceService {
  private readonly opts: Required<Omit<InferenceServiceOptions, 'clock' | 'logger'>> & { clock: Clock; logger: Logger };
  private active: WorkerSlot | undefined;
  private modelDir: string;
  /** Manifest of the model being served (kept while a crashed worker restarts). */
  private current: ModelManifest | undefined;
  private readonly queue: Request[] = [];
  private queuedRows = 0;
  private pumpScheduled = false;
  private windowTimer: TimerHandle | undefined;
  private restartTimer: TimerHandle | undefined;
  private restartBackoff = 0;
  private nextId = 1;
  private running = false;
  private readonly draining = new Set<Promise<void>>();
  private readonly counters: Omit<InferenceStats, 'queuedRows'> = { runs: 0, rows: 0, requests: 0, largestBatch: 0, restarts: 0, swaps: 0 };

  constructor(options: InferenceServiceOptions) {
    this.opts = {
      maxBatch: 32,
      batchWindowMs: 0,
      maxQueue: 4096,
      restartDelayMs: 100,
      intraOpThreads: 1,
      ...options,
      clock: options.clock ?? systemClock,
    };
    this.modelDir = resolveModelDir(options.modelDir);
  }

  /** Load the model (sha256 checked: MODEL_CHECKSUM) and start the worker. */
  async start(): Promise<void> {
    if (this.running) return;
    this.active = await this.spawn(this.modelDir);
    this.current = this.active.manifest;
    this.running = true;
    this.opts.logger.info({ model: this.active.manifest.name, version: this.active.manifest.version }, 'inference worker ready');
  }

  /** Reject queued requests, let the running batch settle, stop the worker(s). */
  async stop(): Promise<void> {
    this.running = false;
    if (this.restartTimer !== undefined) this.opts.clock.clearTimeout(this.restartTimer);
    if (this.windowTimer !== undefined) this.opts.clock.clearTimeout(this.windowTimer);
    this.restartTimer = undefined;
    this.windowTimer = undefined;
    for (const r of this.queue.splice(0)) r.reject(new H3lixError('INFERENCE_FAILED', 'inference service stopped', { retryable: true }));
    this.queuedRows = 0;
    const slot = this.active;
    this.active = undefined;
    if (slot) await this.retire(slot);
    await Promise.all([...this.draining]);
  }

  /** The manifest of the model currently serving. */
  get manifest(): ModelManifest {
    if (!this.current) throw new H3lixError('INFERENCE_FAILED', 'inference service is not started', { retryable: true });
    return this.current;
  }

  stats(): InferenceStats {
    return { ...this.counters, queuedRows: this.queuedRows };
  }

  /**
   * Embed one row (`input.length === manifest.inputDim`). `context` feeds the model's `context` input
   * when it declares one (zeros when omitted) and is ignored otherwise.
   */
  embed(input: Float32Array, context?: Float32Array): Promise<Float32Array> {
    return this.embedBatch(input, 1, context);
  }

  /** Embed `n` rows at once (`inputs` is [n, inputDim] row-major); resolves to [n, embeddingDim]. */
  embedBatch(inputs: Float32Array, n: number, contexts?: Float32Array): Promise<Float32Array> {
    const m = this.current;
    if (!this.running || !m) return Promise.reject(new H3lixError('INFERENCE_FAILED', 'inference service is not started', { retryable: true }));
    if (!Number.isInteger(n) || n < 1 || inputs.length !== n * m.inputDim) {
      return Promise.reject(new H3lixError('DATA_INVALID', `expected ${n} × ${m.inputDim} input values for ${m.name}, got ${inputs.length}`));
    }
    if (contexts && m.contextDim && contexts.length !== n * m.contextDim) {
      return Promise.reject(new H3lixError('DATA_INVALID', `expected ${n} × ${m.contextDim} context values for ${m.name}, got ${contexts.length}`));
    }
    if (this.queuedRows + n > this.opts.maxQueue && this.queue.length > 0) {
      return Promise.reject(new H3lixError('INFERENCE_FAILED', `inference queue full (${this.queuedRows} rows waiting)`, { retryable: true }));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ n, input: inputs, context: m.contextDim ? contexts : undefined, resolve, reject });
      this.queuedRows += n;
      this.counters.requests++;
      this.schedule();
    });
  }

  /** Replace the model without dropping requests (see the module comment for who answers what). */
  async swap(newModelDir: string): Promise<ModelManifest> {
    const old = this.current;
    if (!this.running || !old) throw new H3lixError('INFERENCE_FAILED', 'inference service is not started', { retryable: true });
    newModelDir = resolveModelDir(newModelDir);
    const { manifest } = loadModelDir(newModelDir);
    if (manifest.inputDim !== old.inputDim || (manifest.contextDim ?? 0) !== (old.contextDim ?? 0)) {
      throw new H3lixError('MODEL_INVALID', `cannot swap ${old.name} (input ${old.inputDim}, context ${old.contextDim ?? 0}) for ${manifest.name} (input ${manifest.inputDim}, context ${manifest.contextDim ?? 0}): shapes differ`);
    }
    const next = await this.spawn(newModelDir);
    if (!this.running) {
      await next.terminate();
      throw new H3lixError('INFERENCE_FAILED', 'inference service stopped during swap', { retryable: true });
    }
    if (this.restartTimer !== undefined) {
      // The old worker crashed while we loaded: the new model replaces the pending restart.
      this.opts.clock.clearTimeout(this.restartTimer);
      this.restartTimer = undefined;
    }
    const previous = this.active;
    this.active = next;
    this.current = manifest;
    this.modelDir = newModelDir;
    this.counters.swaps++;
    if (previous) this.retireLater(previous);
    this.opts.logger.info({ from: `${old.name} ${old.version}`, to: `${manifest.name} ${manifest.version}` }, 'inference model swapped');
    this.schedule(true);
    return manifest;
  }

  /** Fault injection for tests: crash the active worker. */
  injectCrash(): void {
    this.active?.injectCrash();
  }

  private async spawn(dir: string): Promise<WorkerSlot> {
    const { manifest, bytes } = loadModelDir(dir);
    const slot = new WorkerSlot(manifest, bytes, this.opts.intraOpThreads, (s, err) => this.onWorkerDeath(s, err));
    await slot.ready();
    return slot;
  }

  /** Terminate a retired slot once its running batch has settled. */
  private retireLater(slot: WorkerSlot): void {
    const p = this.retire(slot).finally(() => this.draining.delete(p));
    this.draining.add(p);
  }

  private async retire(slot: WorkerSlot): Promise<void> {
    while (slot.busy && slot.alive) await new Promise((r) => setImmediate(r));
    await slot.terminate();
  }

  private onWorkerDeath(slot: WorkerSlot, err: H3lixError): void {
    if (slot !== this.active || !this.running) return;
    this.opts.logger.error({ err: err.message }, 'inference worker died; restarting');
    this.active = undefined;
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    const delay = Math.min(5000, this.opts.restartDelayMs * 2 ** this.restartBackoff);
    this.restartTimer = this.opts.clock.setTimeout(() => {
      this.restartTimer = undefined;
      this.spawn(this.modelDir).then(
        (slot) => {
          if (!this.running) return void slot.terminate();
          this.active = slot;
          this.restartBackoff = 0;
          this.counters.restarts++;
          this.opts.logger.info({ model: slot.manifest.name }, 'inference worker restarted');
          this.schedule(true);
        },
        (e: unknown) => {
          if (!this.running) return;
          this.opts.logger.error({ err: (e as Error).message }, 'inference worker restart failed');
          for (const r of this.queue.splice(0)) r.reject(new H3lixError('INFERENCE_FAILED', `inference worker restart failed: ${(e as Error).message}`, { cause: e, retryable: true }));
          this.queuedRows = 0;
          this.restartBackoff++;
          this.scheduleRestart();
        },
      );
    }, delay);
  }

  /**
   * Arrange for `pump` to run: on the next microtask, or, with a batch window, once the window closes
   * or the queue holds a full batch, whichever comes first. `immediate` (after a run settles) skips
   * the window: those requests already waited for the previous run.
   */
  private schedule(immediate = false): void {
    if (this.queue.length === 0) return;
    const now = immediate || this.opts.batchWindowMs === 0 || this.queuedRows >= this.opts.maxBatch;
    if (this.windowTimer !== undefined) {
      if (!now) return;
      this.opts.clock.clearTimeout(this.windowTimer);
      this.windowTimer = undefined;
      this.pumpScheduled = false;
    }
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    if (now) {
      queueMicrotask(() => {
        this.pumpScheduled = false;
        this.pump();
      });
    } else {
      this.windowTimer = this.opts.clock.setTimeout(() => {
        this.windowTimer = undefined;
        this.pumpScheduled = false;
        this.pump();
      }, this.opts.batchWindowMs);
    }
  }

  /** If the worker is idle, send it the next batch: queued requests up to maxBatch rows (at least one). */
  private pump(): void {
    const slot = this.active;
    if (!slot || !slot.alive || slot.busy || this.queue.length === 0) return;
    const m = slot.manifest;
    const take: Request[] = [];
    let rows = 0;
    while (this.queue.length > 0 && (take.length === 0 || rows + this.queue[0]!.n <= this.opts.maxBatch)) {
      const r = this.queue.shift()!;
      take.push(r);
      rows += r.n;
    }
    this.queuedRows -= rows;
    const input = new Float32Array(rows * m.inputDim);
    const context = m.contextDim ? new Float32Array(rows * m.contextDim) : undefined;
    let off = 0;
    for (const r of take) {
      input.set(r.input, off * m.inputDim);
      if (context && r.context) context.set(r.context, off * m.contextDim!);
      off += r.n;
    }
    this.counters.runs++;
    this.counters.rows += rows;
    this.counters.largestBatch = Math.max(this.counters.largestBatch, rows);
    const E = m.embeddingDim;
    const batch: SlotBatch = {
      id: this.nextId++,
      n: rows,
      resolve: (output) => {
        if (take.length === 1) take[0]!.resolve(output);
        else {
          let o = 0;
          for (const r of take) {
            r.resolve(output.slice(o * E, (o + r.n) * E));
            o += r.n;
          }
        }
        this.schedule(true);
      },
      reject: (err) => {
        for (const r of take) r.reject(err);
        this.schedule(true);
      },
    };
    slot.run(batch, input, context);
  }
}
