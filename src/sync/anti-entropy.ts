import type { VersionVector } from '../ccf/types.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { aheadOf, type CoverageRanges } from './sync-vector.js';

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
 * - `jitterMs`: the response window. Owners answer for their own origin within [0, J/4); relays
 *   answer for other origins within [J, 2J) if nobody covered them first; wants go out after [2J, 3J)
 *   if a peer still claims versions we lack. Default 400.
 * - `settleMs`: answer only for versions we have held at least this long: a peer whose digest lags a
 *   version we got 50 ms ago is most likely still receiving it (the live delta is in flight), and
 *   answering would multiply traffic by the fleet size. Default 3 × jitterMs.
 * - `random`: default Math.random (tests inject a seeded one).
 */
export interface AntiEntropyOptions {
  self: string;
  clock: Clock;
  local: () => LocalSummary;
  respond: (need: VersionVector) => void;
  want: () => void;
  jitterMs?: number;
  settleMs?: number;
  random?: () => number;
}

export interface AntiEntropyStats {
  digestsSeen: number;
  responses: number;
  relays: number;
  wants: number;
  suppressed: number;
}

/**
 * Anti-entropy with suppression (DESIGN section 3 and 7). Each peer's retained digest carries its sync
 * vector; we remember, per lagging peer, what it covers. Every delta observed on the wire (anyone's)
 * advances those remembered vectors by its coverage ranges, so by the time our jittered timer fires,
 * what another node already sent is not sent again. Origins answer for themselves first; relays only
 * fill in what is still missing. This keeps a 50-node heal from turning into N² messages.
 */
export class AntiEntropy {
  readonly stats: AntiEntropyStats = { digestsSeen: 0, responses: 0, relays: 0, wants: 0, suppressed: 0 };
  private readonly opts: AntiEntropyOptions;
  private readonly lagging = new Map<string, VersionVector>();
  private readonly peers = new Map<string, VersionVector>();
  private ownTimer: TimerHandle | undefined;
  private relayTimer: TimerHandle | undefined;
  private wantTimer: TimerHandle | undefined;
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
    return this.opts.settleMs ?? 3 * this.jitter;
  }

  /** Sample our sync vector (call when it advances); returns the current summary. */
  touch(): LocalSummary {
    const local = this.opts.local();
    const now = this.opts.clock.monotonic();
    for (const [o, v] of Object.entries(local.sync)) {
      let h = this.history.get(o);
      if (!h) this.history.set(o, (h = []));
      const last = h[h.length - 1];
      if (!last || v > last[0]) {
        h.push([v, now]);
        // keep the newest entries; older ones collapse into the oldest kept (still settled)
        if (h.length > 32) h.splice(0, h.length - 32);
      }
    }
    return local;
  }

  /** Highest version of `origin` we have held for at least settleMs (0 when none). */
  private settled(origin: string, now: number): number {
    const h = this.history.get(origin);
    if (!h) return 0;
    let best = 0;
    for (const [v, at] of h) if (now - at >= this.settle) best = v;
    return best;
  }

  private rand(): number {
    return (this.opts.random ?? Math.random)();
  }

  /** A peer's digest (or want: same content, an explicit request). */
  onPeerVector(peer: string, vv: VersionVector, digest?: string): void {
    if (this.stopped || peer === this.opts.self) return;
    this.stats.digestsSeen++;
    this.peers.set(peer, { ...vv });
    const local = this.touch();
    if (digest !== undefined && digest === local.digest) {
      this.lagging.delete(peer);
      return;
    }
    const ahead = aheadOf(local.sync, vv);
    if (ahead.length) {
      this.lagging.set(peer, { ...vv });
      if (ahead.includes(this.opts.self)) this.armOwn();
      if (ahead.some((o) => o !== this.opts.self)) this.armRelay();
    } else this.lagging.delete(peer);
    if (aheadOf(vv, local.sync).length) this.armWant();
  }

  /** A peer went offline (death): stop answering for it. */
  onPeerOffline(peer: string): void {
    this.lagging.delete(peer);
    this.peers.delete(peer);
  }

  /** Coverage of a delta seen on the wire (ours or anyone's): every online peer received it too. */
  onCoverage(ranges: CoverageRanges): void {
    for (const vv of this.lagging.values()) {
      for (const [o, [base, upto]] of Object.entries(ranges)) {
        const have = vv[o] ?? 0;
        if (have >= base && upto > have) vv[o] = upto;
      }
    }
  }

  private armOwn(extra = 0): void {
    if (this.ownTimer || this.stopped) return;
    this.ownTimer = this.opts.clock.setTimeout(() => {
      this.ownTimer = undefined;
      this.fire(true);
    }, extra + this.rand() * (this.jitter / 4));
  }

  private armRelay(extra = 0): void {
    if (this.relayTimer || this.stopped) return;
    this.relayTimer = this.opts.clock.setTimeout(() => {
      this.relayTimer = undefined;
      this.fire(false);
    }, extra + this.jitter + this.rand() * this.jitter);
  }

  private armWant(): void {
    if (this.wantTimer) return;
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
    }, this.settle + this.rand() * this.jitter);
  }

  /** Compute what lagging peers still miss and send it (own origin only, or everything). */
  private fire(ownOnly: boolean): void {
    if (this.stopped) return;
    const local = this.touch();
    const now = this.opts.clock.monotonic();
    const need: VersionVector = {};
    let unsettled = false;
    for (const [peer, vv] of this.lagging) {
      const ahead = aheadOf(local.sync, vv);
      if (!ahead.length) {
        this.lagging.delete(peer);
        continue;
      }
      for (const o of ahead) {
        if (ownOnly !== (o === this.opts.self)) continue;
        if ((vv[o] ?? 0) >= this.settled(o, now)) {
          unsettled = true; // what it lacks is recent: probably in flight to it right now
          continue;
        }
        need[o] = Math.min(need[o] ?? Number.MAX_SAFE_INTEGER, vv[o] ?? 0);
      }
    }
    if (unsettled) {
      // look again once those versions have settled (the peer's next digest may clear it first)
      if (ownOnly) this.armOwn(this.settle);
      else this.armRelay(this.settle);
    }
    if (!Object.keys(need).length) {
      this.stats.suppressed++;
      return;
    }
    if (ownOnly) this.stats.responses++;
    else this.stats.relays++;
    this.opts.respond(need);
    const ranges: CoverageRanges = {};
    for (const [o, base] of Object.entries(need)) ranges[o] = [base, local.sync[o] ?? 0];
    this.onCoverage(ranges);
  }

  stop(): void {
    this.stopped = true;
    for (const t of [this.ownTimer, this.relayTimer, this.wantTimer]) if (t) this.opts.clock.clearTimeout(t);
    this.ownTimer = this.relayTimer = this.wantTimer = undefined;
  }
}
