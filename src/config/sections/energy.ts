import { z } from 'zod';
import { thresholdsSchema } from '../../energy/board-profile.js';

const perMode = z
  .object({
    surplus: z.number().positive(),
    normal: z.number().positive(),
    conserve: z.number().positive(),
    survival: z.number().positive(),
  })
  .strict();

/** Default cadence multipliers (interval × multiplier) per task class, see docs/energy.md. */
export const DEFAULT_CADENCE = {
  sync: { surplus: 0.5, normal: 1, conserve: 6, survival: 30 },
  learning: { surplus: 0.2, normal: 1, conserve: 4, survival: 30 },
  presence: { surplus: 1, normal: 1, conserve: 2, survival: 5 },
};

const defaults = {
  ewmaHalfLifeSeconds: 120,
  restCurrentA: 0.15,
  restMinutes: 30,
  forecastHorizonHours: 12,
  budgetSafetyFactor: 1.5,
  historyMaxPoints: 10_080,
  historyIntervalSeconds: 60,
  publishIntervalSeconds: 60,
  cadence: DEFAULT_CADENCE,
};

/**
 * `energy:` the estimator, mode policy and scheduler (DESIGN section 6). Board-specific defaults
 * (thresholds, battery capacity) come from the board profile; keys here override them.
 */
export const energySection = z
  .object({
    /** Battery capacity, Wh, for coulomb counting. Default: the board profile's `battery.capacityWh`. */
    capacityWh: z.number().positive().optional(),
    /** Mode thresholds (SOC 0..1, hysteresis, dwell). Default: the board profile's `thresholds`. */
    thresholds: thresholdsSchema.optional(),
    /** SOC kept in reserve by the budget check. Default: `thresholds.conserve.enter`. */
    reserveSoc: z.number().min(0).max(1).optional(),
    /** Half-life of the EWMA that smooths voltage/current/PV readings, seconds. Default 120. */
    ewmaHalfLifeSeconds: z.number().min(0).max(86_400).default(defaults.ewmaHalfLifeSeconds),
    /** |current| below this counts as "at rest" for voltage re-anchoring of SOC, A. Default 0.15. */
    restCurrentA: z.number().min(0).default(defaults.restCurrentA),
    /** Minutes at rest before SOC is re-anchored from the open-circuit voltage. Default 30. */
    restMinutes: z.number().min(1).default(defaults.restMinutes),
    /** PV forecast horizon used by the budget check, hours. Default 12. */
    forecastHorizonHours: z.number().min(1).max(48).default(defaults.forecastHorizonHours),
    /** A deferrable task starts only when budget >= cost estimate × this factor. Default 1.5. */
    budgetSafetyFactor: z.number().min(1).max(100).default(defaults.budgetSafetyFactor),
    /** Energy history points kept in memory (1 per minute → 7 days). Default 10080. */
    historyMaxPoints: z.number().int().min(10).default(defaults.historyMaxPoints),
    /**
     * Least time between two history points (by reading time; a mode change or a clock that went
     * backwards records at once), s. 0 = every reading. Default 60: 10080 points = 7 days.
     */
    historyIntervalSeconds: z.number().min(0).default(defaults.historyIntervalSeconds),
    /** Least interval between retained `energy/<node>` publications (mode changes publish at once), s. Default 60. */
    publishIntervalSeconds: z.number().min(1).default(defaults.publishIntervalSeconds),
    /** Interval multipliers per task class and mode. Default: sync 0.5/1/6/30, learning 0.2/1/4/30, presence 1/1/2/5 (surplus/normal/conserve/survival). */
    cadence: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/), perMode).default(DEFAULT_CADENCE),
  })
  .strict()
  .default(defaults);

export type EnergyConfig = z.output<typeof energySection>;
