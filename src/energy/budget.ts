/** Inputs of the energy budget (DESIGN section 6: "starts a deferrable task only when the budget allows"). */
export interface BudgetInputs {
  soc: number;
  /** SOC kept in reserve (default: conserve.enter). */
  reserveSoc: number;
  capacityWh: number;
  /** Forecast PV energy over the horizon, Wh. */
  forecastWh: number;
  horizonHours: number;
  /** The board's idle draw, W: the part of the load that runs regardless of scheduling. */
  idleWatts: number;
}

/**
 * Energy available for deferrable work, Wh: the stored energy above the reserve, plus the forecast PV
 * surplus over the horizon, minus the idle load over the horizon when the forecast does not cover it:
 *   budget = (soc − reserve)·capacity + forecastWh − idleWatts·horizon
 * (may be negative: a deficit). A task with cost C joules runs when budget·3600 ≥ C·safetyFactor.
 */
export function energyBudgetWh(b: BudgetInputs): number {
  const stored = (b.soc - b.reserveSoc) * b.capacityWh;
  return stored + b.forecastWh - b.idleWatts * b.horizonHours;
}
