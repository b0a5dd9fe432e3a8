/**
 * The energy feature's public surface (DESIGN section 6), and `createEnergyFeature`, the one call the
 * composition root makes.
 */
import type { H3lixConfig } from '../config/schema.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { loadBoardProfile } from './board-profile.js';
import { EnergyFeature } from './feature.js';
import type { EnergyHistoryStore } from './history.js';
import type { EnergyReading } from './reading.js';
import type { PublishedEnergy } from './snapshot.js';

export { EnergyFeature, type EnergyFeatureOptions } from './feature.js';
export { EnergyScheduler, type EnergySchedulerOptions, type GateDecision, type SchedulerEvents } from './scheduler.js';
export { EnergyPolicy, type ModeChange } from './policy.js';
export { EnergyEstimator, type EnergyState } from './estimator.js';
export { PvForecaster } from './forecast.js';
export { EnergyHistory, type EnergyHistoryPoint, type EnergyHistoryStore } from './history.js';
export { EnergySnapshot, type PublishedEnergy } from './snapshot.js';
export { UpdateLock } from './update-lock.js';
export { energyBudgetWh } from './budget.js';
export { loadBoardProfile, listBoardProfiles, type BoardProfile } from './board-profile.js';
export { ENERGY_MODES, modeAtLeast, modeRank, type EnergyMode } from './modes.js';
export type { TaskSpec, TaskRunContext, TaskStats, SkipReason } from './task.js';
export type { EnergyReading } from './reading.js';

/** What the composition root hands `createEnergyFeature`. */
export interface EnergyDeps {
  clock: Clock;
  logger?: Logger;
  /** Subscribe to readings from the firmware-bridge source; returns an unsubscribe. */
  readings?: (listener: (r: EnergyReading) => void) => () => void;
  /** Publish on `energy/<node>` (retained, QoS 0). */
  publish?: (snapshot: PublishedEnergy) => void | Promise<void>;
  historyStore?: EnergyHistoryStore;
  /** Board name override (e.g. `h3lix run --board`). Default `config.node.board`. */
  board?: string;
}

/** Build the energy feature from the config: loads the board profile (BOARD_UNKNOWN if bad). Call `start()` on it. */
export function createEnergyFeature(config: H3lixConfig, deps: EnergyDeps): EnergyFeature {
  const profile = loadBoardProfile(deps.board ?? config.node.board);
  return new EnergyFeature({ ...deps, profile, config: config.energy });
}
