import type { VersionVector } from '../ccf/types.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { aheadOf, type CoverageRanges } from './sync-vector.js';
import { bucketOf, bucketsBehind, bucketsDiffering, VectorSummarizer, type VectorSummary } from './vector-summary.js';

/** Peers that answer one want in a large fleet (about this many, picked by the want's nonce). */
export const ANSWERERS_PER_WANT = 8;

/** A want's scope: only these buckets (absent: the whole vector), and the nonce choosing answerers. */
export interface WantScope {
  buckets?: readonly number[];
  nonce?: number;
}

/** What the planner needs to know about our own state. */
export interface LocalSummary {
  /** Our sync vector (see sync-vector.ts). */
  sync: VersionVector;
  /** Our state digest (hex). */
  digest: string;
}

/**
 * Options for {@link AntiEntropy}.
 * - `self`: our node id. Required.
 * - `clock`: timers. Required.
 * - `local()`: our current sync vector and digest. Required.
 * - `respond(need)`: publish every contribution of each origin `o` in `need` with version > need[o].
 * - `want()`: publish our want (our sync vector).
 * - `jitterMs`: J. A node that can help waits uniform [0, W) with W = J × min(8, ceil(peers / 10))
 *   and sends only what nobody has sent meanwhile (with 40 possible helpers and a fixed window, the
 *   chance that two fire within one delivery latency grows with the fleet, so the window does too).
 *   Default 400.
 * - `settleMs`: a peer's digest only counts as lacking a version we held at least this long *before
 *   the digest was sent* (its envelope HLC): a digest that lags a version we got just before it was
 *   sent was most likely overtaken by the live delta, and answering it would multiply traffic by the
 *   fleet size (if the lag is real, the peer's next digest shows it again). Wants wait this long
 *   too. Default J.
 * - `quietWantMs`: a pending want is put off while our vector keeps advancing: each advance moves
 *   it to settle + jitter later, up to this long after it was first armed. Deltas still arriving
 *   (a heal under way, a slow link, a busy board working through its socket buffer) would
 *   otherwise answer a digest that is already being served with a want that wakes peers for
 *   nothing. Default 8 × J; 0 turns it off.
 * - `random`: default Math.random (tests inject a seeded one).
 */
export interface AntiEntropyOptions {
  self: string;
  clock: Clock;
  local: () => LocalSummary;
  respond: (need: VersionVector) => void;
  /** Publish a want: `buckets` restricts it to those summary buckets (absent: the whole vector). */
  want: (buckets?: number[]) => void;
  jitterMs?: number;
  settleMs?: number;
  quietWantMs?: number;
  random?: () => number;
}

export interface AntiEntropyStats {
  digestsSeen: number;
  /** Answers sent (deltas for lagging peers). */
  answers: number;
  wants: number;
  /** Answer timers that found everything already covered by someone else. */
  suppressed: number;
}

/**
 * Anti-entropy with suppression (DESIGN sections 3 and 7). Each peer's retained digest (and its
 * want) carries its sync vector; we remember, per lagging peer, what it covers. Every delta observed
 * on the wire (anyone's) advances those remembered vectors by its coverage ranges. Every node that
 * can help waits a random time in [0, J) and then sends, in one broadcast, everything the lagging
 * peers still miss (all origins, minimum over the peers): usually the first answer covers it all
 * and the others stay silent, so a heal costs about one answer per lagging peer instead of one per
 * (peer, helper) pair.
 */
