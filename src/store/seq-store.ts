import type { Statement } from 'better-sqlite3';
import { H3lixError } from '../errors.js';
import { storeError, type Store } from './db.js';

/**
 * Options of `SeqStore`.
 * - `store`: the open store.
 * - `sender`: whose counter this is (this node's id; a new identity starts a new counter).
 * - `blockSize`: how many seqs are reserved ahead with one fsync'd write. Default 1000.
 */
export interface SeqStoreOptions {
  store: Store;
  sender: string;
  blockSize?: number;
}

/**
 * This node's envelope `seq` (DESIGN section 7: per-sender monotonic, receivers drop replays).
 * Seqs are handed out from a reserved block: the block's upper end is committed (synchronous=FULL)
 * before any seq in it is used, and after a restart counting resumes above the last reserved end.
 * So a seq never repeats across crashes or power loss; a crash skips at most `blockSize - 1` values
 * (receivers see a gap, which they must tolerate anyway). First seq is 1.
 * Called inside a caller's transaction, a reservation commits with that transaction; if it rolls
 * back, the next call outside any transaction notices and reserves again above every seq handed out.
 */
export class SeqStore {
  private readonly store: Store;
  private readonly name: string;
  private readonly blockSize: number;
  private last: number | undefined;
  private reserved = 0;
  /** A block was reserved inside a caller's transaction, which may have rolled back. */
  private reservationUncertain = false;

  constructor(options: SeqStoreOptions) {
    this.store = options.store;
    this.name = `seq:${options.sender}`;
    this.blockSize = Math.max(1, Math.floor(options.blockSize ?? 1000));
  }

  private init(): number {
    try {
      const row = this.store.db.prepare('SELECT value FROM counters WHERE name = ?').get(this.name) as { value: number } | undefined;
      this.reserved = row?.value ?? 0;
    } catch (err) {
      throw storeError(err, 'read seq reservation', this.store.path);
    }
    this.last = this.reserved;
    return this.last;
  }

  /** The next seq (strictly greater than every seq ever returned for this sender). */
  next(): number {
    const db = this.store.db;
    if (this.reservationUncertain && !db.inTransaction) {
      // The caller's transaction ended: if it rolled back, the reservation is gone; take a new one.
      this.reservationUncertain = false;
      try {
        const row = db.prepare('SELECT value FROM counters WHERE name = ?').get(this.name) as { value: number } | undefined;
        this.reserved = Math.min(this.reserved, row?.value ?? 0);
      } catch (err) {
        throw storeError(err, 'read seq reservation', this.store.path);
      }
    }
    let seq = (this.last ?? this.init()) + 1;
    if (seq > this.reserved) {
      // Read-and-reserve in one IMMEDIATE transaction: even a second process on the same data
      // directory (a mistake, but possible) continues above whatever was reserved meanwhile.
      if (db.inTransaction) this.reservationUncertain = true;
      try {
        const base = db
          .transaction(() => {
            const row = db.prepare('SELECT value FROM counters WHERE name = ?').get(this.name) as { value: number } | undefined;
            const from = Math.max(seq - 1, row?.value ?? 0);
            db.prepare('INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value').run(this.name, from + this.blockSize);
            return from;
          })
          .immediate();
        seq = base + 1;
        this.reserved = base + this.blockSize;
      } catch (err) {
        throw storeError(err, 'reserve seq block', this.store.path);
      }
    }
    if (!Number.isSafeInteger(seq)) throw new H3lixError('INTERNAL', `seq counter for ${this.name} exhausted`);
    this.last = seq;
    return seq;
  }

  /** The last seq handed out by this instance, or the restart floor before the first `next()`. */
  current(): number {
    return this.last ?? this.init();
  }
}

/** A value in the key-value store: bytes or text, returned as stored. */
export type KvValue = Uint8Array | string;

/**
 * A tiny durable key-value map (table `kv`) for the sync helper's small state (peer vectors, last
 * digests, cursors). Every `set`/`delete` is its own fsync'd transaction; batch with `setMany`.
 * Keys are free-form; by convention `<area>.<name>`.
 */
export class KvStore {
  private readonly store: Store;
  private stmts: { get: Statement<[string], { value: Buffer | string }>; set: Statement<[string, Buffer | string]>; del: Statement<[string]> } | undefined;

  constructor(options: { store: Store }) {
    this.store = options.store;
  }

  private get s() {
    if (!this.stmts) {
      const db = this.store.db;
      this.stmts = {
        get: db.prepare('SELECT value FROM kv WHERE key = ?') as Statement<[string], { value: Buffer | string }>,
        set: db.prepare('INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
        del: db.prepare('DELETE FROM kv WHERE key = ?'),
      };
    }
    return this.stmts;
  }

  get(key: string): KvValue | undefined {
    try {
      const row = this.s.get.get(key);
      if (!row) return undefined;
      return typeof row.value === 'string' ? row.value : new Uint8Array(row.value.buffer, row.value.byteOffset, row.value.byteLength);
    } catch (err) {
      throw storeError(err, `kv get ${key}`, this.store.path);
    }
  }

  /** `get` for a value that must be bytes (STORE_CORRUPT if it is text). */
  getBytes(key: string): Uint8Array | undefined {
    const v = this.get(key);
    if (typeof v === 'string') throw new H3lixError('STORE_CORRUPT', `kv ${key} holds text, expected bytes`, { detail: { key } });
    return v;
  }

  /** `get` for a value that must be text (STORE_CORRUPT if it is bytes). */
  getString(key: string): string | undefined {
    const v = this.get(key);
    if (v instanceof Uint8Array) throw new H3lixError('STORE_CORRUPT', `kv ${key} holds bytes, expected text`, { detail: { key } });
    return v;
  }

  set(key: string, value: KvValue): void {
    this.setMany([[key, value]]);
  }

  /** Set several keys in one durable transaction. */
  setMany(entries: ReadonlyArray<readonly [string, KvValue]>): void {
    try {
      this.store.db.transaction(() => {
        for (const [k, v] of entries) this.s.set.run(k, typeof v === 'string' ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength));
      })();
    } catch (err) {
      throw storeError(err, 'kv set', this.store.path);
    }
  }

  delete(key: string): void {
    try {
      this.s.del.run(key);
    } catch (err) {
      throw storeError(err, `kv delete ${key}`, this.store.path);
    }
  }

  /** Keys starting with `prefix` (default: all), sorted. */
  keys(prefix = ''): string[] {
    try {
      const rows = this.store.db.prepare("SELECT key FROM kv WHERE substr(key, 1, length(?)) = ? ORDER BY key").all(prefix, prefix) as Array<{ key: string }>;
      return rows.map((r) => r.key);
    } catch (err) {
      throw storeError(err, 'kv keys', this.store.path);
    }
  }
}

/** Persistence for the sync helper's ReplayGuard state: one opaque blob under kv key `sync.replayGuard`. */
export class ReplayStateStore {
  static readonly KEY = 'sync.replayGuard';
  private readonly kv: KvStore;

  constructor(options: { store: Store }) {
    this.kv = new KvStore(options);
  }

  load(): Uint8Array | undefined {
    return this.kv.getBytes(ReplayStateStore.KEY);
  }

  save(state: Uint8Array): void {
    this.kv.set(ReplayStateStore.KEY, state);
  }
}
