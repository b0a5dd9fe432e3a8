/**
 * PV and load energy for Home Assistant's Energy dashboard (`device_class: energy`,
 * `state_class: total_increasing`): power integrated over reading time, persisted so the totals
 * never go down across restarts (a decrease would read as a meter reset). Gaps longer than
 * `maxGapMs` (a board asleep, a source that stopped) are not integrated: no energy is invented.
 */
export interface EnergyTotals {
  pvWh: number;
  loadWh: number;
  /** Reading time of the last sample, ms (null before the first). */
  lastTime: number | null;
}

/** The kv slice used (`ctx.kv`). */
export interface CounterKv {
  getString(key: string): string | undefined;
  set(key: string, value: string): void;
}

export const ENERGY_TOTALS_KEY = 'homeassistant.energy-totals';

export class EnergyCounter {
  private totals: EnergyTotals;
  private lastPv = 0;
  private lastLoad = 0;

  constructor(
    private readonly kv: CounterKv,
    private readonly maxGapMs = 15 * 60_000,
  ) {
    this.totals = EnergyCounter.load(kv);
  }

  /** Stored totals; a missing or unreadable value starts from zero. */
  static load(kv: CounterKv): EnergyTotals {
    try {
      const v = JSON.parse(kv.getString(ENERGY_TOTALS_KEY) ?? 'null') as Partial<EnergyTotals> | null;
      const ok = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;
      if (v && ok(v.pvWh) && ok(v.loadWh)) return { pvWh: v.pvWh, loadWh: v.loadWh, lastTime: null };
    } catch {
      /* start from zero */
    }
    return { pvWh: 0, loadWh: 0, lastTime: null };
  }

  /** Fold in one reading (trapezoid between consecutive readings); returns the totals. */
  sample(time: number, pvW: number, loadW: number): EnergyTotals {
    const last = this.totals.lastTime;
    if (last !== null && time > last && time - last <= this.maxGapMs) {
      const h = (time - last) / 3_600_000;
      this.totals.pvWh += Math.max(0, ((this.lastPv + pvW) / 2) * h);
      this.totals.loadWh += Math.max(0, ((this.lastLoad + loadW) / 2) * h);
    }
    if (last === null || time > last) {
      this.totals.lastTime = time;
      this.lastPv = pvW;
      this.lastLoad = loadW;
    }
    return { ...this.totals };
  }

  save(): void {
    this.kv.set(ENERGY_TOTALS_KEY, JSON.stringify({ pvWh: this.totals.pvWh, loadWh: this.totals.loadWh }));
  }

  get current(): EnergyTotals {
    return { ...this.totals };
  }
}