export class AntiEntropy {
  readonly stats: AntiEntropyStats = { digestsSeen: 0, answers: 0, wants: 0, suppressed: 0 };
  private readonly opts: AntiEntropyOptions;
  private readonly lagging = new Map<string, VersionVector>();
  /** peer → the buckets its want was restricted to (absent: the whole vector). */
  private readonly laggingScope = new Map<string, Set<number>>();
  /** peer → its latest fixed-size digest summary. */
  private readonly summaries = new Map<string, VectorSummary>();
  private readonly summarizer = new VectorSummarizer();
  private localSummary: { key: string; of: VersionVector; summary: VectorSummary } | undefined;
  /**
   * Until this monotonic time (just after a (re)connect) every bucket that differs counts as one we
   * may lack, not only those where the peer's sum is not below ours: after a partition both sides
   * moved, a bucket can hold our own newer versions *and* the peer's, and the retained digests we get
   * on reconnect were published before the peers had ours.
   */
  private differUntil = -Infinity;
  /** peer → monotonic time its latest digest/want was sent (estimated from the envelope HLC). */
  private readonly sentAt = new Map<string, number>();
  private readonly peers = new Map<string, VersionVector>();
  private answerDue = Infinity;
  /**
   * peer → what we saw sent to it (coverage) and when. A digest it sent before those answers reached
   * it would otherwise make every node answer again; the belief expires after 4 J so a real loss
   * (it went offline) is retried.
   */
  private readonly assumed = new Map<string, { vv: VersionVector; at: number }>();
  private answerTimer: TimerHandle | undefined;
  private wantTimer: TimerHandle | undefined;
  /** When the pending want was first armed (monotonic), for the `quietWantMs` bound. */
  private wantArmedAt = 0;
  private stopped = false;
  /** origin → [version, monotonic ms when first seen locally], ascending, bounded. */
  private readonly history = new Map<string, Array<readonly [number, number]>>();

  constructor(opts: AntiEntropyOptions) {
    this.opts = opts;
  }

  private get jitter(): number {
    return this.opts.jitterMs ?? 400;
  }

  private get settle(): number {
    return this.opts.settleMs ?? this.jitter;
  }

  private rand(): number {
    return (this.opts.random ?? Math.random)();
  }

  /**
   * Sample our sync vector (call when it advances); returns the current summary. `origins`: only
   * these moved (a merged delta's advanced origins), so a busy fleet does not cost a pass over the
   * whole vector per message.
   */
  touch(origins?: readonly string[]): LocalSummary {
    const local = this.opts.local();
    const now = this.opts.clock.monotonic();
    const entries = origins ? origins.map((o) => [o, local.sync[o] ?? 0] as const) : Object.entries(local.sync);
    let moved = false;
    for (const [o, v] of entries) {
      let h = this.history.get(o);
      if (!h) this.history.set(o, (h = []));
      const last = h[h.length - 1];
      if (!last || v > last[0]) {
        h.push([v, now]);
        if (h.length > 32) h.splice(0, h.length - 32); // older entries are settled anyway
        moved = true;
      }
    }
    if (moved) this.postponeWant(now);
    return local;
  }

  /** Highest version of `origin` we already held at monotonic time `t` (0 when none). */
  private heldAt(origin: string, t: number): number {
    const h = this.history.get(origin);
    if (!h) return 0;
    let best = 0;
    for (const [v, at] of h) if (at <= t) best = v;
    return best;
  }

  /**
   * A peer's digest (or want: same content, an explicit request). `sentAgoMs`: how long ago the peer
   * sent it (from its HLC; default 0).
   */
  onPeerVector(peer: string, vv: VersionVector, digest?: string, sentAgoMs = 0, scope: WantScope = {}): void {
    if (this.stopped || peer === this.opts.self) return;
    this.stats.digestsSeen++;
    if (!scope.buckets) this.peers.set(peer, { ...vv });
    else if (!this.peers.has(peer)) this.peers.set(peer, {});
    if (scope.nonce !== undefined && !this.answersFor(peer, scope.nonce)) return;
    const local = this.touch();
    this.sentAt.set(peer, this.opts.clock.monotonic() - Math.max(0, sentAgoMs));
    if (digest !== undefined && digest === local.digest) {
      this.lagging.delete(peer);
      return;
    }
    const effective = { ...vv };
    const a = this.assumed.get(peer);
    if (a && this.opts.clock.monotonic() - a.at < 4 * this.jitter) {
      for (const [o, v] of Object.entries(a.vv)) if (v > (effective[o] ?? 0)) effective[o] = v;
    }
    const within = scope.buckets ? new Set(scope.buckets) : undefined;
    if (within) this.laggingScope.set(peer, within);
    else this.laggingScope.delete(peer);
    if (this.aheadFor(local.sync, effective, within).length) {
      this.lagging.set(peer, effective);
      this.armAnswer(this.rand() * this.window());
    } else this.lagging.delete(peer);
    if (aheadOf(vv, local.sync).length) this.armWant();
  }

