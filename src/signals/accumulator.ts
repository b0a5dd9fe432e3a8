/**
 * Signal extraction (DESIGN section 4): labelled embeddings → per-key clipped sums and counts, and
 * their noised release. Raw inputs never enter here (only embeddings), and nothing here leaves the
 * board except what `release()` returns: Gaussian-noised sums and counts of keys whose noised count
 * reached k.
 */
import { H3lixError } from '../errors.js';
import { nameProblem } from '../ccf/limits.js';
import type { Rng } from '../util/prng.js';
import { clipL2 } from './clip.js';
import { gaussianRelease } from './gaussian.js';
import { releaseCost, type PrivacyAccountant } from './accountant.js';

/** One key's local (private, un-noised) clipped statistics. */
export interface KeyStats {
  sum: Float64Array;
  count: number;
}

/** One noised per-key release, ready for `CcfField.contributeLocal`. */
export interface ReleasedSignal {
  key: string;
  sum: Float32Array;
  count: number;
}

/** The outcome of one `release()` call. */
export interface ReleaseResult {
  /** Keys published (noised count ≥ k). */
  published: ReleasedSignal[];
  /** Keys computed but withheld because their noised count was below k. */
  withheld: string[];
  /** Why nothing was released, if nothing was. */
  skipped?: 'no-new-data' | 'budget-spent';
  /** ε spent after this call. */
  epsilon: number;
}

/** Options for `SignalAccumulator`. Values come from config section `signals`. */
export interface SignalAccumulatorOptions {
  /** L2 clip norm C (config default 1). */
  clipNorm: number;
  /** Noise multiplier z (config default 2). */
  noiseMultiplier: number;
  /** Publication threshold k on the noised count (config default 20). */
  minCount: number;
  accountant: PrivacyAccountant;
  /** Seeded generator for the noise (inject a seeded one in tests; a CSPRNG-seeded one in the daemon). */
  rng: Rng;
  /** Maximum distinct keys kept (bad feedback must not grow memory without bound). Default 1024. */
  maxKeys?: number;
}

/** Per-key clipped sums and counts with a privacy-accounted release. */
export class SignalAccumulator {
  private readonly keys = new Map<string, KeyStats>();
  private dim: number | undefined;
  private newExamples = 0;

  constructor(private readonly opts: SignalAccumulatorOptions) {}

  /** Add one labelled embedding (clipped to C). Throws DATA_INVALID on a bad vector or key. */
  add(key: string, embedding: ArrayLike<number>): void {
    const problem = nameProblem(key);
    if (problem !== undefined) throw new H3lixError('DATA_INVALID', `signal key ${JSON.stringify(key)}: ${problem}`);
    if (this.dim === undefined) this.dim = embedding.length;
    if (embedding.length !== this.dim || this.dim === 0) throw new H3lixError('DATA_INVALID', `embedding has ${embedding.length} values, expected ${this.dim}`);
    for (let i = 0; i < embedding.length; i++) {
      if (!Number.isFinite(embedding[i])) throw new H3lixError('DATA_INVALID', `embedding value ${i} is not finite`);
    }
    let stats = this.keys.get(key);
    if (!stats) {
      if (this.keys.size >= (this.opts.maxKeys ?? 1024)) throw new H3lixError('DATA_INVALID', `too many distinct signal keys (max ${this.opts.maxKeys ?? 1024})`);
      stats = { sum: new Float64Array(this.dim), count: 0 };
      this.keys.set(key, stats);
    }
    const clipped = clipL2(embedding, this.opts.clipNorm);
    for (let i = 0; i < clipped.length; i++) stats.sum[i] = stats.sum[i]! + clipped[i]!;
    stats.count++;
    this.newExamples++;
  }

  /** Local (private) clipped statistics per key. Never published as is. */
  local(): ReadonlyMap<string, KeyStats> {
    return this.keys;
  }

  /** Examples added since the last release. */
  pending(): number {
    return this.newExamples;
  }

  /** Embedding dimension (undefined until the first example). */
  dimension(): number | undefined {
    return this.dim;
  }

  /**
   * Release noised sums/counts of all local keys plus `publicKeys` (keys already in the field, so
   * the set of computed keys does not itself reveal which keys this node holds). Charges the
   * accountant once. Skips (no charge) when no example arrived since the last release; returns
   * `skipped: 'budget-spent'` (and publishes nothing) when the budget cannot afford it.
   */
  release(publicKeys: Iterable<string> = []): ReleaseResult {
    const acc = this.opts.accountant;
    if (this.newExamples === 0 || this.dim === undefined) return { published: [], withheld: [], skipped: 'no-new-data', epsilon: acc.spentEpsilon() };
    try {
      acc.charge(releaseCost(this.opts.noiseMultiplier, this.opts.minCount));
    } catch (err) {
      if (err instanceof H3lixError && err.code === 'PRIVACY_BUDGET_SPENT') return { published: [], withheld: [], skipped: 'budget-spent', epsilon: acc.spentEpsilon() };
      throw err;
    }
    const all = new Set<string>([...this.keys.keys()]);
    for (const k of publicKeys) if (nameProblem(k) === undefined) all.add(k);
    const published: ReleasedSignal[] = [];
    const withheld: string[] = [];
    const zero = new Float64Array(this.dim);
    for (const key of [...all].sort()) {
      const stats = this.keys.get(key);
      const noised = gaussianRelease(stats?.sum ?? zero, stats?.count ?? 0, this.opts);
      if (noised.count >= this.opts.minCount) published.push({ key, sum: noised.sum, count: noised.count });
      else withheld.push(key);
    }
    this.newExamples = 0;
    return { published, withheld, epsilon: acc.spentEpsilon() };
  }
}
