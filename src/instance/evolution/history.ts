/**
 * Bounded local history of labelled embeddings (never leaves the board). Per-class reservoir
 * sampling (Vitter 1985, Algorithm R) keeps at most `perClass` examples of each class, so a chatty
 * class cannot crowd the others out and memory stays bounded.
 */
import type { Rng } from '../../util/prng.js';

/** One remembered example. */
export interface LabelledEmbedding {
  label: string;
  embedding: Float32Array;
}

/** Options for `LocalHistory`. */
export interface LocalHistoryOptions {
  /** Examples kept per class. Default 256. */
  perClass?: number;
  /** Classes kept. Default 256. */
  maxClasses?: number;
  rng: Rng;
}

/** Per-class reservoirs of embeddings. */
export class LocalHistory {
  private readonly byClass = new Map<string, { seen: number; items: Float32Array[] }>();

  constructor(private readonly opts: LocalHistoryOptions) {}

  add(label: string, embedding: ArrayLike<number>): void {
    let r = this.byClass.get(label);
    if (!r) {
      if (this.byClass.size >= (this.opts.maxClasses ?? 256)) return;
      r = { seen: 0, items: [] };
      this.byClass.set(label, r);
    }
    r.seen++;
    const cap = this.opts.perClass ?? 256;
    const e = Float32Array.from(embedding as ArrayLike<number>);
    if (r.items.length < cap) r.items.push(e);
    else {
      const j = this.opts.rng.int(r.seen);
      if (j < cap) r.items[j] = e;
    }
  }

  /** All remembered examples. */
  examples(): LabelledEmbedding[] {
    const out: LabelledEmbedding[] = [];
    for (const [label, r] of this.byClass) for (const embedding of r.items) out.push({ label, embedding });
    return out;
  }

  classes(): string[] {
    return [...this.byClass.keys()].sort();
  }

  size(): number {
    let n = 0;
    for (const r of this.byClass.values()) n += r.items.length;
    return n;
  }

  /**
   * Pooled within-class standard deviation per coordinate, averaged to one isotropic value: the
   * spread used to draw synthetic samples around field means (the field carries means, not spreads).
   */
  pooledSpread(): number | undefined {
    let ss = 0;
    let dof = 0;
    for (const r of this.byClass.values()) {
      if (r.items.length < 2) continue;
      const d = r.items[0]!.length;
      const mean = new Float64Array(d);
      for (const e of r.items) for (let i = 0; i < d; i++) mean[i] = mean[i]! + e[i]! / r.items.length;
      for (const e of r.items) for (let i = 0; i < d; i++) ss += (e[i]! - mean[i]!) ** 2;
      dof += (r.items.length - 1) * d;
    }
    return dof > 0 ? Math.sqrt(ss / dof) : undefined;
  }
}
