import type { H3lixConfig } from '../config/schema.js';
import type { FeatureFactory } from './feature.js';

/**
 * EXTENSION POINT: the plugged-in features `h3lix run` starts after the core (store, broker,
 * transport, outbox pump, CCF sync), in this order, stopped in reverse. The lead adds the energy,
 * instance and fleet features here, e.g. `(ctx) => new EnergyFeature({ ...ctx slice... })`.
 * Each factory receives the started DaemonContext (src/daemon/feature.ts).
 */
export function defaultFeatures(config: H3lixConfig): FeatureFactory[] {
  void config;
  return [];
}
