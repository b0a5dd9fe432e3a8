/**
 * The runtime conditioner: holds the current prototypes (local stats blended with the CCF field) and
 * predicts labels for embeddings. Prototypes are rebuilt lazily when older than `maxAgeMs` or after
 * `invalidate()` (call it when the field merged a delta or local feedback arrived).
 */
import type { Clock } from '../../util/clock.js';
import { buildPrototypes, contextVector, scoreEmbedding, type LocalStats, type Prediction, type Prototype, type ScoreKind } from './prototypes.js';

/** The slice of the CCF field conditioning reads. `value` is the robust per-key mean vector. */
export interface FieldValues {
  keys(): Iterable<string>;
  value(key: string, now: number): ArrayLike<number> | undefined;
}

/** Options for `Conditioner`. */
export interface ConditionerOptions {
  /** Local per-class clipped stats (e.g. `() => accumulator.local()`). */
  local: () => ReadonlyMap<string, LocalStats>;
  /** The field (optional: without it the conditioner is local-only). */
  field?: FieldValues;
  clock: Clock;
  /** Weight of the field value in a prototype (config `signals.blend`, default 0.5). */
  blend: number;
  /** Score kind (config `signals.score`, default 'distance'). */
  score: ScoreKind;
  /** Clip the query embedding to this norm (the signal clip norm C) so it lives where prototypes do. Default: no clip. */
  clipNorm?: number;
  /** Rebuild prototypes when older than this. Default 1000 ms. */
  maxAgeMs?: number;
}

/** Prototype scoring against local + field prototypes. */
export class Conditioner {
  private cache: { at: number; prototypes: Prototype[]; field: Map<string, ArrayLike<number>> } | undefined;

  constructor(private readonly opts: ConditionerOptions) {}

  /** Drop cached prototypes (field merged, feedback arrived). */
  invalidate(): void {
    this.cache = undefined;
  }

  /** Field values per key at `now`. */
  private fieldSnapshot(now: number): Map<string, ArrayLike<number>> {
    const out = new Map<string, ArrayLike<number>>();
    const f = this.opts.field;
    if (!f) return out;
    for (const k of f.keys()) {
      const v = f.value(k, now);
      if (v && v.length > 0) out.set(k, v);
    }
    return out;
  }

  private current(): { prototypes: Prototype[]; field: Map<string, ArrayLike<number>> } {
    const mono = this.opts.clock.monotonic();
    if (!this.cache || mono - this.cache.at > (this.opts.maxAgeMs ?? 1000)) {
      const field = this.fieldSnapshot(this.opts.clock.now());
      this.cache = { at: mono, field, prototypes: buildPrototypes(this.opts.local(), field, this.opts.blend) };
    }
    return this.cache;
  }

  /** The current prototypes (sorted by key). */
  prototypes(): readonly Prototype[] {
    return this.current().prototypes;
  }

  /** Predict the label of one embedding. `label` is undefined when there is no prototype yet. */
  predict(embedding: ArrayLike<number>): Prediction {
    return scoreEmbedding(embedding, this.current().prototypes, this.opts.score, this.opts.clipNorm);
  }

  /** The `context` input for a model that declares one: mean field vector over `activeKeys` (all field keys by default). */
  context(dim: number, activeKeys?: Iterable<string>): Float32Array {
    const { field } = this.current();
    return contextVector(field, activeKeys ?? field.keys(), dim);
  }
}
