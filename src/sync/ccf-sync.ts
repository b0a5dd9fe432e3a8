import { WireError, type ErrorCode } from '../errors.js';
import type { Signer } from '../crypto/ed25519.js';
import type { CcfField } from '../ccf/field.js';
import type { Contribution, Quantization, VersionVector } from '../ccf/types.js';
import { decodeEnvelope, encodeEnvelope, type EnvelopeKind } from '../ccf/codec/envelope.js';
import { decodeDigestBody, decodeWantBody, encodeDigestBody, encodeWantBody } from '../ccf/codec/sync-bodies.js';
import type { ReplayGuard } from '../ccf/codec/replay.js';
import { ENVELOPE_OVERHEAD_BYTES } from '../ccf/limits.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { AntiEntropy } from './anti-entropy.js';
import { decodeSyncDelta, encodeSyncDelta, type SyncDelta } from './delta-wire.js';
import { OriginProofs } from './origin-proofs.js';
import type { KeyResolver, LearningKeyResolver } from './key-resolver.js';
import { decodePresence, presenceKey } from './presence.js';
import { SyncVector, type CoverageRanges } from './sync-vector.js';
import { fleetTopics, parseTopic, type Topics } from './topics.js';
import type { TransportEvents } from './transport.js';
import type { TypedEvents } from '../util/events.js';
import { planBatches } from './batches.js';
import { SUMMARY_BUCKETS, restrictToBuckets } from './vector-summary.js';
import { defencesOff, type Defence } from './defences.js';

/** Periodic digests a board hears per `digestIntervalMs`, about, in a large fleet (see periodicIntervalMs). */
export const PERIODIC_DIGEST_PEERS = 32;

/** The durable outbox slice used to send (src/store/outbox.ts). */
export interface SyncOutbox {
  enqueue(msg: { topic: string; payload: Uint8Array; qos: 0 | 1; retain: boolean; coalesceKey?: string }): number;
}

/** Where the sync vector and the last published local version survive restarts. */
export interface SyncStatePort {
  load(): { sync: VersionVector; lastPublished: number } | undefined;
  save(state: { sync: VersionVector; lastPublished: number }): void;
}

/** Counters exposed by {@link CcfSync} (telemetry, demo, tests). */
export interface SyncCounters {
  received: number;
  bytesReceived: number;
  /** Envelopes accepted (signature, replay and body checks passed). */
  accepted: number;
  /** Contributions that changed the field (a duplicate never counts twice). */
  applied: number;
  rejected: Partial<Record<ErrorCode, number>>;
  /** Messages first rejected WIRE_UNKNOWN_SENDER and accepted once the sender's birth arrived. */
  recoveredUnknown: number;
  deltasSent: number;
  digestsSent: number;
  wantsSent: number;
  bytesEnqueued: number;
  /** Sync-state saves that failed (STORE_IO); the daemon kept running. */
  stateSaveFailures: number;
  /** Answer batches not sent because `answerBudgetBytesPerMinute` was spent. */
  answersThrottled: number;
}

/**
 * Options for {@link CcfSync}.
 * - `nodeId`, `fleet`, `field`, `signer`, `clock`, `outbox`, `seq`, `replay`, `keys`: required.
 * - `transport`: the message/status events (Transport.events). Required.
 * - `kick()`: wake the outbox pump after an enqueue. Required.
 * - `debounceMs`: delay before a local change is published. Default 250 (config sync.debounceMs).
 * - `digestIntervalMs`: periodic retained digest. Default 10000 (config sync.digestIntervalMs).
 * - `digestDebounceMs`: delay of the digest after a change. Default max(4 × debounceMs, 500): digests
 *   only drive anti-entropy, and every digest costs each peer a signature check.
 * - `maxMessageBytes`: largest payload; deltas are split by contribution below it. Default 131072.
 * - `quantization`: wire quantization. Default int8.
 * - `jitterMs`: anti-entropy response window. Default 400.
 * - `persist(changed)`: called in the same tick as every field change (FieldStore.save). Default none.
 * - `state`: sync vector persistence. Default none (after a restart peers resend what we hold).
 * - `transaction(fn)`: wraps the field save and the state save of one change. Default: none.
 * - `random`: jitter source. Default Math.random. `logger`: default none.
 */
