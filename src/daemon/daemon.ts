import type { H3lixConfig } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { CcfField } from '../ccf/field.js';
import { encodeEnvelope } from '../ccf/codec/envelope.js';
import { ReplayGuard, type ReplayState } from '../ccf/codec/replay.js';
import { createSigner } from '../crypto/ed25519.js';
import { nodeIdMatches } from '../crypto/node-id.js';
import { openStore, type Store } from '../store/db.js';
import { FieldStore } from '../store/field-store.js';
import { loadOrCreateIdentity } from '../store/identity.js';
import { Outbox } from '../store/outbox.js';
import { KvStore, ReplayStateStore, SeqStore } from '../store/seq-store.js';
import { systemClock, type Clock } from '../util/clock.js';
import { TypedEvents } from '../util/events.js';
import { moduleLogger, silentLogger, type Logger } from '../util/logger.js';
import { CcfSync, type SyncStatePort } from '../sync/ccf-sync.js';
import { EmbeddedBroker } from '../sync/embedded-broker.js';
import { OpenKeyResolver } from '../sync/key-resolver.js';
import { OutboxPump } from '../sync/outbox-pump.js';
import type { Presence } from '../sync/presence.js';
import { fleetTopics } from '../sync/topics.js';
import { Transport, type TransportEvents } from '../sync/transport.js';
import { checkPlainUpstream, clientTlsFromConfig } from '../sync/tls.js';
import { embeddedBrokerOptions } from '../sync/embedded-config.js';
import { CompactionFeature } from './compaction.js';
import { resolvePlugs } from './core-plug.js';
import type { DaemonContext, DaemonEvents, DaemonLogin, Feature, FeatureFactory, PresenceInfo } from './feature.js';

export type { InboundFilter } from './core-plug.js';

/**
 * Options of {@link createDaemon}.
 * - `config`: validated configuration. Required.
 * - `logger`: default silent. `clock`: default systemClock.
 * - `features`: factories of plugged-in features (energy, instance, fleet...), started in order after
 *   the core and stopped in reverse before it. A factory may carry a core plug (`withPlug`,
 *   src/daemon/core-plug.ts): broker authentication, broker login, subscriptions, an inbound stage,
 *   sender trust, excluded origins, an adopted embedded broker. Fleet mode is such a feature
 *   (src/daemon/features/fleet.ts); the core knows nothing about certificates or tokens. Plugs are
 *   combined when createDaemon is called: two features filling the same seam throw CONFIG_INVALID.
 *   Default none.
 * - `drainTimeoutMs`: how long stop() tries to flush the outbox. Default 3000.
 * - `jitterMs`: anti-entropy answer window; default config `sync.antiEntropyJitterMs`.
 * - `random`: jitter source; default Math.random.
 */
export interface DaemonOptions {
  config: H3lixConfig;
  logger?: Logger;
  clock?: Clock;
  features?: FeatureFactory[];
  drainTimeoutMs?: number;
  jitterMs?: number;
  random?: () => number;
}

/** A running (or startable) node. */
export interface Daemon {
  start(): Promise<void>;
  /** Flush what can be flushed, persist, publish death, stop every feature. Idempotent. */
  stop(reason?: string): Promise<{ outboxLeft: number }>;
  /** Available after start(). */
  readonly context: DaemonContext;
  readonly started: boolean;
}

/**
 * The composition root (DESIGN section 2): builds the core features (store + identity + field,
 * embedded broker, MQTT transport, durable outbox pump, CCF sync) and any plugged-in features, each
 * with start()/stop(). Nothing happens until start().
 */
