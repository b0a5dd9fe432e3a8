/**
 * The personal instance feature (DESIGN sections 1, 4, 5): observations arrive on the local broker at
 * `h3lix/v1/<fleet>/obs/<node>` (JSON or CBOR `{features: number[], label?: string, id?}`), are
 * embedded by the inference worker, scored by the conditioner (the local head when one is installed
 * and covers every class the prototypes know, else local + field prototypes), and the prediction goes
 * to `h3lix/v1/<fleet>/pred/<node>` as `{id, label, scores, time, source}` (`source`: 'head' |
 * 'prototypes') in the same encoding the observation used. A `label` is feedback: after predicting, the embedding feeds the
 * signal accumulator (→ noised CCF contributions) and the local history (→ local head).
 * A bad payload is rejected with a reason (counted, and answered on the pred topic with `error`);
 * nothing a device sends can crash the daemon.
 */
import { decode as cborDecode, encode as cborEncode } from 'cbor-x';
import { H3lixError } from '../errors.js';
import { nameProblem } from '../ccf/limits.js';
import type { Clock } from '../util/clock.js';
import type { LatencyObserver } from '../util/histogram.js';
import type { Logger } from '../util/logger.js';
import type { ConditionedPrediction, Conditioner } from './conditioning/conditioner.js';
import type { LocalHistory } from './evolution/history.js';
import { clipL2 } from '../signals/clip.js';
import type { SignalAccumulator } from '../signals/accumulator.js';
import { FeedbackAccuracy, type FeedbackAccuracySnapshot } from './feedback-accuracy.js';

/** The slice of `InferenceService` the instance uses. */
export interface Embedder {
  embed(input: Float32Array, context?: Float32Array): Promise<Float32Array>;
  readonly manifest: { inputDim: number; contextDim?: number };
}

/** The slice of an mqtt.js v5 client the instance uses. */
export interface InstanceMqtt {
  subscribeAsync(topic: string, opts: { qos: 0 | 1 }): Promise<unknown>;
  unsubscribeAsync(topic: string): Promise<unknown>;
  publishAsync(topic: string, payload: Buffer | string, opts: { qos: 0 | 1 }): Promise<unknown>;
  on(event: 'message', cb: (topic: string, payload: Buffer) => void): unknown;
  removeListener(event: 'message', cb: (topic: string, payload: Buffer) => void): unknown;
}

/** Options for `PersonalInstance`. */
export interface PersonalInstanceOptions {
  mqtt: InstanceMqtt;
  /** Topic prefix, e.g. `h3lix/v1/<fleet>/` (trailing slash optional). */
  topicPrefix: string;
  nodeId: string;
  embedder: Embedder;
  conditioner: Conditioner;
  /** Labelled observations feed it (signals). Optional: without it feedback only updates history. */
  accumulator?: SignalAccumulator;
  /** Local history for the local head. Optional. */
  history?: LocalHistory;
  /** Clip norm C for history entries (config `signals.clipNorm`). Default 3. */
  clipNorm?: number;
  clock: Clock;
  logger?: Logger;
  /** Largest accepted observation payload, bytes. Default 65536. */
  maxPayloadBytes?: number;
  /** Observations processed concurrently; more are rejected ('overloaded'). Default 64. */
  maxInFlight?: number;
  /** QoS of pred messages. Default 1. */
  qos?: 0 | 1;
  /** Gets the seconds of each observation's inference (embed in the worker + predict), on the monotonic clock. Default none. */
  latency?: LatencyObserver;
  /** Labelled observations the windowed accuracy on feedback covers. Default 100. */
  feedbackWindow?: number;
}

/** A validated observation. */
export interface Observation {
  features: Float32Array;
  label?: string;
  id?: string | number;
  format: 'json' | 'cbor';
}

/** Counters for telemetry and tests. */
export interface InstanceStats {
  received: number;
  predicted: number;
  feedback: number;
  rejected: number;
  reasons: Record<string, number>;
  /** Accuracy on feedback: the prediction made before each label was used, against the label. */
  accuracy: FeedbackAccuracySnapshot;
}

/** JSON when the payload starts with '{', '[' or whitespace; CBOR otherwise. */
export function payloadFormat(payload: Uint8Array): 'json' | 'cbor' {
  const b = payload[0];
  return b === 0x7b || b === 0x5b || b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09 ? 'json' : 'cbor';
}

