import { CcfField } from '../../ccf/field.js';
import { ReplayGuard } from '../../ccf/codec/replay.js';
import type { H3lixConfig } from '../../config/schema.js';
import { createSigner, keyPairFromSeed, type Ed25519KeyPair } from '../../crypto/ed25519.js';
import { nodeIdFromPublicKey } from '../../crypto/node-id.js';
import type { Clock } from '../../util/clock.js';
import { TypedEvents } from '../../util/events.js';
import { CcfSync, type SyncOutbox } from '../ccf-sync.js';
import { OpenKeyResolver } from '../key-resolver.js';
import { encodePresence } from '../presence.js';
import { SiteKeyResolver } from '../site-aggregate.js';
import { fleetTopics } from '../topics.js';
import type { TransportEvents } from '../transport.js';
import type { SimBroker } from './sim-broker.js';

/** The seeded key pair of simulated board `index`. */
export function simKeyPair(seed: number, index: number): Ed25519KeyPair {
  const bytes = new Uint8Array(32);
  new DataView(bytes.buffer).setUint32(0, seed >>> 0);
  new DataView(bytes.buffer).setUint32(4, index);
  return keyPairFromSeed(bytes);
}

interface Pending {
  topic: string;
  payload: Uint8Array;
  retain: boolean;
  coalesceKey?: string;
}

/**
 * One simulated board: the real CcfField, CcfSync (codec, signatures, replay windows, anti-entropy)
 * and an OpenKeyResolver, with an in-memory outbox in place of the SQLite one (same contract:
 * messages wait while offline, coalesce keys keep only the newest unsent digest/want).
 */
export class SimNode {
  readonly id: string;
  readonly field: CcfField;
  readonly sync: CcfSync;
  private readonly events = new TypedEvents<TransportEvents>();
  private readonly pending: Pending[] = [];
  private readonly broker: SimBroker;
  private readonly fleet: string;
  private readonly publicKey: Uint8Array;

  /**
   * `index` picks the key (seeded); `id`, when given, is the node id instead of the key's
   * self-certifying id (a site origin signed with its gateway's key, site-aggregate.ts); `siteKeys`
   * pins the site origins' keys (SiteKeyResolver).
   */
  constructor(o: { index: number; seed: number; fleet: string; clock: Clock; broker: SimBroker; ccf: H3lixConfig['ccf']; sync: Pick<H3lixConfig['sync'], 'debounceMs' | 'digestIntervalMs' | 'antiEntropyJitterMs' | 'maxMessageBytes'> & { answerBudgetBytesPerMinute?: number }; random: () => number; legacy?: boolean; id?: string; siteKeys?: ReadonlyMap<string, Uint8Array> }) {
    const pair = simKeyPair(o.seed, o.index);
    this.publicKey = pair.publicKey;
    this.id = o.id ?? nodeIdFromPublicKey(pair.publicKey);
    this.broker = o.broker;
    this.fleet = o.fleet;
    this.field = new CcfField({ nodeId: this.id, clock: o.clock, config: o.ccf, quantization: 'int8' });
    let seq = 0;
    const outbox: SyncOutbox = {
      enqueue: (m) => {
        if (m.coalesceKey) {
          const i = this.pending.findIndex((p) => p.coalesceKey === m.coalesceKey);
          if (i >= 0) this.pending.splice(i, 1);
        }
        this.pending.push({ topic: m.topic, payload: m.payload, retain: m.retain, ...(m.coalesceKey ? { coalesceKey: m.coalesceKey } : {}) });
        return this.pending.length;
      },
    };
    this.sync = new CcfSync({
      nodeId: this.id,
      fleet: o.fleet,
      field: this.field,
      signer: createSigner(pair),
      clock: o.clock,
      outbox,
      kick: () => this.drain(),
      seq: { next: () => ++seq },
      replay: new ReplayGuard(),
      keys: o.siteKeys ? new SiteKeyResolver(new OpenKeyResolver({ self: { node: this.id, publicKey: pair.publicKey } }), o.siteKeys) : new OpenKeyResolver({ self: { node: this.id, publicKey: pair.publicKey } }),
      transport: { events: this.events },
      debounceMs: o.sync.debounceMs,
      digestIntervalMs: o.sync.digestIntervalMs,
      jitterMs: o.sync.antiEntropyJitterMs,
      maxMessageBytes: o.sync.maxMessageBytes,
      ...(o.sync.answerBudgetBytesPerMinute !== undefined ? { answerBudgetBytesPerMinute: o.sync.answerBudgetBytesPerMinute } : {}),
      random: o.random,
      legacyDigests: o.legacy === true,
    });
    o.broker.add({ id: this.id, filters: fleetTopics(o.fleet).subscriptions(), deliver: (topic, payload) => this.events.emit('message', topic, Buffer.from(payload.buffer, payload.byteOffset, payload.length)) });
  }

  /** Connect (or reconnect after a partition): birth, then the daemon's on-connect digest. */
  connect(): void {
    this.broker.connect(this.id);
    const birth = encodePresence({ v: 1, online: true, node: this.id, fleet: this.fleet, ts: 0, publicKey: Buffer.from(this.publicKey).toString('base64') });
    this.broker.publish(this.id, fleetTopics(this.fleet).state(this.id), birth, true);
    this.events.emit('status', 'connected');
    this.drain();
  }

  disconnect(): void {
    this.broker.disconnect(this.id);
    this.events.emit('status', 'disconnected');
  }

  /** Messages waiting in the outbox. */
  backlog(): number {
    return this.pending.length;
  }

  private drain(): void {
    while (this.pending.length && this.broker.isOnline(this.id)) {
      const m = this.pending.shift()!;
      this.broker.publish(this.id, m.topic, m.payload, m.retain);
    }
  }
}
