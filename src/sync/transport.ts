import mqtt, { type MqttClient, type IClientOptions } from 'mqtt';
import { H3lixError } from '../errors.js';
import { TypedEvents } from '../util/events.js';
import type { Logger } from '../util/logger.js';
import { decodePresence, encodePresence, type Presence } from './presence.js';
import { clientTlsOptions, isTlsUrl, type ClientTls } from './tls.js';

/** Connection status of a {@link Transport}. */
export type ConnectionStatus = 'idle' | 'connecting' | 'connected' | 'disconnected' | 'stopped';

export interface TransportEvents {
  status: (status: ConnectionStatus, reason?: string) => void;
  message: (topic: string, payload: Buffer) => void;
}

/**
 * Options for {@link Transport}.
 * - `url`: broker URL (the embedded broker's or `broker.url`). Required.
 * - `clientId`: MQTT client id. Required (the daemon uses `h3lix-<fleet>-<node>`).
 * - `protocolVersion`: 4 (3.1.1) or 5. Default 4.
 * - `reconnectMs`: reconnect period. Default 1000.
 * - `keepaliveSeconds`: keepalive. Default 30.
 * - `username` / `password`: broker credentials. Default none.
 * - `credentials(clientId)`: called before the first connect and again on every reconnect; its result
 *   replaces `username`/`password` (fleet tokens expire after 12 h); a refused CONNECT is then retried
 *   (`reconnectOnConnackError`). Default none (static credentials; a refusal stops the retries).
 * - `stateTopic`: retained birth/death topic (`state/<node>`). Required.
 * - `birth()`: builds the birth published on every connect. Required.
 * - `death`: the presence used as the MQTT will and on clean stop. Required.
 * - `subscriptions`: topics subscribed (QoS 1) on every connect. Default none.
 * - `tls`: CA, client certificate and key (PEM) and the expected server name for `mqtts://` URLs
 *   (mutual TLS with the fleet's certificates, docs/fleet.md "TLS"). Called before every (re)connect,
 *   so a renewed certificate is used at the next connection. Default none (system CAs, no client
 *   certificate).
 * - `logger`: namespaced logger. Default silent.
 */
export interface TransportOptions {
  url: string;
  clientId: string;
  protocolVersion?: 4 | 5;
  reconnectMs?: number;
  keepaliveSeconds?: number;
  username?: string | undefined;
  password?: string | undefined;
  credentials?: (clientId: string) => { username: string; password: string };
  stateTopic: string;
  birth: () => Presence;
  death: Presence;
  subscriptions?: string[];
  tls?: () => ClientTls | undefined;
  logger?: Logger;
}

/**
 * The MQTT connection (mqtt.js 5). The will is the retained death on `state/<node>`; on every
 * (re)connect it subscribes, then publishes the retained birth before anything else, so peers learn
 * our key before our first delta. `queueQoSZero: false`: nothing is queued in memory while offline;
 * the durable outbox (outbox-pump.ts) owns every message until its PUBACK.
 */
export class Transport {
  readonly events = new TypedEvents<TransportEvents>();
  /**
   * `listenerErrors`: inbound messages or status changes whose listeners threw (a bug or unhandled bad
   * input downstream). Counted and logged here: a throw must never unwind into mqtt.js's packet
   * handling (it would kill the daemon). `birthsRestored`: see `guardOwnState`.
   */
  readonly counters = { listenerErrors: 0, birthsRestored: 0 };
  /** Pending rate-limited birth re-publish (see `guardOwnState`). */
  private restoreTimer: ReturnType<typeof setTimeout> | undefined;
  private lastRestore = -Infinity;
  private readonly opts: TransportOptions;
  private client: MqttClient | undefined;
  private current: ConnectionStatus = 'idle';
  private suspended = false;

  constructor(opts: TransportOptions) {
    this.opts = opts;
  }

  get status(): ConnectionStatus {
    return this.current;
  }

  get connected(): boolean {
    return this.current === 'connected';
  }

