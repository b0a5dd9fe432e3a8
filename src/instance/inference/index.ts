export { InferenceService, type InferenceServiceOptions, type InferenceStats } from './inference-service.js';
export { workerEntry } from './worker-slot.js';
