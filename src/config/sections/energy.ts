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

/** `energy.sleep`: planned host sleep through the companion MCU (docs/energy.md "Planned sleep"). */
export const sleepSection = z
  .object({
    /** Plan sleeps when the energy source is a companion MCU. Default true. */
    enabled: z.boolean().default(true),
    /** The host sleeps rather than let the forecast SOC fall below this. Default 0.12. */
    floorSoc: z.number().min(0).max(0.9).default(0.12),
    /** Wake early once SOC is this far above the floor (the MCU's SOC threshold). Default 0.15. */
    wakeMarginSoc: z.number().min(0.01).max(0.9).default(0.15),
    /** How far ahead the plan looks, hours. Default 36. */
    horizonHours: z.number().min(1).max(96).default(36),
    /** Least time awake after a wake before another planned sleep, minutes. Default 20. */
    minAwakeMinutes: z.number().min(0).max(1440).default(20),
    /** Grace the MCU gives the shutdown handshake, s. Default 60. */
    graceSeconds: z.number().int().min(1).max(600).default(60),
    /** OS halt time between acknowledgement and cut, s. Default 15. */
    haltSeconds: z.number().int().min(0).max(600).default(15),
  })
  .strict();

export type SleepConfig = z.output<typeof sleepSection>;
const sleepDefaults: SleepConfig = { enabled: true, floorSoc: 0.12, wakeMarginSoc: 0.15, horizonHours: 36, minAwakeMinutes: 20, graceSeconds: 60, haltSeconds: 15 };

const defaults = {
  sleep: sleepDefaults,
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
    /** Planned host sleep through the companion MCU. */
    sleep: sleepSection.default(sleepDefaults),
  })
  .strict()
  .default(defaults);

export type EnergyConfig = z.output<typeof energySection>;