  /** Connect (resolves at once; connection progress arrives as `status` events). */
  start(): Promise<void> {
    if (this.client) return Promise.resolve();
    const o = this.opts;
    const options: IClientOptions = {
      clientId: o.clientId,
      protocolVersion: o.protocolVersion ?? 4,
      clean: true,
      reconnectPeriod: o.reconnectMs ?? 1000,
      keepalive: o.keepaliveSeconds ?? 30,
      connectTimeout: 10_000,
      queueQoSZero: false,
      resubscribe: false,
      will: { topic: o.stateTopic, payload: encodePresence(o.death), qos: 1, retain: true },
    };
    if (o.username !== undefined) options.username = o.username;
    if (o.password !== undefined) options.password = o.password;
    const fresh = this.freshCredentials();
    if (fresh) Object.assign(options, fresh);
    // A refused CONNECT (expired token) must not end the retries: the next attempt gets a fresh token.
    if (o.credentials) options.reconnectOnConnackError = true;
    Object.assign(options, this.freshTls());
    this.setStatus('connecting');
    const client = mqtt.connect(o.url, options);
    this.client = client;
    // mqtt.js emits 'reconnect' right before it builds the next CONNECT from client.options
    client.on('reconnect', () => {
      const c = this.freshCredentials();
      if (c) Object.assign(client.options, c);
      Object.assign(client.options, this.freshTls());
    });
    client.on('connect', () => this.onConnect(client));
    client.on('close', () => {
      if (this.current === 'connected') this.setStatus('disconnected', 'connection closed');
    });
    client.on('offline', () => {
      if (this.current !== 'stopped') this.setStatus('disconnected', 'offline');
    });
    client.on('error', (err) => o.logger?.debug({ err: err.message }, 'mqtt error'));
    client.on('message', (topic, payload) => this.deliver(topic, payload));
    return Promise.resolve();
  }

  /** Hand one inbound message to the listeners; a listener's throw is counted and logged, never rethrown. */
  private deliver(topic: string, payload: Buffer): void {
    if (topic === this.opts.stateTopic) this.guardOwnState(payload);
    try {
      this.events.emit('message', topic, payload);
    } catch (err) {
      this.counters.listenerErrors++;
      this.opts.logger?.error({ err: err instanceof Error ? err.message : String(err), topic, bytes: payload.length }, 'inbound message handler threw; message dropped');
    }
  }

  /**
   * Our retained `state/<node>` must hold our own online birth while we are connected: peers learn our
   * key from it. Any client allowed to publish there (open mode has no ACL) can overwrite it with
   * garbage or a fake death, and newcomers would then reject all our traffic. When what comes back is
   * not an online presence of ours with our key, publish the birth again (at most once a second).
   */
  private guardOwnState(payload: Buffer): void {
    if (!this.connected || this.restoreTimer) return;
    try {
      const p = decodePresence(payload);
      if (p.online && p.node === this.opts.death.node && p.fleet === this.opts.death.fleet && p.publicKey === this.opts.death.publicKey) return;
    } catch {
      // garbage: restore below
    }
    const wait = Math.max(0, this.lastRestore + 1000 - Date.now());
    this.restoreTimer = setTimeout(() => {
      this.restoreTimer = undefined;
      if (!this.connected) return;
      this.lastRestore = Date.now();
      this.counters.birthsRestored++;
      this.opts.logger?.warn({ topic: this.opts.stateTopic }, 'our retained state was overwritten by someone else; birth published again');
      this.refreshBirth();
    }, wait);
    this.restoreTimer.unref?.();
  }

  /** mqtt.js TLS options from `tls()` (empty when none or for a plain URL). */
  private freshTls(): Partial<IClientOptions> {
    if (!this.opts.tls || !isTlsUrl(this.opts.url)) return {};
    try {
      const t = this.opts.tls();
      return t ? clientTlsOptions(t) : {};
    } catch (err) {
      this.opts.logger?.warn({ err: (err as Error).message }, 'TLS material unavailable; reusing the previous one');
      return {};
    }
  }

  /** The current credentials from `credentials()`, or undefined (none configured, or it threw). */
  private freshCredentials(): { username: string; password: string } | undefined {
    if (!this.opts.credentials) return undefined;
    try {
      const c = this.opts.credentials(this.opts.clientId);
      return { username: c.username, password: c.password };
    } catch (err) {
      this.opts.logger?.warn({ err: (err as Error).message }, 'broker credentials unavailable; reusing the previous ones');
      return undefined;
    }
  }

