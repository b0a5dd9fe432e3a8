import type { H3lixConfig } from '../../config/schema.js';
import type { Logger } from '../../util/logger.js';
import type { Clock } from '../../util/clock.js';
import { InferenceService } from './inference-service.js';

export { InferenceService, type InferenceServiceOptions, type InferenceStats } from './inference-service.js';
export { workerEntry } from './worker-slot.js';

/** Build the service from the `instance:` config section (composition-root helper; does not start it). */
export function inferenceServiceFromConfig(cfg: H3lixConfig['instance'], logger: Logger, clock?: Clock): InferenceService {
  return new InferenceService({
    modelDir: cfg.modelDir,
    logger,
    maxBatch: cfg.maxBatch,
    batchWindowMs: cfg.batchWindowMs,
    maxQueue: cfg.maxQueue,
    restartDelayMs: cfg.restartDelayMs,
    intraOpThreads: cfg.intraOpThreads,
    ...(clock ? { clock } : {}),
  });
}
