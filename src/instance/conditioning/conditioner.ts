/**
 * The runtime conditioner: holds the current prototypes (local stats blended with the CCF field) and,
 * once local evolution trained one, the private local head (DESIGN sections 4-6), and predicts labels
 * for embeddings. Prototypes are rebuilt lazily when older than `maxAgeMs` or after `invalidate()`
 * (call it when the field merged a delta or local feedback arrived).
 *
 * Head or prototypes (docs/signals.md "Which scorer predicts"): the head scores an embedding when it is
 * installed, has the embedding's dimension, and its class set covers every class the current
 * prototypes know (so it is at least as current as the prototypes: a class that reached the field or
 * the local feedback after the head was trained sends predictions back to the prototypes until the
 * next evolution round). Head classes the prototypes no longer know (a field key that aged out, or
 * field classes with `blend` 0) are dropped and the remaining softmax scores renormalised, so a
 * prediction never names a class the prototypes do not know. Otherwise the prototypes score.
 */
import { H3lixError } from '../../errors.js';
import { clipL2 } from '../../signals/clip.js';
import type { Clock } from '../../util/clock.js';
import { predictHead, type LocalHead } from '../evolution/head.js';
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
  /** Let an installed local head score (see the rule above); false = prototypes only. Default true. */
  useHead?: boolean;
}

/** Which scorer produced a prediction. */
export type PredictionSource = 'head' | 'prototypes';

/** A prediction plus the scorer that made it. */
export interface ConditionedPrediction extends Prediction {
  source: PredictionSource;
}

/** An installed head with its class set, swapped as one reference. */
interface InstalledHead {
  head: LocalHead;
  classes: ReadonlySet<string>;
}

/** Throw DATA_INVALID unless `head` is internally consistent (shapes, finite parameters). */
function checkHead(head: LocalHead): void {
  const C = head.classes.length;
  const problem =
    C < 2 ? `${C} classes (need ≥ 2)`
    : new Set(head.classes).size !== C ? 'duplicate classes'
    : !Number.isInteger(head.dim) || head.dim < 1 ? `dim ${head.dim}`
    : head.weights.length !== C * head.dim ? `${head.weights.length} weights for ${C} classes × ${head.dim}`
    : head.bias.length !== C ? `${head.bias.length} biases for ${C} classes`
    : !head.weights.every(Number.isFinite) || !head.bias.every(Number.isFinite) ? 'non-finite parameters'
    : undefined;
  if (problem !== undefined) throw new H3lixError('DATA_INVALID', `local head rejected: ${problem}`);
}

/** Prototype scoring against local + field prototypes. */
export class Conditioner {
  private cache: { at: number; prototypes: Prototype[]; field: Map<string, ArrayLike<number>> } | undefined;
  private installed: InstalledHead | undefined;

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

  /**
   * Install a new local head (undefined removes it). One reference assignment: a `predict` call reads
   * the head once, so each embedding is scored entirely by the old or entirely by the new head. The
   * daemon calls this from the `local-evolution` task, i.e. under the scheduler's update lock.
   * Throws DATA_INVALID for an inconsistent head (the old one stays).
   */
  installHead(head: LocalHead | undefined): void {
    if (head === undefined) {
      this.installed = undefined;
      return;
    }
    checkHead(head);
    this.installed = { head, classes: new Set(head.classes) };
  }

  /** The installed local head, if any. */
  head(): LocalHead | undefined {
    return this.installed?.head;
  }

  /** Predict the label of one embedding (head or prototypes, see the rule above). `label` is undefined when there is no prototype yet. */
  predict(embedding: ArrayLike<number>): ConditionedPrediction {
    const installed = this.opts.useHead === false ? undefined : this.installed; // read once
    const { prototypes } = this.current();
    if (installed && installed.head.dim === embedding.length) {
      const known = prototypes.filter((p) => p.vector.length === embedding.length).map((p) => p.key);
      if (known.length > 0 && known.every((k) => installed.classes.has(k))) {
        const e = this.opts.clipNorm === undefined ? embedding : clipL2(embedding, this.opts.clipNorm);
        return { ...predictHead(installed.head, e, known), source: 'head' };
      }
    }
    return { ...scoreEmbedding(embedding, prototypes, this.opts.score, this.opts.clipNorm), source: 'prototypes' };
  }

  /** The `context` input for a model that declares one: mean field vector over `activeKeys` (all field keys by default). */
  context(dim: number, activeKeys?: Iterable<string>): Float32Array {
    const { field } = this.current();
    return contextVector(field, activeKeys ?? field.keys(), dim);
  }
}

