import type { VersionVector } from '../ccf/types.js';

/** Per-origin coverage a delta claims: "I send every contribution of `origin` with version in (base, upto]". */
export type CoverageRanges = Record<string, readonly [base: number, upto: number]>;

/**
 * The *sync vector*: origin → highest version V such that this node holds every contribution of that
 * origin up to V. It differs from the field's version vector (highest version *seen*) when messages
 * were missed: a node that was partitioned and then receives a fresh delta holds version 9 of an
 * origin but may lack 5..8. Anti-entropy must compare sync vectors, or such gaps would never heal.
 * It advances only through contiguous coverage ranges; ranges that do not connect yet are kept and
 * chained when the gap closes (reordered deliveries).
 */
export class SyncVector {
  private readonly vv = new Map<string, number>();
  private readonly pending = new Map<string, Array<readonly [number, number]>>();
  /** The last `snapshot()`, reused until `vv` changes (every digest received asks for one). */
  private cached: VersionVector | undefined;

  constructor(initial: VersionVector = {}) {
    for (const [o, v] of Object.entries(initial)) if (Number.isSafeInteger(v) && v > 0) this.vv.set(o, v);
  }

  get(origin: string): number {
    return this.vv.get(origin) ?? 0;
  }

  /** Set an origin's coverage directly (our own origin: we hold all of our own contributions). */
  raise(origin: string, version: number): void {
    if (version > this.get(origin)) this.set(origin, version);
    this.chain(origin);
  }

  /** Apply a delta's coverage claim; returns the origins whose coverage advanced. */
  cover(ranges: CoverageRanges): string[] {
    const advanced: string[] = [];
    for (const [origin, [base, upto]] of Object.entries(ranges)) {
      if (!(upto > base) || upto <= this.get(origin)) continue;
      if (base <= this.get(origin)) {
        this.set(origin, upto);
        this.chain(origin);
        advanced.push(origin);
      } else {
        const list = this.pending.get(origin) ?? [];
        if (list.length < 64) list.push([base, upto]);
        this.pending.set(origin, list);
      }
    }
    return advanced;
  }

  private chain(origin: string): void {
    const list = this.pending.get(origin);
    if (!list) return;
    let progressed = true;
    while (progressed) {
      progressed = false;
      for (let i = list.length - 1; i >= 0; i--) {
        const [b, u] = list[i]!;
        const cur = this.get(origin);
        if (u <= cur) list.splice(i, 1);
        else if (b <= cur) {
          this.set(origin, u);
          list.splice(i, 1);
          progressed = true;
        }
      }
    }
    if (list.length === 0) this.pending.delete(origin);
  }

  /** Drop an origin (compacted away by retention). */
  forget(origin: string): void {
    if (this.vv.delete(origin)) this.cached = undefined;
    this.pending.delete(origin);
  }

  private set(origin: string, version: number): void {
    this.vv.set(origin, version);
    this.cached = undefined;
  }

  /**
   * The vector as a plain object, keys sorted. Frozen and shared: the same object is returned until
   * the vector changes (so callers may memoize on its identity), and a caller that tried to modify it
   * would throw instead of corrupting the next caller's view.
   */
  snapshot(): VersionVector {
    if (this.cached) return this.cached;
    const out: VersionVector = {};
    for (const k of [...this.vv.keys()].sort()) out[k] = this.vv.get(k)!;
    this.cached = Object.freeze(out);
    return this.cached;
  }
}

/** Origins where `a` covers more than `b`. */
export function aheadOf(a: VersionVector, b: VersionVector): string[] {
  return Object.keys(a).filter((o) => (a[o] ?? 0) > (b[o] ?? 0));
}