  private onConnect(client: MqttClient): void {
    const subs = this.opts.subscriptions ?? [];
    const finish = () => {
      client.publish(this.opts.stateTopic, encodePresence(this.opts.birth()), { qos: 1, retain: true }, (err) => {
        if (err) this.opts.logger?.debug({ err: err.message }, 'birth publish failed');
      });
      this.setStatus('connected');
    };
    if (subs.length === 0) return finish();
    client.subscribe(subs, { qos: 1 }, (err) => {
      if (err) {
        this.opts.logger?.warn({ err: err.message }, 'subscribe failed; reconnecting');
        client.stream?.destroy();
        return;
      }
      finish();
    });
  }

  private setStatus(s: ConnectionStatus, reason?: string): void {
    if (s === this.current) return;
    this.current = s;
    this.opts.logger?.debug({ status: s, reason }, 'mqtt status');
    try {
      this.events.emit('status', s, reason);
    } catch (err) {
      // called from mqtt.js's connect/close handlers: a throw must not unwind into them
      this.counters.listenerErrors++;
      this.opts.logger?.error({ err: err instanceof Error ? err.message : String(err), status: s }, 'status listener threw');
    }
  }

  /**
   * Publish and resolve on PUBACK (QoS 1) or once written (QoS 0). Rejects with BROKER_UNAVAILABLE
   * when not connected: callers keep the message in the outbox instead of mqtt.js's memory.
   */
  publish(topic: string, payload: Uint8Array, opts: { qos: 0 | 1; retain: boolean }): Promise<void> {
    const client = this.client;
    if (!client || !this.connected) return Promise.reject(new H3lixError('BROKER_UNAVAILABLE', 'not connected', { retryable: true }));
    return new Promise((resolve, reject) => {
      client.publish(topic, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), opts, (err) => {
        if (err) reject(new H3lixError('BROKER_UNAVAILABLE', `publish to ${topic} failed: ${err.message}`, { cause: err, retryable: true }));
        else resolve();
      });
    });
  }

  /** Re-publish the birth now (energy mode or certificate changed). No-op when offline. */
  refreshBirth(): void {
    if (!this.client || !this.connected) return;
    this.client.publish(this.opts.stateTopic, encodePresence(this.opts.birth()), { qos: 1, retain: true }, () => undefined);
  }

  /**
   * Drop the connection without a DISCONNECT (the broker publishes our will), and stay offline until
   * `resume()`. Used to simulate a network partition (demo, tests) and by the energy feature.
   */
  suspend(): void {
    if (!this.client || this.suspended) return;
    this.suspended = true;
    this.client.options.reconnectPeriod = 0;
    this.client.stream?.destroy();
    this.setStatus('disconnected', 'suspended');
  }

  /** Reconnect after `suspend()`. */
  resume(): void {
    if (!this.client || !this.suspended) return;
    this.suspended = false;
    this.client.options.reconnectPeriod = this.opts.reconnectMs ?? 1000;
    this.setStatus('connecting');
    // If the destroyed stream's close is still pending (resume right after suspend), mqtt.js's own
    // close handler schedules the reconnect now that reconnectPeriod is back; reconnecting here too
    // would race that close and could leave the client waiting on the dead stream.
    if (!this.client.connected) this.client.reconnect();
  }

  /** Publish the retained death (when connected) and disconnect cleanly. */
  async stop(): Promise<void> {
    const client = this.client;
    if (!client) return;
    if (this.connected) {
      await Promise.race([
        new Promise<void>((r) => client.publish(this.opts.stateTopic, encodePresence({ ...this.opts.death, ts: Date.now() }), { qos: 1, retain: true }, () => r())),
        new Promise<void>((r) => setTimeout(r, 1000).unref()),
      ]);
    }
    this.setStatus('stopped');
    if (this.restoreTimer) clearTimeout(this.restoreTimer);
    this.restoreTimer = undefined;
    this.client = undefined;
    await client.endAsync(true).catch(() => undefined);
  }
}