export interface CcfSyncOptions {
  nodeId: string;
  fleet: string;
  field: CcfField;
  signer: Signer;
  clock: Clock;
  outbox: SyncOutbox;
  kick: () => void;
  seq: { next(): number };
  replay: ReplayGuard;
  keys: KeyResolver | LearningKeyResolver;
  transport: { events: TypedEvents<TransportEvents> };
  debounceMs?: number;
  digestIntervalMs?: number;
  digestDebounceMs?: number;
  maxMessageBytes?: number;
  quantization?: Quantization;
  jitterMs?: number;
  persist?: (changed: Contribution[]) => void;
  state?: SyncStatePort;
  /** Runs persist + state save as one durable unit (a SQLite transaction). Default: call directly. */
  transaction?: (fn: () => void) => void;
  random?: () => number;
  logger?: Logger;
  /**
   * The protocol before issue 10, kept as the measured baseline of `h3lix simulate fleet` and the
   * sync bench: digests carry the whole sync vector, every field change (a peer's merged delta too)
   * publishes one, and the periodic interval does not grow with the fleet. Default false.
   */
  legacyDigests?: boolean;
  /** Most anti-entropy answer bytes per minute (config sync.answerBudgetBytesPerMinute). Default 8 MiB. */
  answerBudgetBytesPerMinute?: number;
  /** Test-only switches (defences.ts `envelope-sig`, `replay-guard`, `sender-topic`). Default from H3LIX_TEST_DEFENCES_OFF. */
  defencesOff?: ReadonlySet<Defence>;
}

/**
 * CCF replication over MQTT (DESIGN sections 3 and 7): debounced deltas of local changes, retained
 * digests, anti-entropy (digest comparison, wants, suppressed jittered answers), and the verified
 * receive path. Bad input is counted per WireError code and never throws out of the handler.
 */
export class CcfSync {
  private readonly off: ReadonlySet<Defence>;
  readonly counters: SyncCounters = { received: 0, bytesReceived: 0, accepted: 0, applied: 0, rejected: {}, recoveredUnknown: 0, deltasSent: 0, digestsSent: 0, wantsSent: 0, bytesEnqueued: 0, stateSaveFailures: 0, answersThrottled: 0 };
  readonly topics: Topics;
  readonly sync = new SyncVector();
  private readonly o: CcfSyncOptions;
  private readonly ae: AntiEntropy;
  /** Origin batch signatures of every contribution held (per-origin authenticity, origin-proofs.ts). */
  readonly originProofs: OriginProofs;
  private lastPublished = 0;
  /** Anti-entropy answer bytes in the current minute. */
  private answerSpend = { since: -Infinity, bytes: 0 };
  private deltaTimer: TimerHandle | undefined;
  private digestTimer: TimerHandle | undefined;
  private periodicTimer: TimerHandle | undefined;
  private offs: Array<() => void> = [];
  /**
   * Messages from senders whose key is not known yet, parked (bounded: 16 per sender, 512 in all,
   * 10 s) and re-run once their birth arrives. Brokers do not order a retained birth before the same
   * client's later publishes on other topics (aedes stores the retained message first), so without
   * this a new peer's first deltas would wait for anti-entropy.
   */
  private readonly parked = new Map<string, Array<{ topic: string; payload: Uint8Array; at: number }>>();
  private parkedCount = 0;
  private running = false;
  /** Energy cadence multiplier on the debounces and the periodic digest (see `setCadence`). */
  private cadence = 1;

  constructor(o: CcfSyncOptions) {
    this.o = o;
    this.off = new Set([...(o.defencesOff ?? defencesOff())].filter((d) => d === 'envelope-sig' || d === 'replay-guard' || d === 'sender-topic'));
    this.topics = fleetTopics(o.fleet);
    this.originProofs = new OriginProofs({ fleet: o.fleet, self: o.nodeId, signer: o.signer, resolveKey: (origin) => o.keys.resolve(origin), required: o.keys.requireOriginSignatures === true });
    this.ae = new AntiEntropy({
      self: o.nodeId,
      clock: o.clock,
      // the field digest is computed only when asked for (it hashes every contribution held)
      local: () => {
        const field = this.o.field;
        return {
          sync: this.sync.snapshot(),
          get digest() {
            return field.digest();
          },
        };
      },
      respond: (need) => this.respond(need),
      want: (buckets) => this.publishWant(buckets),
      ...(o.jitterMs !== undefined ? { jitterMs: o.jitterMs } : {}),
      ...(o.random ? { random: o.random } : {}),
    });
  }

