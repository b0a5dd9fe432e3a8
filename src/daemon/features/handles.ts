/**
 * What the plugged-in features of one daemon share (one object per `defaultFeatures` call, no module
 * singleton): the energy feature fills `energy` on start, the learning feature reads its scheduler and
 * fills `learning`. Tests and `h3lix` commands read them too.
 */
import type { BoardProfile, EnergyFeature, EnergyScheduler } from '../../energy/index.js';
import type { InferenceService } from '../../instance/inference/index.js';
import type { PersonalInstance } from '../../instance/personal-instance.js';
import type { ModelManifest } from '../../instance/model/manifest.js';
import type { LearningStack } from '../../signals/index.js';
import type { SleepControl } from '../../energy/sleep-control.js';
import type { HistogramData } from '../../util/histogram.js';
import type { McuClient } from '../../../firmware-bridge/src/mcu/client.js';

export interface EnergyHandle {
  feature: EnergyFeature;
  /** The scheduler every later feature registers its tasks with. */
  scheduler: EnergyScheduler;
  profile: BoardProfile;
  /** The source URI in use; undefined = no source (fixed schedule, nominal normal mode). */
  sourceUri: string | undefined;
  /** Planned sleep through the companion MCU; set once it starts (`mcu:` sources only), else undefined. */
  sleep?: SleepControl | undefined;
  /** The companion MCU's client while an `mcu:` source is connected (firmware updates use it). */
  mcu: () => McuClient | undefined;
}

export interface LearningHandle {
  inference: InferenceService;
  stack: LearningStack;
  /** Undefined when no broker URL was known (see docs/daemon.md). */
  instance: PersonalInstance | undefined;
  /** Inference latency of the instance's observations (embed in the worker + predict), seconds. */
  inferenceLatency: HistogramData;
  /** Swap the encoder model under the scheduler's update lock (never overlaps local evolution). */
  swapModel(dir: string): Promise<ModelManifest>;
}

/** Site aggregates (features/site.ts): the fleet value over the site origins. */
export interface SiteHandle {
  /** This board's site origin, `site-<site.name>`. */
  origin: string;
  /** The site origins this board's field holds. */
  siteOrigins(): string[];
  /** The fleet value of `key`: the field's robust value over the top level's origins only (the site origins without zones). */
  fleetValue(key: string): Float32Array | undefined;
  /** The site value of `key`: the robust value over this site's boards (no site origin). */
  siteValue(key: string): Float32Array | undefined;
  /**
   * Gateway only: the site origin's own sync (counters; the first zone's when this board is the
   * gateway of zones only), one aggregation run now (every level, bottom-up), and every origin it
   * publishes with the origins its level's field holds (itself and its peers).
   */
  gateway?: { sync: import('../../sync/ccf-sync.js').CcfSync; aggregate(): number; origins: Array<{ origin: string; sync: import('../../sync/ccf-sync.js').CcfSync; held(): string[] }> };
}

/** Filled while the features run; cleared on stop. */
export interface FeatureHandles {
  energy?: EnergyHandle | undefined;
  learning?: LearningHandle | undefined;
  site?: SiteHandle | undefined;
}