/** Parse and validate an observation payload; throws DATA_INVALID with the reason. */
export function parseObservation(payload: Uint8Array, inputDim: number, maxBytes = 65536): Observation {
  if (payload.length === 0) throw new H3lixError('DATA_INVALID', 'empty payload');
  if (payload.length > maxBytes) throw new H3lixError('DATA_INVALID', `payload of ${payload.length} bytes exceeds ${maxBytes}`);
  const format = payloadFormat(payload);
  let raw: unknown;
  try {
    raw = format === 'json' ? JSON.parse(Buffer.from(payload).toString('utf8')) : cborDecode(payload);
  } catch (err) {
    throw new H3lixError('DATA_INVALID', `payload is not valid ${format.toUpperCase()}: ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new H3lixError('DATA_INVALID', 'payload must be a map/object with "features"');
  const o = raw as Record<string, unknown>;
  const f = o.features;
  if (!Array.isArray(f) && !(f instanceof Float32Array) && !(f instanceof Float64Array)) throw new H3lixError('DATA_INVALID', '"features" must be an array of numbers');
  const arr = f as ArrayLike<unknown>;
  if (arr.length !== inputDim) throw new H3lixError('DATA_INVALID', `"features" has ${arr.length} values, the model expects ${inputDim}`);
  const features = new Float32Array(inputDim);
  for (let i = 0; i < inputDim; i++) {
    const v = arr[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new H3lixError('DATA_INVALID', `"features"[${i}] is not a finite number`);
    features[i] = v;
  }
  const out: Observation = { features, format };
  if (o.label !== undefined) {
    const p = nameProblem(o.label);
    if (p !== undefined) throw new H3lixError('DATA_INVALID', `"label": ${p}`);
    out.label = o.label as string;
  }
  if (o.id !== undefined) {
    if (!((typeof o.id === 'string' && o.id.length <= 128) || (typeof o.id === 'number' && Number.isFinite(o.id)))) throw new H3lixError('DATA_INVALID', '"id" must be a string (≤ 128 chars) or a finite number');
    out.id = o.id as string | number;
  }
  return out;
}

/** The obs → pred feature. */
export class PersonalInstance {
  private readonly obsTopic: string;
  private readonly predTopic: string;
  private running = false;
  private inFlight = 0;
  private readonly pending = new Set<Promise<void>>();
  private readonly counters: Omit<InstanceStats, 'accuracy'> = { received: 0, predicted: 0, feedback: 0, rejected: 0, reasons: {} };
  private readonly accuracy: FeedbackAccuracy;
  private readonly onMessage = (topic: string, payload: Buffer): void => {
    if (topic !== this.obsTopic || !this.running) return;
    const p = this.handle(payload).finally(() => this.pending.delete(p));
    this.pending.add(p);
  };

  constructor(private readonly opts: PersonalInstanceOptions) {
    const prefix = opts.topicPrefix.endsWith('/') ? opts.topicPrefix : `${opts.topicPrefix}/`;
    this.obsTopic = `${prefix}obs/${opts.nodeId}`;
    this.predTopic = `${prefix}pred/${opts.nodeId}`;
    this.accuracy = new FeedbackAccuracy(opts.feedbackWindow ?? 100);
  }

  get topics(): { obs: string; pred: string } {
    return { obs: this.obsTopic, pred: this.predTopic };
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.opts.mqtt.on('message', this.onMessage);
    await this.opts.mqtt.subscribeAsync(this.obsTopic, { qos: 1 });
  }

  /** Unsubscribe and wait for observations in flight. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.opts.mqtt.removeListener('message', this.onMessage);
    try {
      await this.opts.mqtt.unsubscribeAsync(this.obsTopic);
    } catch (err) {
      this.opts.logger?.debug({ err }, 'instance: unsubscribe failed (client closing?)');
    }
    await Promise.all([...this.pending]);
  }

  stats(): InstanceStats {
    return { ...this.counters, reasons: { ...this.counters.reasons }, accuracy: this.accuracy.snapshot() };
  }

  /** Embed + predict (+ learn from feedback) one observation; used by the MQTT path and callers in-process. */
  async observe(obs: Observation): Promise<ConditionedPrediction & { embedding: Float32Array }> {
    const m = this.opts.embedder.manifest;
    const ctx = m.contextDim ? this.opts.conditioner.context(m.contextDim) : undefined;
    const t0 = this.opts.clock.monotonic();
    const embedding = await this.opts.embedder.embed(obs.features, ctx);
    const prediction = this.opts.conditioner.predict(embedding);
    this.opts.latency?.observe((this.opts.clock.monotonic() - t0) / 1000);
    if (obs.label !== undefined) {
      // scored before the label reaches anything the prediction reads (accumulator, history, conditioner)
      this.accuracy.record(prediction.label, obs.label);
      this.opts.accumulator?.add(obs.label, embedding);
      this.opts.history?.add(obs.label, clipL2(embedding, this.opts.clipNorm ?? 3));
      this.opts.conditioner.invalidate();
      this.counters.feedback++;
    }
    return { ...prediction, embedding };
  }

  private reject(reason: string, format: 'json' | 'cbor', id?: string | number): Promise<unknown> {
    this.counters.rejected++;
    const key = reason.replace(/\d+/g, 'N').slice(0, 80);
    this.counters.reasons[key] = (this.counters.reasons[key] ?? 0) + 1;
    this.opts.logger?.debug({ reason }, 'instance: observation rejected');
    return this.publish({ ...(id !== undefined ? { id } : {}), error: reason, time: this.opts.clock.now() }, format);
  }

  private publish(msg: Record<string, unknown>, format: 'json' | 'cbor'): Promise<unknown> {
    const payload = format === 'cbor' ? Buffer.from(cborEncode(msg)) : JSON.stringify(msg);
    return this.opts.mqtt.publishAsync(this.predTopic, payload, { qos: this.opts.qos ?? 1 });
  }

  private async handle(payload: Buffer): Promise<void> {
    this.counters.received++;
    const format = payloadFormat(payload);
    try {
      if (this.inFlight >= (this.opts.maxInFlight ?? 64)) {
        await this.reject('overloaded: too many observations in flight', format);
        return;
      }
      let obs: Observation;
      try {
        obs = parseObservation(payload, this.opts.embedder.manifest.inputDim, this.opts.maxPayloadBytes);
      } catch (err) {
        await this.reject(err instanceof H3lixError ? err.message : String(err), format);
        return;
      }
      this.inFlight++;
      try {
        const p = await this.observe(obs);
        this.counters.predicted++;
        await this.publish({ ...(obs.id !== undefined ? { id: obs.id } : {}), label: p.label ?? null, scores: p.scores, time: this.opts.clock.now(), source: p.source }, obs.format);
      } catch (err) {
        await this.reject(err instanceof H3lixError ? `${err.code}: ${err.message}` : String(err), obs.format, obs.id);
      } finally {
        this.inFlight--;
      }
    } catch (err) {
      // publishing failed (client closing): count and log, never throw out of a message handler
      this.opts.logger?.warn({ err }, 'instance: could not publish a prediction');
    }
  }
}