  /** The current anti-entropy answer window, ms. */
  answerWindow(): number {
    return this.ae.window();
  }

  /** Anti-entropy counters. */
  get antiEntropy(): AntiEntropy['stats'] {
    return this.ae.stats;
  }

  start(): Promise<void> {
    if (this.running) return Promise.resolve();
    this.running = true;
    if (this.off.size > 0) this.o.logger?.error({ defencesOff: [...this.off] }, 'TEST SWITCH: sync defences are OFF (H3LIX_TEST_DEFENCES_OFF); never run a board like this');
    const saved = this.o.state?.load();
    if (saved) {
      for (const [origin, v] of Object.entries(saved.sync)) this.sync.raise(origin, v);
      this.lastPublished = Math.min(saved.lastPublished, this.o.field.localVersion());
    }
    this.sync.raise(this.o.nodeId, this.o.field.localVersion());
    this.ae.touch();
    this.offs.push(this.o.field.onChange((changed) => this.onFieldChange(changed)));
    this.offs.push(this.o.transport.events.on('message', (topic, payload) => this.onMessage(topic, payload)));
    this.offs.push(
      this.o.transport.events.on('status', (s) => {
        if (s === 'connected') {
          this.ae.onConnected();
          this.publishDigest();
        }
      }),
    );
    if (this.o.field.localVersion() > this.lastPublished) this.armDelta();
    this.armPeriodic();
    return Promise.resolve();
  }

  stop(): Promise<void> {
    if (!this.running) return Promise.resolve();
    this.running = false;
    for (const off of this.offs) off();
    this.offs = [];
    for (const t of [this.deltaTimer, this.digestTimer, this.periodicTimer]) if (t) this.o.clock.clearTimeout(t);
    this.deltaTimer = this.digestTimer = this.periodicTimer = undefined;
    this.ae.stop();
    return Promise.resolve();
  }

  /**
   * Scale the delta/digest debounces and the periodic digest interval by `multiplier` (the energy
   * scheduler's `cadenceFor('sync')`: 0.5 in surplus .. 30 in survival). A running periodic timer is
   * re-armed at once with the new interval; pending debounces keep their deadline. Default 1.
   */
  setCadence(multiplier: number): void {
    if (!(multiplier > 0) || !Number.isFinite(multiplier)) throw new RangeError(`sync cadence multiplier must be a positive number, got ${multiplier}`);
    if (multiplier === this.cadence) return;
    this.cadence = multiplier;
    if (this.running && this.periodicTimer) {
      this.o.clock.clearTimeout(this.periodicTimer);
      this.armPeriodic();
    }
  }

  /** The current cadence multiplier (1 unless `setCadence` changed it). */
  cadenceMultiplier(): number {
    return this.cadence;
  }

  /** Publish pending local changes now (SIGTERM path) and a final digest. */
  flush(): void {
    if (this.deltaTimer) this.o.clock.clearTimeout(this.deltaTimer);
    this.deltaTimer = undefined;
    this.publishLocalDelta();
    this.publishDigest();
  }

  // ---- local side -----------------------------------------------------------------------------

  private onFieldChange(changed: Contribution[]): void {
    const self = this.o.nodeId;
    const own = changed.some((c) => c.origin === self);
    if (own) {
      this.sync.raise(self, this.o.field.localVersion());
      this.armDelta();
      this.ae.touch([self]);
    }
    try {
      const both = () => {
        this.o.persist?.(changed);
        this.saveState();
      };
      if (this.o.transaction) this.o.transaction(both);
      else both();
    } catch (err) {
      this.o.logger?.error({ err: (err as Error).message }, 'persisting the field failed');
    }
    // Only our own changes move the digest at once: merging a peer's delta would otherwise make every
    // board publish a digest for every contribution in the fleet (N digests × N receivers each time,
    // issue 10). What we merged reaches peers' beliefs through the delta's cover; the periodic digest
    // says the rest.
    if (own || this.o.legacyDigests) this.armDigest();
  }

