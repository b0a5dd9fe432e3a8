import type { CcfField } from '../ccf/field.js';
import { canonicalVector } from '../ccf/quantize.js';
import type { Contribution, Quantization } from '../ccf/types.js';
import { H3lixError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { KeyResolver, LearningKeyResolver } from './key-resolver.js';

/** Origins that stand for a whole site (docs/sync.md "Site aggregates"). Board ids start with `n`. */
export const SITE_ORIGIN_PREFIX = 'site-';

const SITE_NAME = /^[A-Za-z0-9_-]{1,59}$/;

/** The origin id of site `name` (`site-<name>`); CONFIG_INVALID for a name that is no topic segment. */
export function siteOrigin(name: string): string {
  if (!SITE_NAME.test(name)) throw new H3lixError('CONFIG_INVALID', `site name must be 1-59 of [A-Za-z0-9_-], got ${JSON.stringify(name)}`);
  return `${SITE_ORIGIN_PREFIX}${name}`;
}

/** True for a site origin (`site-<name>`). */
export function isSiteOrigin(origin: string): boolean {
  return origin.startsWith(SITE_ORIGIN_PREFIX);
}

/**
 * Options of {@link SiteAggregator}.
 * - `source`: a field holding the site's boards' contributions (the gateway's own board field).
 *   Required.
 * - `target`: the site origin's field (`nodeId` = `siteOrigin(name)`), synced at fleet level by a
 *   CcfSync signed with the gateway's key. Required.
 * - `clock`: for the value's age decay. Required.
 * - `members(origin)`: which origins of `source` are this site's boards. Default: every origin that
 *   is not a site origin.
 * - `quantization`: the target field's quantization (to tell an unchanged value). Default 'int8'.
 * - `unsafeNoRobust`: TEST-ONLY negative control: the site value becomes the plain count-weighted
 *   mean of the boards' raw means (no clip, no weight cap, no trim), so one board can set it.
 *   Default false.
 */
export interface SiteAggregatorOptions {
  source: CcfField;
  target: CcfField;
  clock: Clock;
  members?: (origin: string) => boolean;
  quantization?: Quantization;
  unsafeNoRobust?: boolean;
}

/**
 * A site gateway's aggregation step: per key, the site contribution computed from its boards'
 * contributions with the field's own robust value (per-origin clip to `ccf.clipNorm`, weight cap
 * `ccf.maxOriginShare`, trimmed mean or median), so one board moves the site value by at most its
 * bounded share (docs/ccf.md). The site count is (boards with count > 0) × their median count: a board
 * claiming a huge count cannot inflate its site's weight. Published as one origin, the site origin,
 * only when the canonical value changed.
 */
export class SiteAggregator {
  private readonly o: SiteAggregatorOptions;
  private readonly members: (origin: string) => boolean;
  /** Keys the last `aggregate` published, for the bench. */
  readonly stats = { runs: 0, published: 0 };

  constructor(o: SiteAggregatorOptions) {
    this.o = o;
    this.members = o.members ?? ((origin) => !isSiteOrigin(origin));
  }

  /** The site value and count of `key` at `nowMs` (undefined when no board contributed). */
  siteValue(key: string, nowMs: number): { mean: Float32Array; count: number } | undefined {
    const points: Contribution[] = [];
    for (const origin of this.o.source.origins()) {
      if (!this.members(origin) || this.o.source.isExcluded(origin)) continue;
      const c = this.o.source.get(origin, key);
      if (c && c.count > 0) points.push(c);
    }
    if (!points.length) return undefined;
    if (this.o.unsafeNoRobust) return pooledMean(points);
    const mean = this.o.source.value(key, nowMs, (origin) => this.members(origin));
    if (!mean) return undefined;
    const counts = points.map((c) => c.count).sort((a, b) => a - b);
    const mid = counts.length >> 1;
    const median = counts.length % 2 ? counts[mid]! : (counts[mid - 1]! + counts[mid]!) / 2;
    return { mean, count: points.length * median };
  }

  /** Recompute every key and contribute the changed ones to the site origin; returns keys published. */
  aggregate(): number {
    const now = this.o.clock.now();
    const keys = new Set<string>();
    for (const c of this.o.source.contributions()) if (this.members(c.origin)) keys.add(c.key);
    let published = 0;
    for (const key of [...keys].sort()) {
      const v = this.siteValue(key, now);
      if (!v) continue;
      const sum = v.mean.map((x) => x * v.count);
      const cur = this.o.target.get(this.o.target.nodeId, key);
      if (cur && cur.count === Math.fround(v.count) && sameVector(cur.sum, canonicalVector(sum, this.o.quantization ?? 'int8'))) continue;
      this.o.target.contributeLocal(key, sum, v.count);
      published++;
    }
    this.stats.runs++;
    this.stats.published += published;
    return published;
  }
}

/** Σ sum / Σ count, unclipped: the test-only unsafe site value. */
function pooledMean(points: Contribution[]): { mean: Float32Array; count: number } {
  const dim = points[0]!.sum.length;
  const acc = new Float64Array(dim);
  let count = 0;
  for (const c of points) {
    if (c.sum.length !== dim) continue;
    for (let i = 0; i < dim; i++) acc[i]! += c.sum[i]!;
    count += c.count;
  }
  return { mean: Float32Array.from(acc, (x) => x / count), count };
}

function sameVector(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A key resolver for a fleet with site aggregates: a site origin's key is pinned (the gateway's key,
 * from the fleet's records, as a fleet certificate would name it) and never learned from presence;
 * every other sender is resolved by `inner`.
 */
export class SiteKeyResolver implements LearningKeyResolver {
  readonly requireOriginSignatures: boolean;

  constructor(
    private readonly inner: KeyResolver & Partial<LearningKeyResolver>,
    private readonly sites: ReadonlyMap<string, Uint8Array>,
  ) {
    this.requireOriginSignatures = inner.requireOriginSignatures === true;
  }

  resolve(from: string): Uint8Array | undefined {
    return isSiteOrigin(from) ? this.sites.get(from) : this.inner.resolve(from);
  }

  learn(node: string, publicKey: Uint8Array, certificate?: Uint8Array): boolean {
    if (isSiteOrigin(node)) return this.sites.has(node) && Buffer.from(this.sites.get(node)!).equals(Buffer.from(publicKey));
    return typeof this.inner.learn === 'function' ? this.inner.learn(node, publicKey, certificate) : false;
  }
}
