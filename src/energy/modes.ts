/**
 * The four energy modes of DESIGN section 6, ordered from least to most energy available.
 * `rank` lets callers say "at least conserve" (`modeAtLeast(mode, 'conserve')`).
 */
export const ENERGY_MODES = ['survival', 'conserve', 'normal', 'surplus'] as const;

export type EnergyMode = (typeof ENERGY_MODES)[number];

/** 0 = survival .. 3 = surplus. */
export function modeRank(mode: EnergyMode): number {
  return ENERGY_MODES.indexOf(mode);
}

/** True when `mode` has at least as much energy as `min`. */
export function modeAtLeast(mode: EnergyMode, min: EnergyMode): boolean {
  return modeRank(mode) >= modeRank(min);
}

/** Modes at or above `min`. */
export function modesFrom(min: EnergyMode): EnergyMode[] {
  return ENERGY_MODES.filter((m) => modeAtLeast(m, min));
}

/** Per-mode numbers (cadence multipliers, etc.). */
export type PerMode<T> = Record<EnergyMode, T>;