  /**
   * Persist the sync vector and the publish mark. Called from timers, so it never throws: on a store
   * failure (disk full: STORE_IO) the daemon keeps serving, counts `stateSaveFailures` and saves again
   * on the next change (the state is idempotent: an old vector only repeats anti-entropy work).
   */
  private saveState(): void {
    try {
      this.o.state?.save({ sync: this.sync.snapshot(), lastPublished: this.lastPublished });
    } catch (err) {
      this.counters.stateSaveFailures++;
      this.o.logger?.error({ err: err instanceof Error ? err.message : String(err), code: (err as { code?: string }).code }, 'sync state not saved (disk full?); kept in memory, saved again on the next change');
    }
  }

  private armDelta(): void {
    if (this.deltaTimer || !this.running) return;
    this.deltaTimer = this.o.clock.setTimeout(() => {
      this.deltaTimer = undefined;
      this.publishLocalDelta();
    }, (this.o.debounceMs ?? 250) * this.cadence);
  }

  private armDigest(): void {
    if (this.digestTimer || !this.running) return;
    this.digestTimer = this.o.clock.setTimeout(() => {
      this.digestTimer = undefined;
      this.publishDigest();
    }, (this.o.digestDebounceMs ?? Math.max(4 * (this.o.debounceMs ?? 250), 500)) * this.cadence);
  }

  /**
   * The periodic digest's interval: `digestIntervalMs` until the fleet has more than
   * PERIODIC_DIGEST_PEERS peers, then longer in proportion, so each board hears about that many
   * periodic digests per interval however large the fleet (a lagging board needs one of them).
   */
  periodicIntervalMs(): number {
    const scale = this.o.legacyDigests ? 1 : Math.max(1, this.ae.peerCount() / PERIODIC_DIGEST_PEERS);
    return (this.o.digestIntervalMs ?? 10_000) * this.cadence * scale;
  }

  private armPeriodic(): void {
    // jittered ±25 % so a fleet started together does not publish its digests in one burst
    this.periodicTimer = this.o.clock.setTimeout(() => {
      if (!this.running) return;
      this.publishDigest();
      this.armPeriodic();
    }, this.periodicIntervalMs() * (0.75 + 0.5 * (this.o.random ?? Math.random)()));
    this.periodicTimer.unref?.();
  }

  /** Our own contributions newer than what we last published, as one or more deltas. */
  private publishLocalDelta(): void {
    const self = this.o.nodeId;
    const top = this.o.field.localVersion();
    if (top <= this.lastPublished) return;
    const mine = this.o.field.contributions().filter((c) => c.origin === self && c.version > this.lastPublished);
    this.sendDeltas(mine, { [self]: this.lastPublished }, { [self]: top });
    this.lastPublished = top;
    this.saveState();
  }

  /** Anti-entropy answer: every contribution of each origin in `need` above need[origin]. */
  private respond(need: VersionVector): void {
    const all = this.o.field.deltaSince({ ...this.o.field.versionVector(), ...need });
    const wanted = all.filter((c) => need[c.origin] !== undefined);
    const upto: VersionVector = {};
    for (const o of Object.keys(need)) upto[o] = this.sync.get(o);
    const now = this.o.clock.monotonic();
    if (now - this.answerSpend.since >= 60_000) this.answerSpend = { since: now, bytes: 0 };
    this.sendDeltas(wanted, need, upto, this.answerSpend);
  }

  /** `spend`: an answer's budget; batches past it are not sent (their cover is not claimed either). */
  private sendDeltas(cs: Contribution[], base: VersionVector, upto: VersionVector, spend?: { bytes: number }): void {
    const q = this.o.quantization ?? 'int8';
    const budget = (this.o.maxMessageBytes ?? 131072) - ENVELOPE_OVERHEAD_BYTES;
    const size = (d: SyncDelta) => encodeSyncDelta(d, q).length + this.originProofs.estimateBytes(d.contributions);
    const limit = this.o.answerBudgetBytesPerMinute ?? 8 * 1024 * 1024;
    for (const batch of planBatches(cs, base, upto, budget, size)) {
      batch.proofs = this.originProofs.proofsFor(batch.contributions);
      const body = encodeSyncDelta(batch, q);
      if (spend) {
        if (spend.bytes + body.length > limit) {
          this.counters.answersThrottled++;
          this.o.logger?.warn({ limit, spent: spend.bytes }, 'anti-entropy answer budget spent for this minute; the rest waits for a later want');
          return;
        }
        spend.bytes += body.length;
      }
      this.enqueue('delta', this.topics.delta(this.o.nodeId), body, false);
      this.counters.deltasSent++;
      this.ae.onCoverage(batch.cover);
    }
  }

