import type { FeatureFactory } from '../feature.js';
import type { FeatureHandles } from './handles.js';
export function homeassistantFeatureFactory(_handles: FeatureHandles): FeatureFactory {
  return () => ({ name: 'homeassistant', start: () => Promise.resolve(), stop: () => Promise.resolve() });
}
