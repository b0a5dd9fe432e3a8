import type { H3lixConfig } from '../config/schema.js';
import type { CcfField } from '../ccf/field.js';
import type { Signer } from '../crypto/ed25519.js';
import type { Store } from '../store/db.js';
import type { NodeIdentity } from '../store/identity.js';
import type { KvStore } from '../store/seq-store.js';
import type { Outbox } from '../store/outbox.js';
import type { Clock } from '../util/clock.js';
import type { TypedEvents } from '../util/events.js';
import type { Logger } from '../util/logger.js';
import type { CcfSync } from '../sync/ccf-sync.js';
import type { EmbeddedBroker } from '../sync/embedded-broker.js';
import type { OutboxPump } from '../sync/outbox-pump.js';
import type { Topics } from '../sync/topics.js';
import type { Transport, TransportEvents } from '../sync/transport.js';
import type { ClientTls } from '../sync/tls.js';
import type { Presence } from '../sync/presence.js';

/** A unit of the daemon: does no work in its constructor, owns everything it starts. */
export interface Feature {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Presence fields other features fill in; the birth on `state/<node>` copies them at every connect
 * (the core does not interpret them).
 * Call `ctx.refreshBirth()` after changing them to re-publish at once.
 */
export type PresenceInfo = Partial<Omit<Presence, 'v' | 'online' | 'node' | 'fleet' | 'ts' | 'board' | 'publicKey' | 'versions'>> & {
  /** Why the host is running, from the companion MCU (energy feature), published in the birth. */
  wake?: { reason: string; sleptSeconds: number };
};

/**
 * How the daemon's transport reaches and logs in to its broker (after the core plugs, core-plug.ts).
 * A feature that needs its own MQTT client (the personal instance, the status page's peer client)
 * connects the same way with its own client id suffix.
 */
export interface DaemonLogin {
  readonly url: string;
  /** 4 for the embedded aedes (3.1.1 only), else `broker.protocolVersion`. */
  readonly protocolVersion: 4 | 5;
  /** Read before every (re)connect, for the connection with this client id. */
  credentials(clientId: string): { username?: string | undefined; password?: string | undefined };
  /** True when credentials change over time (tokens): re-read them before every reconnect. */
  readonly refreshCredentials: boolean;
  /** Client TLS for an `mqtts://` URL (read before every connect); undefined = none configured. */
  tls(): ClientTls | undefined;
}

/** Daemon-level events features can use to talk to each other. */
export interface DaemonEvents {
  /** Core features are up (store, broker, transport, pump, sync). */
  ready: () => void;
  /** Shutdown began. */
  stopping: (reason: string) => void;
  /** A feature asks the daemon to stop gracefully (energy: a planned sleep is armed on the companion MCU). */
  shutdownRequested: (reason: string) => void;
  /** Energy mode changed (energy feature emits; sync/instance may react). */
  energyMode: (mode: string) => void;
  /**
   * An operator asked for an evolution round now (fleet command `trigger-evolution`); the learning
   * feature listens. With no listener the fleet command replies "unsupported".
   */
  evolutionRequested: (reason: string) => void;
}

/**
 * What a plugged-in feature receives once the core is started: the shared state of this node. Every
 * member is ready to use when a FeatureFactory runs.
 */
export interface DaemonContext {
  readonly config: H3lixConfig;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly nodeId: string;
  readonly fleet: string;
  readonly identity: NodeIdentity;
  readonly signer: Signer;
  readonly store: Store;
  readonly kv: KvStore;
  readonly outbox: Outbox;
  readonly field: CcfField;
  readonly topics: Topics;
  readonly transport: Transport;
  readonly pump: OutboxPump;
  readonly sync: CcfSync;
  /** The embedded broker, when `broker.embedded.enabled`. */
  readonly broker: EmbeddedBroker | undefined;
  /** How this node's transport logs in to its broker. */
  readonly login: DaemonLogin;
  readonly events: TypedEvents<DaemonEvents>;
  readonly presence: PresenceInfo;
  /** Inbound MQTT messages and connection status (after the daemon's inbound filter). */
  readonly inbound: TypedEvents<TransportEvents>;
  /** Re-publish the retained birth (after changing `presence`). */
  refreshBirth(): void;
  /**
   * Send a signed envelope through the durable outbox: `seq` and HLC are assigned here so they stay
   * monotonic across every kind of message this node sends.
   */
  sendEnvelope(msg: { kind: import('../ccf/codec/envelope.js').EnvelopeKind; topic: string; body: Uint8Array; qos?: 0 | 1; retain?: boolean; coalesceKey?: string }): void;
}

/**
 * Builds a plugged-in feature from the started core (energy, instance, fleet, telemetry...). It may be
 * async, so that a feature's modules (and their native bindings) load only when the feature is on.
 */
export type FeatureFactory = (ctx: DaemonContext) => Feature | Promise<Feature>;