  private publishDigest(): void {
    if (!this.running) return;
    if (this.digestTimer) this.o.clock.clearTimeout(this.digestTimer);
    this.digestTimer = undefined;
    const sync = this.sync.snapshot();
    const body = encodeDigestBody({ ...(this.o.legacyDigests ? { vv: sync } : { summary: this.ae.summary(sync) }), digest: this.o.field.digest(), count: this.o.field.size() });
    this.enqueue('digest', this.topics.digest(this.o.nodeId), body, true, 'ccf-digest');
    this.counters.digestsSent++;
  }

  private publishWant(buckets?: number[]): void {
    if (!this.running) return;
    const sync = this.sync.snapshot();
    const nonce = Math.floor((this.o.random ?? Math.random)() * 0x100000000) >>> 0;
    const body = buckets ? encodeWantBody({ vv: restrictToBuckets(sync, buckets), buckets, nonce }) : encodeWantBody({ vv: sync, nonce });
    this.enqueue('want', this.topics.want(this.o.nodeId), body, false, 'ccf-want');
    this.counters.wantsSent++;
  }

  private enqueue(kind: EnvelopeKind, topic: string, body: Uint8Array, retain: boolean, coalesceKey?: string): void {
    const payload = encodeEnvelope({ kind, fleet: this.o.fleet, from: this.o.nodeId, seq: this.o.seq.next(), hlc: this.o.field.hlc.now(), body }, this.o.signer);
    try {
      this.o.outbox.enqueue({ topic, payload, qos: 1, retain, ...(coalesceKey ? { coalesceKey } : {}) });
      this.counters.bytesEnqueued += payload.length;
    } catch (err) {
      this.o.logger?.warn({ err: (err as Error).message, topic }, 'outbox refused a message; anti-entropy will recover it');
    }
    this.o.kick();
  }

  // ---- receive side ---------------------------------------------------------------------------

  /** Handle one MQTT message. Never throws: rejects are counted by WireError code. */
  onMessage(topic: string, payload: Uint8Array): void {
    this.counters.received++;
    this.counters.bytesReceived += payload.length;
    const t = parseTopic(this.topics, topic);
    if (!t || t.kind === 'energy') return;
    if (t.node === this.o.nodeId) return; // our own echo
    try {
      if (t.kind === 'state') return this.onPresence(t.node, payload);
      const env = decodeEnvelope(payload, {
        maxBytes: (this.o.maxMessageBytes ?? 131072) + ENVELOPE_OVERHEAD_BYTES,
        fleet: this.o.fleet,
        resolveKey: (from) => this.o.keys.resolve(from),
        ...(this.off.has('replay-guard') ? {} : { replay: this.o.replay }),
        ...(this.off.has('envelope-sig') ? { skipSignature: true } : {}),
        kinds: [t.kind],
      });
      if (env.from !== t.node && !this.off.has('sender-topic')) throw new WireError('WIRE_TYPE', `envelope from ${env.from} published on ${t.node}'s topic`);
      this.counters.accepted++;
      if (t.kind === 'delta') {
        const d = decodeSyncDelta(env.body);
        const checked = this.originProofs.check(d.contributions, d.proofs);
        const cover = { ...d.cover };
        for (const [why, list] of checked.dropped) {
          // A dropped contribution leaves a gap: its origin's range must not advance the sync vector.
          for (const c of list) delete cover[c.origin];
          this.reject(new WireError('WIRE_ORIGIN_SIG', `${list.length} contribution(s) dropped (${why}), first ${list[0]!.origin}/${list[0]!.key} v${list[0]!.version}, relayed by ${env.from}`), topic);
        }
        const changed = this.o.field.merge(checked.accepted);
        this.counters.applied += changed.length;
        const advanced = this.sync.cover(cover);
        this.ae.onCoverage(cover);
        if (advanced.length) this.ae.touch(advanced);
        if (advanced.length && !changed.length) {
          this.saveState();
          if (this.o.legacyDigests) this.armDigest();
        }
      } else if (t.kind === 'digest') {
        const b = decodeDigestBody(env.body);
        const ago = this.o.clock.now() - env.hlc.wall;
        if (b.summary) {
          if (b.summary.sums.length !== SUMMARY_BUCKETS) throw new WireError('WIRE_VERSION', `digest summary has ${b.summary.sums.length} buckets, this node uses ${SUMMARY_BUCKETS}`);
          this.ae.onPeerSummary(env.from, b.summary, b.digest, ago);
        } else this.ae.onPeerVector(env.from, b.vv!, b.digest, ago);
      } else if (t.kind === 'want') {
        const b = decodeWantBody(env.body);
        const scope = { ...(b.buckets ? { buckets: b.buckets } : {}), ...(b.nonce !== undefined ? { nonce: b.nonce } : {}) };
        this.ae.onPeerVector(env.from, b.vv, undefined, this.o.clock.now() - env.hlc.wall, scope);
      }
    } catch (err) {
      this.reject(err, topic);
      if (err instanceof WireError && err.code === 'WIRE_UNKNOWN_SENDER') this.park(t.node, topic, payload);
    }
  }

