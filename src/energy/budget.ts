/** Inputs of the energy budget (DESIGN section 6: "starts a deferrable task only when the budget allows"). */
export interface BudgetInputs {
  soc: number;
  /** SOC kept in reserve (default: conserve.enter). */
  reserveSoc: number;
  capacityWh: number;
  /** Forecast PV energy per slot over the horizon, Wh (`PvForecaster.series`). */
  forecastSlotsWh: readonly number[];
  /** Width of one forecast slot, hours. */
  slotHours: number;
  /** The board's idle draw, W: the load that runs whatever the scheduler decides. */
  idleWatts: number;
}

/**
 * Energy available for deferrable work, Wh: the stored energy above the reserve, minus the deepest
 * dip the idle load is forecast to cause over the horizon before PV covers it again:
 *   budget = (soc − reserve)·capacity + min(0, min_k Σ_{i≤k} (pv_i − idle·slotHours))
 * So at dusk the coming night is paid for before any learning runs, while at noon with the battery
 * full the whole stored surplus is available. Future PV surplus never counts in advance (the battery
 * may be full when it arrives, and the forecast may be wrong). Negative = a deficit.
 * A task with cost C joules runs when budget·3600 ≥ C·safetyFactor.
 */
export function energyBudgetWh(b: BudgetInputs): number {
  const stored = (b.soc - b.reserveSoc) * b.capacityWh;
  let run = 0;
  let dip = 0;
  for (const pv of b.forecastSlotsWh) {
    run += pv - b.idleWatts * b.slotHours;
    if (run < dip) dip = run;
  }
  return stored + dip;
}
