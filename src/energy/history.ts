import type { EnergyMode } from './modes.js';

/** One point of energy history (one per ingested reading, or throttled by the caller). */
export interface EnergyHistoryPoint {
  time: number;
  soc: number;
  batteryVoltage: number;
  batteryCurrent: number;
  pvPower: number;
  loadPower: number;
  mode: EnergyMode;
}

/**
 * Persistence hook for energy history (DESIGN section 9: it must survive power loss). The lead wires a
 * SQLite implementation; `append` receives points in time order, `load` returns points at or after
 * `sinceMs` in time order (used to warm the forecaster after a restart).
 */
export interface EnergyHistoryStore {
  append(points: readonly EnergyHistoryPoint[]): void | Promise<void>;
  load(sinceMs: number): readonly EnergyHistoryPoint[] | Promise<readonly EnergyHistoryPoint[]>;
}

/** Options of `EnergyHistory`. */
export interface EnergyHistoryOptions {
  /** Points kept in memory (oldest dropped). Default 10080 (7 days at one a minute). */
  maxPoints?: number;
  /** Where `flush()` writes; none = memory only. Default none. */
  store?: EnergyHistoryStore;
}

/** Bounded in-memory energy history with a write-behind persistence hook. */
export class EnergyHistory {
  private readonly maxPoints: number;
  private readonly store: EnergyHistoryStore | undefined;
  private points: EnergyHistoryPoint[] = [];
  private pending: EnergyHistoryPoint[] = [];

  constructor(options: EnergyHistoryOptions = {}) {
    this.maxPoints = options.maxPoints ?? 10_080;
    this.store = options.store;
  }

  add(point: EnergyHistoryPoint): void {
    this.points.push(point);
    if (this.points.length > this.maxPoints) this.points.splice(0, this.points.length - this.maxPoints);
    if (this.store) this.pending.push(point);
  }

  /** Points with time >= sinceMs, oldest first. */
  since(sinceMs: number): EnergyHistoryPoint[] {
    return this.points.filter((p) => p.time >= sinceMs);
  }

  size(): number {
    return this.points.length;
  }

  /** Write pending points to the store. On failure they stay pending and the error is rethrown. */
  async flush(): Promise<number> {
    if (!this.store || this.pending.length === 0) return 0;
    const batch = this.pending;
    this.pending = [];
    try {
      await this.store.append(batch);
      return batch.length;
    } catch (err) {
      this.pending = batch.concat(this.pending);
      throw err;
    }
  }

  /** Load persisted points (e.g. at start) into memory; returns them for warming the forecaster. */
  async restore(sinceMs: number): Promise<readonly EnergyHistoryPoint[]> {
    if (!this.store) return [];
    const loaded = await this.store.load(sinceMs);
    this.points = [...loaded, ...this.points].slice(-this.maxPoints);
    return loaded;
  }
}
