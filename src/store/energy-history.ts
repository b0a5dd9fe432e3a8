import type { Statement } from 'better-sqlite3';
import type { EnergyHistoryPoint, EnergyHistoryStore } from '../energy/history.js';
import { ENERGY_MODES, type EnergyMode } from '../energy/modes.js';
import { moduleLogger, type Logger } from '../util/logger.js';
import { storeError, type Store } from './db.js';

/**
 * Options of `SqliteEnergyHistoryStore`.
 * - `store`: the open store (schema v2 or later: table `energy_history`).
 * - `maxPoints`: rows kept; after each append the oldest (by time) beyond it are deleted. Default 10080
 *   (config `energy.historyMaxPoints`, 7 days at one point a minute).
 * - `maxAgeMs`: rows older than the NEWEST stored point minus this are deleted after each append.
 *   Measured from the newest point, not the wall clock, so a board booting without an RTC (clock in
 *   1970) does not wipe its history, and a clock stepped forward only ages what is really older.
 *   Default 8 days.
 */
export interface SqliteEnergyHistoryStoreOptions {
  store: Store;
  maxPoints?: number;
  maxAgeMs?: number;
}

interface Row {
  time: number;
  soc: number;
  battery_voltage: number;
  battery_current: number;
  pv_power: number;
  load_power: number;
  mode: EnergyMode;
}

const NUMERIC: ReadonlyArray<keyof EnergyHistoryPoint> = ['time', 'soc', 'batteryVoltage', 'batteryCurrent', 'pvPower', 'loadPower'];

/** A point SQLite can store as given: finite numbers (NaN would become NULL) and a known mode. */
function storable(p: EnergyHistoryPoint): boolean {
  return NUMERIC.every((k) => Number.isFinite(p[k])) && (ENERGY_MODES as readonly string[]).includes(p.mode);
}

/**
 * Energy history in the state database (DESIGN section 9: it survives power loss). `append` writes a
 * batch in ONE transaction (synchronous=FULL: durable when it returns) together with the pruning, so
 * the table is always bounded and a power cut leaves either the whole batch or none of it. `load`
 * returns points at or after `sinceMs`, oldest first (ties in time keep append order).
 * Points with a non-finite number or an unknown mode are skipped with a warning rather than failing
 * the batch (a failed flush is retried forever by `EnergyHistory`, which would wedge it).
 */
export class SqliteEnergyHistoryStore implements EnergyHistoryStore {
  private readonly store: Store;
  private readonly maxPoints: number;
  private readonly maxAgeMs: number;
  private readonly log: Logger;
  private stmts: { insert: Statement; count: Statement; newest: Statement; pruneAge: Statement; pruneCount: Statement; load: Statement } | undefined;

  constructor(options: SqliteEnergyHistoryStoreOptions) {
    this.store = options.store;
    this.maxPoints = Math.max(1, Math.floor(options.maxPoints ?? 10_080));
    this.maxAgeMs = options.maxAgeMs ?? 8 * 86_400_000;
    this.log = moduleLogger(options.store.logger, 'energy-history');
  }

  private statements(): NonNullable<SqliteEnergyHistoryStore['stmts']> {
    if (this.stmts) return this.stmts;
    const db = this.store.db;
    this.stmts = {
      insert: db.prepare(
        'INSERT INTO energy_history (time, soc, battery_voltage, battery_current, pv_power, load_power, mode) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      count: db.prepare('SELECT COUNT(*) AS n FROM energy_history'),
      newest: db.prepare('SELECT MAX(time) AS t FROM energy_history'),
      pruneAge: db.prepare('DELETE FROM energy_history WHERE time < ?'),
      pruneCount: db.prepare('DELETE FROM energy_history WHERE id IN (SELECT id FROM energy_history ORDER BY time, id LIMIT ?)'),
      load: db.prepare(
        'SELECT time, soc, battery_voltage, battery_current, pv_power, load_power, mode FROM energy_history WHERE time >= ? ORDER BY time, id',
      ),
    };
    return this.stmts;
  }

  /** Append `points` and prune, in one durable transaction. Throws STORE_IO / STORE_CORRUPT. */
  append(points: readonly EnergyHistoryPoint[]): void {
    const good = points.filter(storable);
    if (good.length < points.length) this.log.warn({ skipped: points.length - good.length }, 'energy history points with non-finite values or unknown mode not stored');
    if (good.length === 0) return;
    try {
      const s = this.statements();
      this.store.db.transaction(() => {
        for (const p of good) s.insert.run(p.time, p.soc, p.batteryVoltage, p.batteryCurrent, p.pvPower, p.loadPower, p.mode);
        const newest = (s.newest.get() as { t: number | null }).t;
        if (newest !== null && Number.isFinite(this.maxAgeMs)) s.pruneAge.run(newest - this.maxAgeMs);
        const n = (s.count.get() as { n: number }).n;
        if (n > this.maxPoints) s.pruneCount.run(n - this.maxPoints);
      })();
    } catch (err) {
      throw storeError(err, 'append energy history', this.store.path);
    }
  }

  /** Stored points with `time >= sinceMs`, oldest first. */
  load(sinceMs: number): EnergyHistoryPoint[] {
    try {
      const rows = this.statements().load.all(sinceMs) as Row[];
      return rows.map((r) => ({
        time: r.time,
        soc: r.soc,
        batteryVoltage: r.battery_voltage,
        batteryCurrent: r.battery_current,
        pvPower: r.pv_power,
        loadPower: r.load_power,
        mode: r.mode,
      }));
    } catch (err) {
      throw storeError(err, 'load energy history', this.store.path);
    }
  }

  /** Number of stored points. */
  size(): number {
    try {
      return (this.statements().count.get() as { n: number }).n;
    } catch (err) {
      throw storeError(err, 'count energy history', this.store.path);
    }
  }
}
