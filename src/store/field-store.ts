import type { Statement } from 'better-sqlite3';
import type { Contribution } from '../ccf/types.js';
import { H3lixError } from '../errors.js';
import { storeError, type Store } from './db.js';

/** Counter name of the field's local version in table `counters`. */
const LOCAL_VERSION = 'field.localVersion';

/** Options of `FieldStore`. `store`: the open store (no defaults). */
export interface FieldStoreOptions {
  store: Store;
}

interface Row {
  origin: string;
  key: string;
  sum: Buffer;
  count: number;
  version: number;
  hlc_wall: number;
  hlc_logical: number;
}

/** Float32 vectors are stored little-endian (every supported board is little-endian; checked here). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function rowToContribution(r: Row): Contribution {
  if (r.sum.byteLength % 4 !== 0 || r.sum.byteLength === 0) {
    throw new H3lixError('STORE_CORRUPT', `contribution ${r.origin}/${r.key}: sum blob is ${r.sum.byteLength} bytes, not a float32 vector`, {
      detail: { origin: r.origin, key: r.key },
    });
  }
  // Copy into an aligned buffer: SQLite blobs carry no alignment guarantee.
  const sum = new Float32Array(r.sum.byteLength / 4);
  new Uint8Array(sum.buffer).set(r.sum);
  return { origin: r.origin, key: r.key, sum, count: r.count, version: r.version, hlc: { wall: r.hlc_wall, logical: r.hlc_logical } };
}

/**
 * Persists the CCF (DESIGN section 3): one row per `(origin, key)` holding the latest contribution
 * (sum as a float32 blob, count, version, HLC) and the node's local version counter. `save` is one
 * fsync'd transaction: after it returns, the state survives power loss. The store keeps the join
 * invariant itself: a row is only replaced by a contribution with an equal or higher version, and the
 * local version only grows, so an out-of-order save can never roll state back.
 */
export class FieldStore {
  private readonly store: Store;
  private stmts: { upsert: Statement; setVersion: Statement; getVersion: Statement<[string], { value: number }>; all: Statement<[], Row> } | undefined;

  constructor(options: FieldStoreOptions) {
    if (!LITTLE_ENDIAN) throw new H3lixError('INTERNAL', 'FieldStore supports little-endian hosts only');
    this.store = options.store;
  }

  private get s() {
    if (!this.stmts) {
      const db = this.store.db;
      this.stmts = {
        upsert: db.prepare(
          `INSERT INTO contributions (origin, key, sum, count, version, hlc_wall, hlc_logical) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (origin, key) DO UPDATE SET sum = excluded.sum, count = excluded.count, version = excluded.version,
             hlc_wall = excluded.hlc_wall, hlc_logical = excluded.hlc_logical
           WHERE excluded.version >= contributions.version`,
        ),
        setVersion: db.prepare('INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)'),
        getVersion: db.prepare('SELECT value FROM counters WHERE name = ?') as Statement<[string], { value: number }>,
        all: db.prepare('SELECT * FROM contributions ORDER BY key, origin') as Statement<[], Row>,
      };
    }
    return this.stmts;
  }

  /** All stored contributions (sorted by key, then origin) and the local version (0 if never saved). */
  load(): { contributions: Contribution[]; localVersion: number } {
    try {
      const contributions = this.s.all.all().map(rowToContribution);
      const localVersion = this.s.getVersion.get(LOCAL_VERSION)?.value ?? 0;
      return { contributions, localVersion };
    } catch (err) {
      throw storeError(err, 'load field', this.store.path);
    }
  }

  /** Persist changed contributions and the local version in one durable transaction. */
  save(changed: readonly Contribution[], localVersion: number): void {
    if (!Number.isSafeInteger(localVersion) || localVersion < 0) {
      throw new H3lixError('INTERNAL', `FieldStore.save: localVersion ${localVersion} is not a safe non-negative integer`);
    }
    try {
      this.store.db.transaction(() => {
        for (const c of changed) {
          const sum = Buffer.from(c.sum.buffer, c.sum.byteOffset, c.sum.byteLength);
          this.s.upsert.run(c.origin, c.key, sum, c.count, c.version, c.hlc.wall, c.hlc.logical);
        }
        this.s.setVersion.run(LOCAL_VERSION, localVersion);
      })();
    } catch (err) {
      throw storeError(err, 'save field', this.store.path);
    }
  }

  /** Delete one `(origin, key)` row (compaction). Returns whether it existed. */
  remove(origin: string, key: string): boolean {
    try {
      return this.store.db.prepare('DELETE FROM contributions WHERE origin = ? AND key = ?').run(origin, key).changes > 0;
    } catch (err) {
      throw storeError(err, 'remove contribution', this.store.path);
    }
  }

  /** Delete every row of an origin (retention compaction of a silent origin). Returns rows removed. */
  removeOrigin(origin: string): number {
    try {
      return this.store.db.prepare('DELETE FROM contributions WHERE origin = ?').run(origin).changes;
    } catch (err) {
      throw storeError(err, 'remove origin', this.store.path);
    }
  }
}
