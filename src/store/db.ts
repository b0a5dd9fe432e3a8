import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { H3lixError } from '../errors.js';
import { systemClock, type Clock } from '../util/clock.js';
import { silentLogger, type Logger } from '../util/logger.js';
import { fsyncDir } from './atomic-file.js';
import { MIGRATIONS, type Migration } from './migrations.js';

/** File name of the state database inside the data directory. */
export const DB_FILE = 'h3lix.db';

/**
 * Options of `openStore`.
 * - `dataDir`: directory holding `h3lix.db` (created 0700 if missing, unless `readonly`).
 * - `logger`: default silent. `clock`: default `systemClock` (stamps outbox rows, corrupt-file names).
 * - `readonly`: open an existing database read-only (inspection; no migrations). Default false.
 * - `onCorrupt`: what to do with a database that fails to open or fails `PRAGMA quick_check`.
 *   `move-aside` (default) renames `h3lix.db`, `-wal`, `-shm` to `h3lix.db.corrupt-<time>[...]` and
 *   throws STORE_CORRUPT saying where they went (the next start begins empty; identity is separate and kept).
 *   `refuse` leaves every file untouched and throws STORE_CORRUPT. Read-only opens always refuse.
 * - `integrityCheck`: `quick` (default, `PRAGMA quick_check`), `full` (`integrity_check`) or `off`.
 * - `migrations`: schema steps; default `MIGRATIONS` (tests pass their own).
 */
export interface StoreOptions {
  dataDir: string;
  logger?: Logger;
  clock?: Clock;
  readonly?: boolean;
  onCorrupt?: 'move-aside' | 'refuse';
  integrityCheck?: 'quick' | 'full' | 'off';
  migrations?: readonly Migration[];
}

/** An open state database. One per process per data directory. */
export interface Store {
  /** The better-sqlite3 handle (WAL, synchronous=FULL). */
  readonly db: Database.Database;
  readonly dataDir: string;
  readonly path: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly readonly: boolean;
  /** Schema version after migrations (`PRAGMA user_version`). */
  readonly schemaVersion: number;
  /**
   * Run `fn` with `synchronous=NORMAL`: its commit is not fsync'd on its own but becomes durable with
   * the next FULL commit or checkpoint (WAL keeps order). Only for writes whose loss after a power cut
   * is harmless (outbox acks: at worst a duplicate QoS 1 resend). Inside an open transaction it just
   * runs `fn` (the enclosing commit is FULL).
   */
  relaxed<T>(fn: () => T): T;
  close(): void;
}

const CORRUPT_CODES = /^SQLITE_(CORRUPT|NOTADB)/;

/** Map a better-sqlite3 / fs error to STORE_CORRUPT or STORE_IO naming what was being done. */
export function storeError(err: unknown, what: string, path: string): H3lixError {
  if (err instanceof H3lixError) return err;
  const code = (err as { code?: unknown } | undefined)?.code;
  const codeStr = typeof code === 'string' ? code : 'unknown';
  const msg = err instanceof Error ? err.message : String(err);
  if (CORRUPT_CODES.test(codeStr)) {
    return new H3lixError('STORE_CORRUPT', `${what}: ${path} is corrupt (${codeStr}: ${msg})`, { cause: err, detail: { path, sqlite: codeStr } });
  }
  const retryable = /^SQLITE_(BUSY|LOCKED|FULL|IOERR)|^E(NOSPC|AGAIN|BUSY|IO)$/.test(codeStr);
  return new H3lixError('STORE_IO', `${what}: ${path} (${codeStr}: ${msg})`, { cause: err, retryable, detail: { path, sqlite: codeStr } });
}

function timeStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[:.]/g, '-');
}

function moveAside(path: string, clock: Clock): string {
  const target = `${path}.corrupt-${timeStamp(clock.now())}`;
  for (const suffix of ['', '-wal', '-shm']) {
    if (existsSync(path + suffix)) renameSync(path + suffix, target + suffix);
  }
  return target;
}

function migrate(db: Database.Database, migrations: readonly Migration[], path: string, logger: Logger): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = migrations.length ? migrations[migrations.length - 1]!.version : 0;
  if (current > latest) {
    throw new H3lixError(
      'STORE_CORRUPT',
      `${path} has schema version ${current}, newer than this build's ${latest}: it was written by a newer h3lix; refusing to open (upgrade h3lix, or restore a matching backup)`,
      { detail: { path, reason: 'schema-newer', schemaVersion: current, supported: latest } },
    );
  }
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    })();
    logger.info({ from: current, to: m.version, description: m.description }, 'store schema migrated');
  }
  return Math.max(current, latest);
}

