import { voltageFromSoc, type Chemistry } from '../ocv.js';

/** Options of `BatteryModel`. */
export interface BatteryModelOptions {
  capacityWh: number;
  chemistry: Chemistry;
  nominalVoltage: number;
  /** Initial SOC 0..1. */
  soc: number;
  /** Charge efficiency (Wh stored per Wh in). */
  chargeEfficiency: number;
  /** Discharge efficiency (Wh delivered per Wh taken). Default 0.97. */
  dischargeEfficiency?: number;
  /** Load cut-off SOC (the low-voltage disconnect). */
  cutoffSoc: number;
  /** SOC at which the load is reconnected after a cut-off. Default cutoffSoc + 0.1. */
  restartSoc?: number;
  /** Internal resistance, ohm. Default 0.03 × nominalVoltage/12.8. */
  internalOhms?: number;
}

/** A battery with charge/discharge efficiency, a charge ceiling and a low-voltage load disconnect. */
export class BatteryModel {
  soc: number;
  /** True while the load is disconnected (brownout). */
  cut = false;
  brownouts = 0;
  minSoc: number;
  private readonly restartSoc: number;

  constructor(private readonly o: BatteryModelOptions) {
    this.soc = o.soc;
    this.minSoc = o.soc;
    this.restartSoc = o.restartSoc ?? o.cutoffSoc + 0.1;
  }

  /**
   * Advance `seconds` with `pvW` available and `loadW` demanded (ignored while cut). Returns the
   * battery current (A, + = charging) and terminal voltage.
   */
  step(pvW: number, loadW: number, seconds: number): { current: number; voltage: number; loadW: number } {
    const load = this.cut ? 0 : loadW;
    const net = pvW - load;
    const cap = this.o.capacityWh;
    let stored: number;
    if (net >= 0) stored = Math.min(net * this.o.chargeEfficiency * (seconds / 3600), (1 - this.soc) * cap);
    else stored = (net / (this.o.dischargeEfficiency ?? 0.97)) * (seconds / 3600);
    this.soc = Math.min(1, Math.max(0, this.soc + stored / cap));
    this.minSoc = Math.min(this.minSoc, this.soc);
    if (!this.cut && this.soc <= this.o.cutoffSoc) {
      this.cut = true;
      this.brownouts += 1;
    } else if (this.cut && this.soc >= this.restartSoc) {
      this.cut = false;
    }
    const ocv = voltageFromSoc(this.soc, this.o.chemistry, this.o.nominalVoltage);
    const powerIn = (stored * 3600) / seconds; // W into the cells (+) or out (−)
    const current = powerIn / ocv;
    const r = this.o.internalOhms ?? 0.03 * (this.o.nominalVoltage / 12.8);
    return { current, voltage: ocv + current * r, loadW: load };
  }
}
