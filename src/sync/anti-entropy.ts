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
 * - `random`: default Math.random (tests inject a seeded one).
 */
export interface AntiEntropyOptions {
  self: string;
  clock: Clock;
  local: () => LocalSummary;
  respond: (need: VersionVector) => void;
  want: () => void;
  jitterMs?: number;
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

  constructor(opts: AntiEntropyOptions) {
    this.opts = opts;
  }

  private get jitter(): number {
    return this.opts.jitterMs ?? 400;
  }

  private rand(): number {
    return (this.opts.random ?? Math.random)();
  }

  /** A peer's digest (or want: same content, an explicit request). */
  onPeerVector(peer: string, vv: VersionVector, digest?: string): void {
    if (this.stopped || peer === this.opts.self) return;
    this.stats.digestsSeen++;
    this.peers.set(peer, { ...vv });
    const local = this.opts.local();
    if (digest !== undefined && digest === local.digest) {
      this.lagging.delete(peer);
      return;
    }
    const ahead = aheadOf(local.sync, vv);
    if (ahead.length) {
      this.lagging.set(peer, { ...vv });
      if (ahead.includes(this.opts.self)) this.armOwn();
      if (ahead.some((o) => o !== this.opts.self)) this.armRelay();
    }
    if (aheadOf(vv, local.sync).length) this.armWant();
  }

  /** A peer went offline (death): stop answering for it. */
  onPeerOffline(peer: string): void {
    this.lagging.delete(peer);
    this.peers.delete(peer);
  }

  /** Coverage of a delta seen on the wire (ours or anyone's): every online peer received it too. */
  onCoverage(ranges: CoverageRanges): void {
    for (const vv of [...this.lagging.values(), ...this.peers.values()]) {
      for (const [o, [base, upto]] of Object.entries(ranges)) {
        const have = vv[o] ?? 0;
        if (have >= base && upto > have) vv[o] = upto;
      }
    }
  }

  private armOwn(): void {
    if (this.ownTimer) return;
    this.ownTimer = this.opts.clock.setTimeout(() => {
      this.ownTimer = undefined;
      this.fire(true);
    }, this.rand() * (this.jitter / 4));
  }

  private armRelay(): void {
    if (this.relayTimer) return;
    this.relayTimer = this.opts.clock.setTimeout(() => {
      this.relayTimer = undefined;
      this.fire(false);
    }, this.jitter + this.rand() * this.jitter);
  }

  private armWant(): void {
    if (this.wantTimer) return;
    this.wantTimer = this.opts.clock.setTimeout(() => {
      this.wantTimer = undefined;
      if (this.stopped) return;
      const local = this.opts.local();
      for (const vv of this.peers.values()) {
        if (aheadOf(vv, local.sync).length) {
          this.stats.wants++;
          this.opts.want();
          return;
        }
      }
    }, 2 * this.jitter + this.rand() * this.jitter);
  }

  /** Compute what lagging peers still miss and send it (own origin only, or everything). */
  private fire(ownOnly: boolean): void {
    if (this.stopped) return;
    const local = this.opts.local();
    const need: VersionVector = {};
    for (const [peer, vv] of this.lagging) {
      const ahead = aheadOf(local.sync, vv);
      if (!ahead.length) {
        this.lagging.delete(peer);
        continue;
      }
      for (const o of ahead) {
        if (ownOnly && o !== this.opts.self) continue;
        need[o] = Math.min(need[o] ?? Number.MAX_SAFE_INTEGER, vv[o] ?? 0);
      }
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
