import type { EnergyState } from './estimator.js';
import type { EnergyMode } from './modes.js';

/**
 * What `energy/<node>` carries (retained, QoS 0; DESIGN section 7) and what the birth message's
 * `energy` field holds. Plain JSON/CBOR-safe values; numbers rounded to what the sensors resolve.
 */
export interface PublishedEnergy {
  v: 1;
  /** Wall time of the latest reading, ms. */
  time: number;
  mode: EnergyMode;
  /** Wall time the mode was entered, ms. */
  modeSince: number;
  /** State of charge 0..1 (3 decimals). */
  soc: number;
  socSource: EnergyState['socSource'];
  batteryVoltage: number;
  batteryCurrent: number;
  pvPower: number;
  loadPower: number;
  /** Forecast PV energy over `forecastHours`, Wh. */
  forecastWh: number;
  forecastHours: number;
  /** Energy budget for deferrable work, Wh (negative = deficit). */
  budgetWh: number;
  source: string;
}

/** An immutable snapshot of the energy brain at one instant. */
export class EnergySnapshot {
  constructor(
    readonly state: EnergyState,
    readonly mode: EnergyMode,
    readonly modeSince: number,
    readonly forecastWh: number,
    readonly forecastHours: number,
    readonly budgetWh: number,
  ) {}

  /** The plain object published on `energy/<node>` and embedded in the birth state. */
  toPublished(): PublishedEnergy {
    const r = (x: number, d: number): number => Number(x.toFixed(d));
    return {
      v: 1,
      time: this.state.time,
      mode: this.mode,
      modeSince: this.modeSince,
      soc: r(this.state.soc, 3),
      socSource: this.state.socSource,
      batteryVoltage: r(this.state.batteryVoltage, 3),
      batteryCurrent: r(this.state.batteryCurrent, 3),
      pvPower: r(this.state.pvPower, 2),
      loadPower: r(this.state.loadPower, 2),
      forecastWh: r(this.forecastWh, 1),
      forecastHours: this.forecastHours,
      budgetWh: r(this.budgetWh, 1),
      source: this.state.source,
    };
  }
}