export function createDaemon(opts: DaemonOptions): Daemon {
  const config = opts.config;
  const plugs = resolvePlugs(opts.features ?? []);
  const logger = opts.logger ?? silentLogger();
  const clock = opts.clock ?? systemClock;
  const events = new TypedEvents<DaemonEvents>();
  const inbound = new TypedEvents<TransportEvents>();
  const presence: PresenceInfo = {};
  let ctx: DaemonContext | undefined;
  let store: Store | undefined;
  let saveReplay: (() => void) | undefined;
  let replayTimer: ReturnType<Clock['setTimeout']> | undefined;
  const running: Feature[] = [];
  let started = false;
  let stopping: Promise<{ outboxLeft: number }> | undefined;

  async function startFeature(f: Feature): Promise<void> {
    await f.start();
    running.push(f);
    logger.debug({ feature: f.name }, 'feature started');
  }

  async function start(): Promise<void> {
    if (started) return;
    started = true;
    try {
      await startCore();
      events.emit('ready');
      for (const factory of opts.features ?? []) await startFeature(await factory(ctx!));
    } catch (err) {
      await stop('start failed').catch(() => undefined);
      throw err;
    }
  }

  async function startCore(): Promise<void> {
    const dataDir = config.node.dataDir;
    const identity = loadOrCreateIdentity(dataDir, { logger: moduleLogger(logger, 'identity') });
    let nodeId = identity.nodeId;
    if (config.node.id !== 'auto' && config.node.id !== identity.nodeId) {
      if (!nodeIdMatches(config.node.id, identity.signing.publicKey)) {
        logger.warn({ configured: config.node.id, selfCertifying: identity.nodeId }, 'node.id is not the self-certifying id of this identity; open-mode peers will not accept its messages');
      }
      nodeId = config.node.id;
    }
    const fleet = config.node.fleet;
    store = openStore({ dataDir, logger: moduleLogger(logger, 'store'), clock });
    const st = store;
    const kv = new KvStore({ store: st });
    // The per-sender replay windows survive restarts (saved every minute and on stop), so envelopes
    // seen before a restart are still rejected as replays after it.
    const replay = new ReplayGuard();
    const replayStore = new ReplayStateStore({ store: st });
    try {
      const saved = replayStore.load();
      if (saved) replay.importState(JSON.parse(Buffer.from(saved).toString('utf8')) as ReplayState);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'replay window state unreadable; starting with empty windows');
    }
    saveReplay = () => replayStore.save(Buffer.from(JSON.stringify(replay.exportState()), 'utf8'));
    const persistReplay = (): void => {
      try {
        saveReplay?.();
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'saving replay window state failed');
      }
      if (store) replayTimer = clock.setTimeout(persistReplay, 60_000);
    };
    replayTimer = clock.setTimeout(persistReplay, 60_000);
    const outbox = new Outbox({ store: st, clock, logger: moduleLogger(logger, 'outbox'), ...config.sync.outbox });
    const seq = new SeqStore({ store: st, sender: nodeId });
    const fieldStore = new FieldStore({ store: st });
    const field = new CcfField({ nodeId, clock, config: config.ccf, quantization: config.sync.quantization, logger: moduleLogger(logger, 'ccf'), ...(plugs.excludeOrigin ? { exclude: plugs.excludeOrigin } : {}) });
    const saved = fieldStore.load();
    field.restore(saved.contributions, saved.localVersion);
    const signer = createSigner(identity.signing);
    const topics = fleetTopics(fleet);

    const embedded = plugs.broker ?? (config.broker.embedded.enabled
      ? new EmbeddedBroker(embeddedBrokerOptions(config, { logger: moduleLogger(logger, 'broker'), ...(plugs.brokerAuth ? { hooks: plugs.brokerAuth } : {}) }))
      : undefined);
    if (embedded) await startFeature(named('broker', embedded));
    const upstream = plugs.login.url ?? config.broker.url;
    const url = upstream ?? embedded?.url;
    if (!url) throw new ConfigError('broker.url', 'no upstream broker.url and the embedded broker is disabled: nothing to connect to');

    checkPlainUpstream(url, plugs.login.credentials !== undefined || config.broker.username !== undefined || config.broker.password !== undefined, config.broker.allowInsecure, 'the daemon', logger);
    const configTls = plugs.login.tls ? undefined : clientTlsFromConfig(config); // a missing file: CONFIG_INVALID now
    const staticCredentials = { username: config.broker.username, password: config.broker.password };
    const login: DaemonLogin = {
      url,
      // the embedded aedes speaks MQTT 3.1.1 only; protocolVersion applies to an upstream broker
      protocolVersion: upstream ? config.broker.protocolVersion : 4,
      credentials: plugs.login.credentials ?? (() => staticCredentials),
      refreshCredentials: plugs.login.credentials !== undefined,
      tls: plugs.login.tls ?? (() => configTls),
    };
    const death: Presence = { v: 1, online: false, node: nodeId, fleet, ts: 0, publicKey: Buffer.from(identity.signing.publicKey).toString('base64') };
    const transport = new Transport({
      url,
      clientId: `h3lix-${fleet}-${nodeId}`.slice(0, 128),
      protocolVersion: login.protocolVersion,
      reconnectMs: config.broker.reconnectMs,
      keepaliveSeconds: config.broker.keepaliveSeconds,
      username: config.broker.username,
      password: config.broker.password,
      ...(plugs.login.credentials ? { credentials: plugs.login.credentials } : {}),
      tls: login.tls,
      stateTopic: topics.state(nodeId),
      subscriptions: [...topics.subscriptions(), ...plugs.subscriptions],
      death,
      birth: () => birth(),
      logger: moduleLogger(logger, 'mqtt'),
    });
    const filter = plugs.inbound;
    const deliver = (t: string, p: Buffer) => inbound.emit('message', t, p);
    transport.events.on('status', (s, r) => inbound.emit('status', s, r));
    transport.events.on('message', (t, p) => (filter ? filter(t, p, deliver) : deliver(t, p)));

    const pump = new OutboxPump({ outbox, transport, clock, logger: moduleLogger(logger, 'pump') });
    const keys = plugs.keys ? plugs.keys({ nodeId, publicKey: identity.signing.publicKey }) : new OpenKeyResolver({ self: { node: nodeId, publicKey: identity.signing.publicKey }, logger: moduleLogger(logger, 'keys') });
    const state: SyncStatePort = {
      load: () => {
        const s = kv.getString('sync.state');
        if (!s) return undefined;
        try {
          return JSON.parse(s) as { sync: Record<string, number>; lastPublished: number };
        } catch {
          return undefined;
        }
      },
      save: (s) => kv.set('sync.state', JSON.stringify(s)),
    };
    const sync = new CcfSync({
      nodeId,
      fleet,
      field,
      signer,
      clock,
      outbox,
      kick: () => pump.kick(),
      seq,
      replay,
      keys,
      transport: { events: inbound },
      debounceMs: config.sync.debounceMs,
      digestIntervalMs: config.sync.digestIntervalMs,
      maxMessageBytes: config.sync.maxMessageBytes,
      quantization: config.sync.quantization,
      // [DESIGN 9] field and sync vector are persisted in one fsync'd transaction, in the tick of the change
      persist: (changed) => fieldStore.save(changed, field.localVersion()),
      transaction: (fn) => st.db.transaction(fn)(),
      state,
      logger: moduleLogger(logger, 'sync'),
      jitterMs: opts.jitterMs ?? config.sync.antiEntropyJitterMs,
      answerBudgetBytesPerMinute: config.sync.answerBudgetBytesPerMinute,
      ...(opts.random ? { random: opts.random } : {}),
    });

    function birth(): Presence {
      const vv = sync.sync.snapshot();
      const p: Presence = {
        v: 1,
        online: true,
        node: nodeId,
        fleet,
        ts: clock.now(),
        board: config.node.board,
        publicKey: Buffer.from(identity.signing.publicKey).toString('base64'),
        versions: { origins: Object.keys(vv).length, total: Object.values(vv).reduce((a, b) => a + b, 0), digest: field.digest() },
      };
      if (presence.energyMode) p.energyMode = presence.energyMode;
      // what features put in the birth (energy mode, wake reason, the fleet certificate): the core copies it
      for (const [k, v] of Object.entries(presence)) if (v !== undefined) Object.assign(p, { [k]: v });
      return p;
    }

    ctx = {
      config,
      logger,
      clock,
      nodeId,
      fleet,
      identity,
      signer,
      store: st,
      kv,
      outbox,
      field,
      topics,
      transport,
      pump,
      sync,
      broker: embedded,
      login,
      events,
      presence,
      inbound,
      refreshBirth: () => transport.refreshBirth(),
      sendEnvelope: (m) => {
        const payload = encodeEnvelope({ kind: m.kind, fleet, from: nodeId, seq: seq.next(), hlc: field.hlc.now(), body: m.body }, signer);
        outbox.enqueue({ topic: m.topic, payload, qos: m.qos ?? 1, retain: m.retain ?? false, ...(m.coalesceKey ? { coalesceKey: m.coalesceKey } : {}) });
        pump.kick();
      },
    };
    // Sync listens before the transport connects, so no retained message is missed.
    await startFeature(named('sync', sync));
    await startFeature(named('pump', pump));
    await startFeature(named('transport', transport));
    const everyMs = Math.min((config.ccf.retentionSeconds * 1000) / 10, 3_600_000);
    await startFeature(new CompactionFeature({ field, fieldStore, clock, everyMs, logger: moduleLogger(logger, 'compaction') }));
    logger.info({ node: nodeId, fleet, broker: url, plugs: plugs.owners, embedded: embedded ? `${embedded.host}:${embedded.port}` : 'off', dataDir, contributions: field.size(), outbox: outbox.size().messages }, 'h3lix daemon started');
  }

  async function stop(reason = 'stop'): Promise<{ outboxLeft: number }> {
    if (stopping) return stopping;
    stopping = (async () => {
      events.emit('stopping', reason);
      const c = ctx;
      const core = new Set(['broker', 'sync', 'pump', 'transport', 'compaction']);
      // Plugged-in features first, in reverse order.
      for (const f of [...running].reverse()) {
        if (core.has(f.name)) continue;
        await f.stop().catch((err: unknown) => logger.warn({ feature: f.name, err: (err as Error).message }, 'feature stop failed'));
      }
      let outboxLeft = 0;
      if (c && running.some((f) => f.name === 'sync')) {
        c.sync.flush();
        await c.pump.drain(opts.drainTimeoutMs ?? 3000);
        outboxLeft = c.outbox.size().messages;
      }
      for (const name of ['compaction', 'sync', 'pump', 'transport', 'broker']) {
        const f = running.find((x) => x.name === name);
        if (f) await f.stop().catch((err: unknown) => logger.warn({ feature: name, err: (err as Error).message }, 'feature stop failed'));
      }
      running.length = 0;
      // A caller-started broker that start() never reached (e.g. the store failed to open).
      if (plugs.broker) await plugs.broker.stop().catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'embedded broker stop failed'));
      if (replayTimer) clock.clearTimeout(replayTimer);
      replayTimer = undefined;
      try {
        saveReplay?.();
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'saving replay window state failed');
      }
      saveReplay = undefined;
      store?.close();
      store = undefined;
      logger.info({ reason, outboxLeft }, 'h3lix daemon stopped');
      return { outboxLeft };
    })();
    return stopping;
  }

  return {
    start,
    stop,
    get started() {
      return started;
    },
    get context(): DaemonContext {
      if (!ctx) throw new Error('daemon not started');
      return ctx;
    },
  };
}

function named(name: string, f: { start(): Promise<void>; stop(): Promise<void> }): Feature {
  return { name, start: () => f.start(), stop: () => f.stop() };
}

