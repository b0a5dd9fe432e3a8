import type { Database } from 'better-sqlite3';

/**
 * Schema migrations, applied in order by `openStore`. The schema version is SQLite's
 * `PRAGMA user_version`; each migration runs in its own transaction together with the version bump,
 * so a crash mid-migration leaves the previous version intact. Append only: never edit a shipped step.
 */
export interface Migration {
  /** The schema version this step produces (1, 2, ...; contiguous). */
  version: number;
  description: string;
  up(db: Database): void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'field contributions, counters, outbox, kv',
    up(db) {
      db.exec(`
        CREATE TABLE contributions (
          origin      TEXT    NOT NULL,
          key         TEXT    NOT NULL,
          sum         BLOB    NOT NULL,  -- Float32 little-endian, dim = length / 4
          count       REAL    NOT NULL,
          version     INTEGER NOT NULL,
          hlc_wall    INTEGER NOT NULL,
          hlc_logical INTEGER NOT NULL,
          PRIMARY KEY (origin, key)
        ) WITHOUT ROWID;
        CREATE INDEX contributions_key ON contributions (key);

        -- named monotonic integers: field local version, seq reservations
        CREATE TABLE counters (
          name  TEXT    PRIMARY KEY,
          value INTEGER NOT NULL
        ) WITHOUT ROWID;

        -- AUTOINCREMENT: ids are never reused, so a late ack can never delete a newer message
        CREATE TABLE outbox (
          id           INTEGER PRIMARY KEY AUTOINCREMENT,
          topic        TEXT    NOT NULL,
          payload      BLOB    NOT NULL,
          qos          INTEGER NOT NULL CHECK (qos IN (0, 1)),
          retain       INTEGER NOT NULL CHECK (retain IN (0, 1)),
          created_at   INTEGER NOT NULL,
          coalesce_key TEXT
        );
        CREATE INDEX outbox_coalesce ON outbox (coalesce_key) WHERE coalesce_key IS NOT NULL;

        CREATE TABLE kv (
          key   TEXT PRIMARY KEY,
          value BLOB NOT NULL  -- BLOB affinity: stored exactly as given (bytes or text)
        ) WITHOUT ROWID;
      `);
    },
  },
  {
    version: 2,
    description: 'energy history',
    up(db) {
      db.exec(`
        -- one row per energy history point (src/store/energy-history.ts); rowid breaks ties in time
        CREATE TABLE energy_history (
          id              INTEGER PRIMARY KEY,
          time            INTEGER NOT NULL,  -- wall ms of the reading
          soc             REAL    NOT NULL,
          battery_voltage REAL    NOT NULL,
          battery_current REAL    NOT NULL,
          pv_power        REAL    NOT NULL,
          load_power      REAL    NOT NULL,
          mode            TEXT    NOT NULL CHECK (mode IN ('survival', 'conserve', 'normal', 'surplus'))
        );
        CREATE INDEX energy_history_time ON energy_history (time);
      `);
    },
  },
];

/** The newest schema version this build knows. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