  private park(node: string, topic: string, payload: Uint8Array): void {
    const now = this.o.clock.monotonic();
    let list = this.parked.get(node);
    if (!list) {
      if (this.parked.size >= 64) return;
      this.parked.set(node, (list = []));
    }
    while (list.length && now - list[0]!.at > 10_000) {
      list.shift();
      this.parkedCount--;
    }
    if (list.length >= 16 || this.parkedCount >= 512) return;
    list.push({ topic, payload, at: now });
    this.parkedCount++;
  }

  private unpark(node: string): void {
    const list = this.parked.get(node);
    if (!list) return;
    this.parked.delete(node);
    this.parkedCount -= list.length;
    const now = this.o.clock.monotonic();
    for (const m of list) {
      if (now - m.at > 10_000) continue;
      const before = this.counters.accepted;
      this.counters.received--;
      this.counters.bytesReceived -= m.payload.length;
      this.onMessage(m.topic, m.payload);
      if (this.counters.accepted > before) this.counters.recoveredUnknown++;
    }
  }

  private onPresence(node: string, payload: Uint8Array): void {
    const p = decodePresence(payload);
    if (p.node !== node || p.fleet !== this.o.fleet) throw new WireError('WIRE_TYPE', `state for ${p.node}/${p.fleet} published on ${node}'s topic in ${this.o.fleet}`);
    if (!p.online) this.ae.onPeerOffline(node);
    // The death (our MQTT will) carries the key too: a will can land after a reconnect's birth and
    // become the retained state, and newcomers must still learn the key from it.
    const key = presenceKey(p);
    const keys = this.o.keys as Partial<LearningKeyResolver>;
    if (key && typeof keys.learn === 'function') {
      const cert = p.certificate ? new Uint8Array(Buffer.from(p.certificate, 'base64')) : undefined;
      const ok = keys.learn(node, key, cert);
      this.o.logger?.debug({ node, ok }, 'presence: peer key offered');
      if (ok) this.unpark(node);
    }
  }

  private reject(err: unknown, topic: string): void {
    const code: ErrorCode = err instanceof WireError ? err.code : 'INTERNAL';
    this.counters.rejected[code] = (this.counters.rejected[code] ?? 0) + 1;
    const msg = err instanceof Error ? err.message : String(err);
    if (code === 'WIRE_REPLAY' || code === 'WIRE_UNKNOWN_SENDER') this.o.logger?.debug({ code, topic, reason: msg }, 'message rejected');
    else this.o.logger?.warn({ code, topic, reason: msg }, 'message rejected');
  }

  /** Total rejected messages. */
  rejectedTotal(): number {
    return Object.values(this.counters.rejected).reduce((a, b) => a + (b ?? 0), 0);
  }
}

export type { CoverageRanges };