  /**
   * A peer's fixed-size digest (issue 10): it says *where* the peer differs, not what it holds. Only
   * the side that lacks acts on it: a bucket where the peer is not behind but differs means we may
   * miss something there, and a want restricted to those buckets (the drill-down) brings it. A peer
   * that lacks what we hold finds out from our digest the same way, so nobody answers a digest.
   */
  onPeerSummary(peer: string, summary: VectorSummary, digest: string, sentAgoMs = 0): void {
    if (this.stopped || peer === this.opts.self) return;
    this.stats.digestsSeen++;
    if (!this.peers.has(peer)) this.peers.set(peer, {});
    this.summaries.set(peer, summary);
    this.sentAt.set(peer, this.opts.clock.monotonic() - Math.max(0, sentAgoMs));
    const local = this.opts.local(); // the history is kept current by touch() where the vector moves
    // Buckets first: the field digest hashes every contribution held and is recomputed after each
    // merge, so during a heal it is worth computing only when the summary says we may lack something.
    if (!this.lacking(this.summary(local.sync), summary).length) return;
    if (digest !== local.digest) this.armWant();
  }

  /** We (re)connected: the digests that follow are compared for any difference for a while. */
  onConnected(): void {
    this.differUntil = this.opts.clock.monotonic() + 4 * this.settle + 2 * this.jitter;
  }

  private lacking(mine: VectorSummary, peer: VectorSummary): number[] {
    return this.opts.clock.monotonic() < this.differUntil ? bucketsDiffering(mine, peer) : bucketsBehind(mine, peer);
  }

  /** Our own summary, recomputed only when the sync vector moved (it only grows: size + sum change). */
  summary(sync: VersionVector = this.opts.local().sync): VectorSummary {
    // a frozen vector (SyncVector.snapshot(), shared until the vector changes) cannot have moved
    if (this.localSummary?.of === sync && Object.isFrozen(sync)) return this.localSummary.summary;
    let total = 0;
    let n = 0;
    for (const v of Object.values(sync)) {
      total += v;
      n++;
    }
    const key = `${n}:${total}`;
    if (this.localSummary?.key !== key) this.localSummary = { key, of: sync, summary: this.summarizer.summarize(sync) };
    else this.localSummary.of = sync;
    return this.localSummary.summary;
  }

  /** Origins where `local` is ahead of `peer`, within `buckets` when given. */
  private aheadFor(local: VersionVector, peer: VersionVector, buckets: Set<number> | undefined): string[] {
    const ahead = aheadOf(local, peer);
    return buckets ? ahead.filter((o) => buckets.has(bucketOf(o))) : ahead;
  }

  /**
   * Whether we are one of the peers that answer `peer`'s want with `nonce`: in a fleet of more than
   * ANSWERERS_PER_WANT × 2 peers, about ANSWERERS_PER_WANT of them (a hash of peer, self and nonce),
   * so a want does not wake the whole fleet. A new nonce on every want picks new answerers, so a want
   * nobody could answer is answered by others next time.
   */
  private answersFor(peer: string, nonce: number): boolean {
    const n = this.peers.size;
    if (n <= 2 * ANSWERERS_PER_WANT) return true;
    let h = 0x811c9dc5 ^ nonce;
    for (const s of [peer, '\0', this.opts.self]) for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    return (h >>> 0) % Math.ceil(n / ANSWERERS_PER_WANT) === 0;
  }

  /** Known peers (digests, wants). */
  peerCount(): number {
    return this.peers.size;
  }

  /** A peer went offline (death): stop answering for it. */
  onPeerOffline(peer: string): void {
    this.lagging.delete(peer);
    this.laggingScope.delete(peer);
    this.summaries.delete(peer);
    this.peers.delete(peer);
    this.sentAt.delete(peer);
    this.assumed.delete(peer);
  }

