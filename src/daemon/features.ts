import type { H3lixConfig } from '../config/schema.js';
import type { FeatureFactory } from './feature.js';
import { energyFeatureFactory } from './features/energy.js';
import type { FeatureHandles } from './features/handles.js';
import { siteFeature } from './features/site.js';

export type { FeatureHandles, EnergyHandle, LearningHandle } from './features/handles.js';

/** Options of {@link defaultFeatures}. */
export interface DefaultFeaturesOptions {
  /** Filled by the features while they run (energy scheduler, learning stack...). Default: a fresh object. */
  handles?: FeatureHandles;
}

/**
 * EXTENSION POINT: the plugged-in features `h3lix run` starts after the core (store, broker,
 * transport, outbox pump, CCF sync), in this order, stopped in reverse (docs/daemon.md):
 * 1. `energy`: board profile, energy source, EnergyFeature + scheduler, `energy/<node>`, sync cadence.
 * 2. `learning` (when `instance.enabled`): inference worker, learning stack, personal instance, with
 *    its tasks on the energy scheduler (needs 1).
 * Each factory receives the started DaemonContext (src/daemon/feature.ts); the features share
 * `opts.handles`. Features 2–4 are imported when they are switched on, so that a board without them
 * does not load their modules (onnxruntime-node, the HTTP server, the discovery code).
 */
export function defaultFeatures(config: H3lixConfig, opts: DefaultFeaturesOptions = {}): FeatureFactory[] {
  const handles = opts.handles ?? {};
  const features: FeatureFactory[] = [energyFeatureFactory(handles)];
  if (config.instance.enabled) features.push(async (ctx) => (await import('./features/learning.js')).learningFeatureFactory(handles)(ctx));
  if (config.status.enabled) features.push(async (ctx) => (await import('./features/status.js')).statusFeatureFactory(handles)(ctx)); // 3. status page + /metrics (docs/status.md)
  if (config.homeassistant.enabled) features.push(async (ctx) => (await import('./features/homeassistant.js')).homeassistantFeatureFactory(handles)(ctx)); // 4. Home Assistant discovery
  if (config.site.enabled) features.push(siteFeature(config, handles)); // 5. site aggregates (docs/sync.md), with a core plug (pinned site-origin keys)
  return features;
}