function runIntegrityCheck(db: Database.Database, mode: 'quick' | 'full' | 'off', path: string): void {
  if (mode === 'off') return;
  const rows = db.pragma(mode === 'full' ? 'integrity_check' : 'quick_check') as Array<Record<string, unknown>>;
  const problems = rows.map((r) => String(Object.values(r)[0])).filter((v) => v !== 'ok');
  if (problems.length) {
    throw new H3lixError('STORE_CORRUPT', `${path} failed ${mode} integrity check: ${problems.slice(0, 3).join('; ')}`, {
      detail: { path, problems: problems.slice(0, 10) },
    });
  }
}

/**
 * Open (creating and migrating if needed) `<dataDir>/h3lix.db` in WAL mode with `synchronous=FULL`:
 * a committed transaction survives power loss once the call returns. See `StoreOptions` for the
 * corrupt-database policy. Throws STORE_CORRUPT or STORE_IO (H3lixError) with the path and reason.
 */
export function openStore(options: StoreOptions): Store {
  const { dataDir } = options;
  const logger = options.logger ?? silentLogger();
  const clock = options.clock ?? systemClock;
  const ro = options.readonly ?? false;
  const path = join(dataDir, DB_FILE);
  if (!ro) {
    try {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw storeError(err, 'create data directory', dataDir);
    }
  }
  let db: Database.Database | undefined;
  let schemaVersion: number;
  try {
    const fresh = !ro && !existsSync(path);
    if (!ro && !fresh && statSync(path).size === 0) {
      // SQLite takes a 0-byte file as a new database: say so, the previous state is gone (issue 9 section 8).
      logger.warn({ path }, `${path} is 0 bytes (truncated?): starting an empty store; the field, outbox and sync state it held are lost and will be re-learned from peers`);
    }
    db = new Database(path, { readonly: ro, fileMustExist: ro });
    // Field state is not secret, but nothing in the data directory needs to be readable by others.
    if (fresh) chmodSync(path, 0o600);
    db.pragma('busy_timeout = 5000');
    if (!ro) {
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new H3lixError('STORE_IO', `${path}: could not enable WAL (journal_mode=${String(mode)})`, { detail: { path } });
      db.pragma('synchronous = FULL');
    }
    runIntegrityCheck(db, options.integrityCheck ?? 'quick', path);
    schemaVersion = ro ? (db.pragma('user_version', { simple: true }) as number) : migrate(db, options.migrations ?? MIGRATIONS, path, logger);
  } catch (raw) {
    db?.close();
    const err = storeError(raw, 'open store', path);
    const schemaNewer = err.detail?.reason === 'schema-newer';
    if (err.code !== 'STORE_CORRUPT' || ro || schemaNewer || options.onCorrupt === 'refuse') {
      if (err.code === 'STORE_CORRUPT' && !schemaNewer) logger.error({ path, err: err.message }, 'store is corrupt; left untouched');
      throw err;
    }
    let movedTo: string;
    try {
      movedTo = moveAside(path, clock);
      fsyncDir(dataDir);
    } catch (mvErr) {
      throw new H3lixError('STORE_CORRUPT', `${err.message}; moving it aside also failed, left in place`, { cause: mvErr, detail: { path } });
    }
    logger.error({ path, movedTo }, 'store is corrupt; moved aside, next start begins with an empty store');
    throw new H3lixError(
      'STORE_CORRUPT',
      `${err.message}. The database was moved aside to ${movedTo} (kept for recovery); the next start begins with an empty store (identity is unaffected, the field refills from peers)`,
      { cause: err, retryable: true, detail: { ...err.detail, path, movedTo } },
    );
  }
  const handle = db;
  let closed = false;
  return {
    db: handle,
    dataDir,
    path,
    clock,
    logger,
    readonly: ro,
    schemaVersion,
    relaxed<T>(fn: () => T): T {
      // Inside a caller's transaction the safety level cannot change (SQLite): the outer commit's applies.
      if (ro || handle.inTransaction) return fn();
      handle.pragma('synchronous = NORMAL');
      try {
        return fn();
      } finally {
        handle.pragma('synchronous = FULL');
      }
    },
    close() {
      if (closed) return;
      closed = true;
      handle.close();
    },
  };
}
