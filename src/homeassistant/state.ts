/** The JSON state Home Assistant's sensors read (one key per sensor id; null renders "None" = unknown). */
import type { EnergyTotals } from './energy-counter.js';

export interface HaStateInput {
  energy: { soc: number; batteryVoltage: number; batteryCurrent: number; pvPower: number; loadPower: number; mode: string; budgetWh: number } | undefined;
  totals: EnergyTotals;
  outbox: number;
  fieldContributions: number;
  privacyEpsilon: number | undefined;
}

const r = (x: number, d: number): number => Number(x.toFixed(d));

export function haState(i: HaStateInput): Record<string, number | string | null> {
  const e = i.energy;
  return {
    battery: e ? r(e.soc * 100, 1) : null,
    battery_voltage: e ? r(e.batteryVoltage, 3) : null,
    battery_current: e ? r(e.batteryCurrent, 3) : null,
    pv_power: e ? r(e.pvPower, 2) : null,
    load_power: e ? r(e.loadPower, 2) : null,
    // no reading yet: unknown rather than a 0 that the Energy dashboard would take as a reset
    pv_energy: i.totals.lastTime === null && i.totals.pvWh === 0 ? null : r(i.totals.pvWh, 2),
    load_energy: i.totals.lastTime === null && i.totals.loadWh === 0 ? null : r(i.totals.loadWh, 2),
    energy_mode: e ? e.mode : null,
    energy_budget: e ? r(e.budgetWh, 1) : null,
    outbox: i.outbox,
    field_contributions: i.fieldContributions,
    ...(i.privacyEpsilon !== undefined ? { privacy_epsilon: r(i.privacyEpsilon, 4) } : {}),
  };
}
