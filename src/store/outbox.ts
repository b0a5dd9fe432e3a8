import type { Statement } from 'better-sqlite3';
import { H3lixError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import { silentLogger, type Logger } from '../util/logger.js';
import { storeError, type Store } from './db.js';

/** One stored outbound MQTT message. `id` grows with enqueue order and is never reused. */
export interface OutboxMessage {
  id: number;
  topic: string;
  payload: Uint8Array;
  qos: 0 | 1;
  retain: boolean;
  /** Wall-clock ms at enqueue (TTL is measured from it). */
  createdAt: number;
  coalesceKey?: string;
}

export interface EnqueueInput {
  topic: string;
  payload: Uint8Array;
  qos: 0 | 1;
  retain: boolean;
  /**
   * Messages that only matter in their latest form (digest, state, energy) pass a key: enqueueing
   * replaces any still-unacked message with the same key. Default: none (never coalesced).
   */
  coalesceKey?: string;
}

/** Why a message left the outbox without being acknowledged. */
export type DropReason = 'overflow' | 'coalesced' | 'expired';

export interface OutboxStats {
  messages: number;
  bytes: number;
  /** Counters since this Outbox was created (process lifetime). */
  enqueued: number;
  acked: number;
  dropped: Record<DropReason, number>;
}

/**
 * Options of `Outbox`.
 * - `store`: the open store. `clock`: default `store.clock`. `logger`: default silent.
 * - `maxMessages`: most messages held (config `sync.outbox.maxMessages`, default 10000).
 * - `maxBytes`: most payload bytes held (config `sync.outbox.maxBytes`, default 64 MiB).
 * - `ttlSeconds`: unsent messages older than this are dropped by `expire()` and never returned by
 *   `peek()` (config `sync.outbox.ttlSeconds`, default 7 days).
 */
export interface OutboxOptions {
  store: Store;
  clock?: Clock;
  maxMessages?: number;
  maxBytes?: number;
  ttlSeconds?: number;
  logger?: Logger;
}

/** Wall times before 2020-01-01 are an unset RTC: such rows are re-stamped rather than expired. */
const PLAUSIBLE_WALL_MS = Date.UTC(2020, 0, 1);

interface Row {
  id: number;
  topic: string;
  payload: Buffer;
  qos: number;
  retain: number;
  created_at: number;
  coalesce_key: string | null;
}

/**
 * The durable outbox (DESIGN section 9). Ordering: FIFO by enqueue order (`id`). A message is on disk
 * (fsync'd, `synchronous=FULL`) when `enqueue` returns, and stays until `ack(id)` after the broker's
 * PUBACK (at-least-once: a crash between publish and ack resends it; CCF merge is idempotent).
 * Overflow (after inserting, while over `maxMessages` or `maxBytes`): drop the oldest messages without
 * a coalesce key first (deltas: anti-entropy re-sends whatever they carried), then the oldest coalesced
 * ones; never the message just enqueued. A single payload larger than `maxBytes` is rejected with
 * OUTBOX_FULL. Every drop is counted by reason in `stats()`.
 */
export class Outbox {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly maxMessages: number;
  private readonly maxBytes: number;
  private readonly ttlMs: number;
  private stmts: ReturnType<Outbox['prepare']> | undefined;
  private count = 0;
  /** Set when a write ran inside a caller's transaction, which may still roll back. */
  private mirrorUncertain = false;
  private bytes = 0;
  private readonly counters = { enqueued: 0, acked: 0, dropped: { overflow: 0, coalesced: 0, expired: 0 } };

  constructor(options: OutboxOptions) {
    this.store = options.store;
    this.clock = options.clock ?? options.store.clock;
    this.logger = options.logger ?? silentLogger();
    this.maxMessages = options.maxMessages ?? 10_000;
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.ttlMs = (options.ttlSeconds ?? 7 * 24 * 3600) * 1000;
  }

  private prepare() {
    const db = this.store.db;
    const s = {
      insert: db.prepare('INSERT INTO outbox (topic, payload, qos, retain, created_at, coalesce_key) VALUES (?, ?, ?, ?, ?, ?)'),
      byKey: db.prepare('SELECT id, length(payload) AS n FROM outbox WHERE coalesce_key = ?') as Statement<[string], { id: number; n: number }>,
      del: db.prepare('DELETE FROM outbox WHERE id = ? RETURNING length(payload) AS n') as Statement<[number], { n: number }>,
      oldestPlain: db.prepare('SELECT id, length(payload) AS n FROM outbox WHERE coalesce_key IS NULL AND id != ? ORDER BY id LIMIT 64') as Statement<[number], { id: number; n: number }>,
      oldestAny: db.prepare('SELECT id, length(payload) AS n FROM outbox WHERE id != ? ORDER BY id LIMIT 64') as Statement<[number], { id: number; n: number }>,
      peek: db.prepare('SELECT * FROM outbox WHERE id > ? AND (created_at >= ? OR created_at < ?) ORDER BY id LIMIT ?') as Statement<[number, number, number, number], Row>,
      expired: db.prepare('DELETE FROM outbox WHERE created_at < ? RETURNING length(payload) AS n') as Statement<[number], { n: number }>,
      restamp: db.prepare('UPDATE outbox SET created_at = ? WHERE created_at < ? OR created_at > ?'),
      totals: db.prepare('SELECT count(*) AS c, coalesce(sum(length(payload)), 0) AS b FROM outbox') as Statement<[], { c: number; b: number }>,
    };
    const t = s.totals.get()!;
    this.count = t.c;
    this.bytes = t.b;
    return s;
  }

  private get s() {
    if (!this.stmts) this.stmts = this.prepare();
    return this.stmts;
  }

  /**
   * Keep the in-memory count/bytes mirror exact. Writes inside a caller's transaction update it
   * provisionally; the first call after that transaction ended re-reads the totals from disk.
   */
  private checkMirror(): void {
    const db = this.store.db;
    if (db.inTransaction) {
      this.mirrorUncertain = true;
    } else if (this.mirrorUncertain) {
      this.mirrorUncertain = false;
      this.resync();
    }
  }

  private wrap<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      this.resync();
      throw storeError(err, `outbox ${what}`, this.store.path);
    }
  }

  /** After a rolled-back transaction, re-read the totals mirror from disk (best effort). */
  private resync(): void {
    try {
      const t = this.s.totals.get()!;
      this.count = t.c;
      this.bytes = t.b;
    } catch {
      this.stmts = undefined;
    }
  }

  private deleteRow(id: number, reason: DropReason | 'acked'): boolean {
    const r = this.s.del.get(id);
    if (!r) return false;
    this.count--;
    this.bytes -= r.n;
    if (reason === 'acked') this.counters.acked++;
    else this.counters.dropped[reason]++;
    return true;
  }

  /** Store a message durably; returns its id. Throws OUTBOX_FULL if the payload alone exceeds maxBytes. */
  enqueue(msg: EnqueueInput): number {
    this.checkMirror();
    const size = msg.payload.byteLength;
    if (size > this.maxBytes) {
      throw new H3lixError('OUTBOX_FULL', `outbox message for ${msg.topic} is ${size} bytes, larger than outbox maxBytes ${this.maxBytes}`, {
        detail: { topic: msg.topic, bytes: size, maxBytes: this.maxBytes },
      });
    }
    const s = this.s;
    try {
      return this.store.db.transaction(() => {
        if (msg.coalesceKey !== undefined) {
          for (const old of s.byKey.all(msg.coalesceKey)) this.deleteRow(old.id, 'coalesced');
        }
        const info = s.insert.run(msg.topic, Buffer.from(msg.payload.buffer, msg.payload.byteOffset, size), msg.qos, msg.retain ? 1 : 0, this.clock.now(), msg.coalesceKey ?? null);
        const id = Number(info.lastInsertRowid);
        this.count++;
        this.bytes += size;
        this.enforceCaps(id);
        this.counters.enqueued++;
        return id;
      })();
    } catch (err) {
      this.resync();
      throw storeError(err, 'enqueue', this.store.path);
    }
  }

  private enforceCaps(keepId: number): void {
    const over = () => this.count > this.maxMessages || this.bytes > this.maxBytes;
    let dropped = 0;
    for (const query of [this.s.oldestPlain, this.s.oldestAny]) {
      while (over()) {
        const victims = query.all(keepId);
        if (!victims.length) break;
        for (const v of victims) {
          if (!over()) break;
          if (this.deleteRow(v.id, 'overflow')) dropped++;
        }
      }
    }
    if (dropped) this.logger.warn({ dropped, messages: this.count, bytes: this.bytes }, 'outbox full: dropped oldest messages');
  }

  /**
   * Up to `limit` unexpired messages, oldest first, with `id > afterId` (default 0: from the head).
   * Peeking does not remove: a message stays until `ack`, is coalesced away, overflows or expires.
   */
  peek(limit: number, afterId = 0): OutboxMessage[] {
    const cutoff = this.clock.now() - this.ttlMs;
    const rows = this.wrap('peek', () => this.s.peek.all(afterId, cutoff, PLAUSIBLE_WALL_MS, Math.max(0, Math.floor(limit))));
    return rows.map((r) => {
      const m: OutboxMessage = {
        id: r.id,
        topic: r.topic,
        payload: new Uint8Array(r.payload.buffer, r.payload.byteOffset, r.payload.byteLength),
        qos: r.qos === 1 ? 1 : 0,
        retain: r.retain === 1,
        createdAt: r.created_at,
      };
      if (r.coalesce_key !== null) m.coalesceKey = r.coalesce_key;
      return m;
    });
  }

  /**
   * Remove a message the broker acknowledged (PUBACK; for QoS 0 once written to the socket). Unknown
   * ids (already coalesced, dropped or acked) are ignored. Acks are committed with synchronous=NORMAL:
   * losing one to a power cut only causes a duplicate resend.
   */
  ack(id: number): void {
    this.ackMany([id]);
  }

  /** `ack` for several ids in one transaction. Returns how many were still present. */
  ackMany(ids: readonly number[]): number {
    this.checkMirror();
    if (!ids.length) return 0;
    try {
      return this.store.relaxed(() =>
        this.store.db.transaction(() => {
          let n = 0;
          for (const id of ids) if (this.deleteRow(id, 'acked')) n++;
          return n;
        })(),
      );
    } catch (err) {
      this.resync();
      throw storeError(err, 'ack', this.store.path);
    }
  }

  /** Messages and payload bytes currently held. */
  size(): { messages: number; bytes: number } {
    void this.s;
    this.checkMirror();
    return { messages: this.count, bytes: this.bytes };
  }

  /**
   * Drop messages older than the TTL; returns how many. Rows stamped with an implausible wall time
   * (before 2020: RTC not set yet, or more than a minute in the future: clock stepped back) are
   * re-stamped to now instead, so a clock fix neither mass-expires nor immortalises them.
   */
  expire(): number {
    this.checkMirror();
    const now = this.clock.now();
    if (now < PLAUSIBLE_WALL_MS) return 0;
    // Relaxed durability: an expiry lost to a power cut is simply redone.
    return this.wrap('expire', () =>
      this.store.relaxed(() => this.store.db.transaction(() => {
        this.s.restamp.run(now, PLAUSIBLE_WALL_MS, now + 60_000);
        const gone = this.s.expired.all(now - this.ttlMs);
        for (const g of gone) {
          this.count--;
          this.bytes -= g.n;
        }
        this.counters.dropped.expired += gone.length;
        if (gone.length) this.logger.warn({ expired: gone.length }, 'outbox: dropped expired messages');
        return gone.length;
      })()),
    );
  }

  stats(): OutboxStats {
    const { messages, bytes } = this.size();
    return { messages, bytes, enqueued: this.counters.enqueued, acked: this.counters.acked, dropped: { ...this.counters.dropped } };
  }
}
