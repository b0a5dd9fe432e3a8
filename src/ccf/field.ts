import { createHash } from 'node:crypto';
import type { H3lixConfig } from '../config/schema.js';
import { H3lixError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { compareContributions, compareSlot, contributionProblem, f32Bytes, storedCopy } from './canonical.js';
import { CborWriter, Float32Value } from './codec/cbor.js';
import { HybridLogicalClock } from './hlc.js';
import { checkName } from './limits.js';
import { canonicalCount, canonicalVector } from './quantize.js';
import { clippedMean, decay, robustCombine, type OriginPoint } from './robust.js';
import type { Contribution, Quantization, VersionVector } from './types.js';

/** Options of {@link CcfField}. */
export interface CcfFieldOptions {
  /** This node's id: the origin of `contributeLocal`. Required. */
  nodeId: string;
  /** Wall clock for HLC stamps. Required. */
  clock: Clock;
  /** The `ccf:` config section. Required. */
  config: H3lixConfig['ccf'];
  /** Canonical quantization of local vectors (`sync`/fleet config). Required. */
  quantization: Quantization;
  /** Shared HLC; default a new HybridLogicalClock on `clock`. */
  hlc?: HybridLogicalClock;
  /** Logger; default none (no logging). */
  logger?: Logger;
  /**
   * Origins that must not count (fleet mode: revoked nodes, `FleetNode.isRevoked`). Their
   * contributions are skipped by `merge`, left out of `value` and of `deltaSince` (anti-entropy
   * relays), but ones already held stay in `contributions()`/`digest()` until compaction. Never applied
   * to this node's own origin. Default: none excluded. Replace later with `setExclude`.
   */
  exclude?: (origin: string) => boolean;
}

type Listener = (changed: Contribution[]) => void;

/**
 * The Collective Context Field (DESIGN 3): for each (origin, key) the latest contribution, merged by a
 * join (higher version wins, ties broken by a total order), so state converges to byte-identical
 * contents on every node regardless of delivery order, duplicates or replays. Holds no timers.
 */
export class CcfField {
  private readonly slots = new Map<string, Map<string, Contribution>>(); // origin -> key -> contribution
  private readonly listeners = new Set<Listener>();
  /** Compacted origins -> highest version dropped: older copies relayed later are not resurrected. */
  private readonly tombstones = new Map<string, number>();
  private local = 0;
  private cachedDigest: string | undefined;
  /** origin -> its digest entry, CBOR [origin, {@link originHash}] ({@link originEntry}); dropped on change. */
  private readonly originEntries = new Map<string, Buffer>();
  /** The origins held, sorted; dropped when an origin is added or removed. */
  private sortedOrigins: string[] | undefined;
  private exclude: ((origin: string) => boolean) | undefined;
  readonly nodeId: string;
  readonly hlc: HybridLogicalClock;

  constructor(private readonly options: CcfFieldOptions) {
    this.nodeId = checkName(options.nodeId, 'nodeId');
    this.hlc = options.hlc ?? new HybridLogicalClock({ clock: options.clock });
    this.exclude = options.exclude;
  }

  /** Replace the excluded-origin predicate (see `CcfFieldOptions.exclude`); `undefined` clears it. */
  setExclude(fn: ((origin: string) => boolean) | undefined): void {
    this.exclude = fn;
  }

  /** True when `origin` is excluded (never this node's own origin). */
  isExcluded(origin: string): boolean {
    return origin !== this.nodeId && this.exclude !== undefined && this.exclude(origin);
  }

  /** Publish this node's canonical contribution for `key`; bumps the local version counter. */
  contributeLocal(key: string, sum: Float32Array, count: number): Contribution {
    const raw: Contribution = { origin: this.nodeId, key, sum, count, version: this.local + 1, hlc: this.hlc.peek() };
    const rawProblem = contributionProblem(raw);
    if (rawProblem) throw new H3lixError('DATA_INVALID', `local contribution for ${JSON.stringify(key)}: ${rawProblem}`);
    const c: Contribution = {
      origin: this.nodeId,
      key,
      sum: canonicalVector(sum, this.options.quantization),
      count: canonicalCount(count),
      version: this.local + 1,
      hlc: this.hlc.now(),
    };
    const problem = contributionProblem(c);
    if (problem) throw new H3lixError('DATA_INVALID', `local contribution for ${JSON.stringify(key)}: ${problem}`);
    this.local = c.version;
    this.put(c);
    this.emit([c]);
    return c;
  }

  /**
   * Join `contributions` into the field; returns those that changed the state (in input order).
   * Invalid contributions are skipped (and logged), never thrown: callers feed wire data here.
   */
  merge(contributions: Iterable<Contribution>): Contribution[] {
    const changed: Contribution[] = [];
    for (const c of contributions) {
      const problem = contributionProblem(c);
      if (problem) {
        this.options.logger?.warn({ origin: String(c?.origin), key: String(c?.key) }, `ccf: contribution skipped: ${problem}`);
        continue;
      }
      // Our own contribution relayed back with a version above our counter (the store was reset, e.g. a
      // corrupt DB moved aside): never reuse a version, or peers would keep the old one and drop ours.
      if (c.origin === this.nodeId && c.version > this.local) this.local = c.version;
      if (this.isExcluded(c.origin)) continue;
      const dead = this.tombstones.get(c.origin);
      if (dead !== undefined && c.version <= dead) continue;
      // normalize first (-0 -> +0, float32 count) so comparison sees exactly what would be stored
      const stored = storedCopy(c);
      const cur = this.slots.get(c.origin)?.get(c.key);
      if (cur && compareContributions(stored, cur) <= 0) continue;
      this.put(stored);
      changed.push(stored);
    }
    if (changed.length > 0) {
      for (const c of changed) this.hlc.observe(c.hlc);
      this.emit(changed);
    }
    return changed;
  }

  private put(c: Contribution): void {
    let m = this.slots.get(c.origin);
    if (!m) {
      this.slots.set(c.origin, (m = new Map()));
      this.sortedOrigins = undefined;
    }
    m.set(c.key, c);
    this.cachedDigest = undefined;
    this.originEntries.delete(c.origin);
  }

  private emit(changed: Contribution[]): void {
    for (const fn of this.listeners) {
      try {
        fn(changed);
      } catch (err) {
        this.options.logger?.error({ err }, 'ccf: onChange listener threw');
      }
    }
  }

  /** All contributions in canonical order (origin, then key). */
  contributions(): Contribution[] {
    const out: Contribution[] = [];
    for (const m of this.slots.values()) for (const c of m.values()) out.push(c);
    return out.sort(compareSlot);
  }

  get(origin: string, key: string): Contribution | undefined {
    return this.slots.get(origin)?.get(key);
  }

  /** Keys with at least one contribution, sorted. */
  keys(): string[] {
    const s = new Set<string>();
    for (const m of this.slots.values()) for (const k of m.keys()) s.add(k);
    return [...s].sort();
  }

  origins(): string[] {
    return [...this.slots.keys()].sort();
  }

  /** origin -> highest version held. */
  versionVector(): VersionVector {
    const vv: VersionVector = {};
    for (const [origin, m] of this.slots) {
      let max = 0;
      for (const c of m.values()) if (c.version > max) max = c.version;
      vv[origin] = max;
    }
    return vv;
  }

  /** Contributions with version above the peer's vector entry for their origin, canonical order. */
  deltaSince(vv: VersionVector): Contribution[] {
    const out: Contribution[] = [];
    for (const [origin, m] of this.slots) {
      if (this.isExcluded(origin)) continue;
      const seen = Object.prototype.hasOwnProperty.call(vv, origin) ? (vv[origin] ?? 0) : 0;
      for (const c of m.values()) if (c.version > seen) out.push(c);
    }
    return out.sort(compareSlot);
  }

  /**
   * The state digest (definition: {@link digestOfOrigins}): a hash over the sorted (origin, origin hash)
   * list, where only origins changed since the last call are re-hashed, so after one change it costs
   * O(that origin's keys + origins), not O(all contributions encoded). Cached until a change.
   */
  digest(): string {
    if (this.cachedDigest !== undefined) return this.cachedDigest;
    const origins = (this.sortedOrigins ??= [...this.slots.keys()].sort());
    const entries: Buffer[] = [];
    for (const origin of origins) {
      let e = this.originEntries.get(origin);
      if (e === undefined) {
        e = originEntry(origin, originHash([...this.slots.get(origin)!.values()].sort(compareSlot)));
        this.originEntries.set(origin, e);
      }
      entries.push(e);
    }
    this.cachedDigest = combineEntries(entries);
    return this.cachedDigest;
  }

  /** Number of (origin, key) slots held. */
  size(): number {
    let n = 0;
    for (const m of this.slots.values()) n += m.size;
    return n;
  }

  /**
   * The robust value of `key` at `nowMs` (DESIGN 3; see docs/ccf.md for the poisoning bound).
   * `accept`, when given, decides per origin whether its clipped mean takes part (the conditioning
   * layer's plausibility gate, docs/evaluation.md); the field itself knows nothing about what it means.
   */
  value(key: string, nowMs: number, accept?: (origin: string, key: string, mean: Float64Array) => boolean): Float32Array | undefined {
    const cfg = this.options.config;
    const byDim = new Map<number, OriginPoint[]>();
    for (const origin of this.origins()) {
      if (this.isExcluded(origin)) continue;
      const c = this.slots.get(origin)!.get(key);
      if (!c) continue;
      const mean = clippedMean(c, cfg.clipNorm);
      if (!mean) continue;
      if (accept && !accept(origin, key, mean)) continue;
      const d = decay(c.hlc.wall, nowMs, cfg.halfLifeSeconds);
      let list = byDim.get(mean.length);
      if (!list) byDim.set(mean.length, (list = []));
      list.push({ origin, mean, count: c.count, decay: d });
    }
    // origins disagreeing on dimension: use the dimension most origins use (ties: the smaller)
    let best: OriginPoint[] | undefined;
    for (const [, list] of [...byDim].sort((a, b) => a[0] - b[0])) if (!best || list.length > best.length) best = list;
    if (!best) return undefined;
    // default the share cap for config objects built by hand (older callers without the key)
    return robustCombine(best, { ...cfg, maxOriginShare: cfg.maxOriginShare ?? 0.1 });
  }

  /** Drop origins whose newest hlc.wall is older than retentionSeconds; returns origins removed. */
  compact(nowMs: number): number {
    const horizon = nowMs - this.options.config.retentionSeconds * 1000;
    let removed = 0;
    for (const [origin, m] of [...this.slots]) {
      if (origin === this.nodeId) continue;
      let newest = -Infinity;
      let maxVersion = 0;
      for (const c of m.values()) {
        newest = Math.max(newest, c.hlc.wall);
        maxVersion = Math.max(maxVersion, c.version);
      }
      if (newest < horizon) {
        this.slots.delete(origin);
        this.tombstones.set(origin, Math.max(this.tombstones.get(origin) ?? 0, maxVersion));
        this.originEntries.delete(origin);
        this.sortedOrigins = undefined;
        removed++;
      }
    }
    if (removed > 0) this.cachedDigest = undefined;
    return removed;
  }

  /** This node's version counter (persist it with the contributions). */
  localVersion(): number {
    return this.local;
  }

  /** Replace the state with persisted contributions (no onChange); invalid ones are skipped. */
  restore(contributions: Contribution[], localVersion: number): void {
    this.slots.clear();
    this.originEntries.clear();
    this.sortedOrigins = undefined;
    this.cachedDigest = undefined;
    this.local = Number.isSafeInteger(localVersion) && localVersion > 0 ? localVersion : 0;
    const listeners = [...this.listeners];
    this.listeners.clear();
    try {
      this.merge(contributions);
    } finally {
      for (const l of listeners) this.listeners.add(l);
    }
  }

  /** Subscribe to state changes (merge and contributeLocal); returns the unsubscribe. */
  onChange(fn: (changed: Contribution[]) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

/** One contribution as the digest encodes it: [origin, key, version, hlc.wall, hlc.logical, count as float32, sum bytes]. */
function writeItem(w: CborWriter, c: Contribution): void {
  w.head(4, 7);
  w.text(c.origin);
  w.text(c.key);
  w.int(c.version);
  w.int(c.hlc.wall);
  w.int(c.hlc.logical);
  w.value(new Float32Value(c.count));
  w.bytes(f32Bytes(c.sum));
}

/**
 * The old (pre-session-4) full digest, kept as the measured baseline of `bench/ccf.bench.ts` and no
 * longer what `CcfField.digest()` returns: for each contribution in (origin, key) order the CBOR array
 * of {@link writeItem}, all inside one CBOR array; sha256 of that, hex. O(all contributions) per call.
 */
export function digestOf(sorted: Contribution[]): string {
  const w = new CborWriter(64 + sorted.length * 64);
  w.head(4, sorted.length);
  for (const c of sorted) writeItem(w, c);
  return createHash('sha256').update(w.finish()).digest('hex');
}

/**
 * The origin hash: sha256 (raw 32 bytes) of the CBOR array of one origin's contributions in key order,
 * each encoded as in {@link digestOf} (so the origin name, every key, version, hlc, count and sum bytes
 * are covered).
 */
export function originHash(sortedOfOneOrigin: Contribution[]): Buffer {
  const w = new CborWriter(16 + sortedOfOneOrigin.length * 64);
  w.head(4, sortedOfOneOrigin.length);
  for (const c of sortedOfOneOrigin) writeItem(w, c);
  return createHash('sha256').update(w.finish()).digest();
}

/** One origin's digest entry: the CBOR array [origin, originHash bytes]. */
function originEntry(origin: string, hash: Buffer): Buffer {
  const w = new CborWriter(48 + origin.length * 3);
  w.head(4, 2);
  w.text(origin);
  w.bytes(hash);
  return Buffer.from(w.finish());
}

/** sha256 hex of the CBOR array of the entries (already in sorted origin order). */
function combineEntries(entries: Buffer[]): string {
  const head = new CborWriter(16);
  head.head(4, entries.length);
  return createHash('sha256').update(head.finish()).update(Buffer.concat(entries)).digest('hex');
}

/**
 * The state digest as `CcfField.digest()` defines it (docs/ccf.md "Digest"), computed from scratch:
 * group the contributions by origin, hash each origin ({@link originHash}), then sha256 hex of the CBOR
 * array of [origin, originHash] pairs in origin order. Equal contents give equal digests whatever the
 * merge order; `CcfField` caches the origin hashes so only changed origins are re-hashed.
 */
export function digestOfOrigins(contributions: Contribution[]): string {
  const byOrigin = new Map<string, Contribution[]>();
  for (const c of contributions) {
    let l = byOrigin.get(c.origin);
    if (!l) byOrigin.set(c.origin, (l = []));
    l.push(c);
  }
  const origins = [...byOrigin.keys()].sort();
  return combineEntries(origins.map((o) => originEntry(o, originHash(byOrigin.get(o)!.sort(compareSlot)))));
}
