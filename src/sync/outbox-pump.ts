import type { Logger } from '../util/logger.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Transport, ConnectionStatus } from './transport.js';

/** One durable outbound message as the outbox hands it out, oldest first. */
export interface OutboxRow {
  id: number;
  topic: string;
  payload: Uint8Array;
  qos: 0 | 1;
  retain: boolean;
}

/** The slice of the durable outbox (src/store/outbox.ts) the pump uses. */
export interface OutboxPort {
  peek(n: number): OutboxRow[];
  ack(id: number): void;
  size(): { messages: number };
  expire(): number | void;
}

/** The slice of the transport the pump uses. */
export type PumpTransport = Pick<Transport, 'publish' | 'connected' | 'events'>;

/**
 * Options for {@link OutboxPump}.
 * - `outbox`, `transport`, `clock`: required.
 * - `window`: most messages in flight (published, PUBACK pending). Default 32.
 * - `expireEveryMs`: how often TTL expiry runs. Default 60000.
 * - `logger`: default none.
 */
export interface OutboxPumpOptions {
  outbox: OutboxPort;
  transport: PumpTransport;
  clock: Clock;
  window?: number;
  expireEveryMs?: number;
  logger?: Logger;
}

/** Counters of the pump. */
export interface PumpStats {
  published: number;
  acked: number;
  failed: number;
  bytes: number;
}

/**
 * Drains the durable outbox to MQTT (DESIGN section 9). A row is published (QoS as stored) only while
 * connected and deleted from the outbox only in the PUBACK callback, so mqtt.js's in-memory queue is
 * never the only copy: a crash or broker outage leaves every unacked row on disk. Rows are sent in
 * outbox order; after a reconnect the pump restarts from the oldest unacked row (receivers drop the
 * possible duplicates: replay guard and idempotent merge).
 */
export class OutboxPump {
  readonly stats: PumpStats = { published: 0, acked: 0, failed: 0, bytes: 0 };
  private readonly opts: OutboxPumpOptions;
  private readonly inflight = new Set<number>();
  /** Connection generation: callbacks from an older connection do not touch the current window. */
  private generation = 0;
  private running = false;
  private scheduled = false;
  private expireTimer: TimerHandle | undefined;
  private unsubscribe: (() => void) | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(opts: OutboxPumpOptions) {
    this.opts = opts;
  }

  start(): Promise<void> {
    if (this.running) return Promise.resolve();
    this.running = true;
    this.unsubscribe = this.opts.transport.events.on('status', (s: ConnectionStatus) => {
      this.generation++;
      this.inflight.clear();
      if (s === 'connected') this.kick();
    });
    this.scheduleExpire();
    this.kick();
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.running = false;
    this.unsubscribe?.();
    if (this.expireTimer) this.opts.clock.clearTimeout(this.expireTimer);
    this.expireTimer = undefined;
    this.wakeIdle();
    return Promise.resolve();
  }

  /** Rows waiting in the outbox (in flight included). */
  pending(): number {
    return this.opts.outbox.size().messages;
  }

  /** Ask the pump to look at the outbox (call after enqueue). */
  kick(): void {
    if (!this.running || this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /**
   * Resolve when the outbox is empty, or after `timeoutMs` (wall time) with false. Used by the
   * SIGTERM path to flush as far as possible.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    this.kick();
    while (this.opts.outbox.size().messages > 0) {
      const left = until - Date.now();
      if (left <= 0 || !this.running) return false;
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 50));
        this.idleWaiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return true;
  }

  private wakeIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  private pump(): void {
    const { outbox, transport } = this.opts;
    if (!this.running || !transport.connected) return;
    const window = this.opts.window ?? 32;
    if (this.inflight.size >= window) return;
    const rows = outbox.peek(window + this.inflight.size);
    const gen = this.generation;
    for (const row of rows) {
      if (this.inflight.size >= window) break;
      if (this.inflight.has(row.id)) continue;
      this.inflight.add(row.id);
      this.stats.published++;
      this.stats.bytes += row.payload.byteLength;
      transport.publish(row.topic, row.payload, { qos: row.qos, retain: row.retain }).then(
        () => {
          // [MQTT-4.3.2] PUBACK received: the broker owns the message now.
          try {
            outbox.ack(row.id);
          } catch (err) {
            this.opts.logger?.warn({ err: (err as Error).message, id: row.id }, 'outbox ack failed');
          }
          this.stats.acked++;
          if (gen === this.generation) this.inflight.delete(row.id);
          this.wakeIdle();
          this.kick();
        },
        (err: unknown) => {
          this.stats.failed++;
          if (gen === this.generation) this.inflight.delete(row.id);
          this.opts.logger?.debug({ err: (err as Error).message, id: row.id }, 'publish failed; row stays in the outbox');
        },
      );
    }
  }

  private scheduleExpire(): void {
    const every = this.opts.expireEveryMs ?? 60_000;
    this.expireTimer = this.opts.clock.setTimeout(() => {
      if (!this.running) return;
      try {
        const n = this.opts.outbox.expire();
        if (typeof n === 'number' && n > 0) this.opts.logger?.warn({ expired: n }, 'outbox rows expired unsent (ttl)');
      } catch (err) {
        this.opts.logger?.warn({ err: (err as Error).message }, 'outbox expiry failed');
      }
      this.scheduleExpire();
    }, every);
    this.expireTimer.unref?.();
  }
}