  /** Coverage of a delta seen on the wire (ours or anyone's): every online peer received it too. */
  onCoverage(ranges: CoverageRanges): void {
    const now = this.opts.clock.monotonic();
    for (const [peer, vv] of this.lagging) {
      let moved = false;
      for (const [o, [base, upto]] of Object.entries(ranges)) {
        const have = vv[o] ?? 0;
        if (have >= base && upto > have) {
          vv[o] = upto;
          moved = true;
        }
      }
      if (moved) this.assumed.set(peer, { vv: { ...vv }, at: now });
    }
  }

  private armAnswer(delay: number): void {
    if (this.stopped) return;
    const now = this.opts.clock.monotonic();
    if (this.answerTimer && now + delay >= this.answerDue) return;
    if (this.answerTimer) this.opts.clock.clearTimeout(this.answerTimer);
    this.answerDue = now + delay;
    this.answerTimer = this.opts.clock.setTimeout(() => {
      this.answerTimer = undefined;
      this.answerDue = Infinity;
      this.answer();
    }, delay);
  }

  /** The answer window: J scaled by the number of peers that could answer too. */
  window(): number {
    return this.jitter * Math.min(8, Math.max(1, Math.ceil(this.peers.size / 10)));
  }

  /** Our vector advanced: a pending want waits for the deliveries to stop (see `quietWantMs`). */
  private postponeWant(now: number): void {
    if (!this.wantTimer || this.stopped) return;
    const quiet = this.opts.quietWantMs ?? 8 * this.jitter;
    if (now - this.wantArmedAt >= quiet) return;
    this.opts.clock.clearTimeout(this.wantTimer);
    this.wantTimer = undefined;
    this.scheduleWant(Math.min(this.settle + this.rand() * this.jitter, this.wantArmedAt + quiet - now));
  }

  private armWant(): void {
    if (this.wantTimer || this.stopped) return;
    this.wantArmedAt = this.opts.clock.monotonic();
    this.scheduleWant(this.settle + this.rand() * this.jitter);
  }

  private scheduleWant(delay: number): void {
    this.wantTimer = this.opts.clock.setTimeout(() => {
      this.wantTimer = undefined;
      if (this.stopped) return;
      const local = this.touch();
      for (const vv of this.peers.values()) {
        if (aheadOf(vv, local.sync).length) {
          this.stats.wants++;
          this.opts.want();
          return;
        }
      }
      const mine = this.summary(local.sync);
      const buckets = new Set<number>();
      for (const s of this.summaries.values()) for (const b of this.lacking(mine, s)) buckets.add(b);
      if (buckets.size) {
        this.stats.wants++;
        // a want nobody answers (lost, or its answerers lacked it too) is asked again on the next digest
        this.opts.want([...buckets].sort((a, b) => a - b));
      }
    }, delay);
  }

  /** Send what lagging peers still miss (versions they should have had when they spoke), in one broadcast. */
  private answer(): void {
    if (this.stopped) return;
    const local = this.touch();
    const need: VersionVector = {};
    for (const [peer, vv] of this.lagging) {
      const ahead = this.aheadFor(local.sync, vv, this.laggingScope.get(peer));
      if (!ahead.length) {
        this.lagging.delete(peer);
        continue;
      }
      const cutoff = (this.sentAt.get(peer) ?? this.opts.clock.monotonic()) - this.settle;
      for (const o of ahead) {
        // what it lacks arrived here only just before it spoke: probably in flight to it too
        if ((vv[o] ?? 0) >= this.heldAt(o, cutoff)) continue;
        need[o] = Math.min(need[o] ?? Number.MAX_SAFE_INTEGER, vv[o] ?? 0);
      }
    }
    if (!Object.keys(need).length) {
      this.stats.suppressed++;
      return;
    }
    this.stats.answers++;
    this.opts.respond(need);
    const ranges: CoverageRanges = {};
    for (const [o, base] of Object.entries(need)) ranges[o] = [base, local.sync[o] ?? 0];
    this.onCoverage(ranges);
  }

  stop(): void {
    this.stopped = true;
    for (const t of [this.answerTimer, this.wantTimer]) if (t) this.opts.clock.clearTimeout(t);
    this.answerTimer = this.wantTimer = undefined;
  }
}
