/** Learning signals and privacy (DESIGN section 4). */
export { clipL2, l2Norm } from './clip.js';
export { gaussianRelease, rhoPerRelease, normalTail, erfc, type NoisedSum, type GaussianOptions } from './gaussian.js';
export {
  PrivacyAccountant,
  memoryPersistence,
  releaseCost,
  zcdpToEpsilon,
  type PrivacyLedger,
  type PrivacyPersistence,
  type PrivacyAccountantOptions,
  type ReleaseCost,
} from './accountant.js';
export { SignalAccumulator, type SignalAccumulatorOptions, type ReleaseResult, type ReleasedSignal, type KeyStats } from './accumulator.js';
export { SignalPublisher, type SignalPublisherOptions, type LocalContributionSink } from './publisher.js';
export { secureRng } from './secure-rng.js';
export { createLearningStack, type LearningStack, type LearningStackOptions, type LearningField } from './learning-stack.js';
export { kvPrivacyPersistence, PRIVACY_LEDGER_KEY, type LedgerKv } from './kv-ledger.js';
