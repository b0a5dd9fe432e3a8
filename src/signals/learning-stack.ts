/**
 * One call that composes the learning side of a node (DESIGN 4-5) for the daemon's composition root:
 * accountant (persisted), accumulator, publisher (into the CCF field), conditioner (local + field),
 * local history and the `local-evolution` scheduler task. The personal instance (MQTT obs/pred) is
 * built separately because it needs the broker client and the inference service.
 */
import type { H3lixConfig } from '../config/schema.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { Rng } from '../util/prng.js';
import { Conditioner, type FieldValues } from '../instance/conditioning/conditioner.js';
import { LocalHistory } from '../instance/evolution/history.js';
import { LocalEvolutionTask } from '../instance/evolution/task.js';
import type { LocalHead } from '../instance/evolution/head.js';
import { PrivacyAccountant, type PrivacyPersistence } from './accountant.js';
import { SignalAccumulator } from './accumulator.js';
import { SignalPublisher, type LocalContributionSink } from './publisher.js';
import { secureRng } from './secure-rng.js';

/** The field slice the stack needs: contributions in, values out, change notifications. */
export type LearningField = LocalContributionSink & FieldValues & { onChange?(fn: () => void): () => void };

/** Options for `createLearningStack`. */
export interface LearningStackOptions {
  signals: H3lixConfig['signals'];
  field: LearningField;
  clock: Clock;
  /** Where the spent privacy budget lives (SQLite in the daemon). Required: a budget that resets on reboot is no budget. */
  persistence: PrivacyPersistence;
  logger?: Logger;
  /** Noise source. Default `secureRng()` (never a seeded generator in production). */
  rng?: Rng;
  /** Board busy power for the evolution task's energy estimate, W. Default 5. */
  busyWatts?: number;
  /** Receives each new local head. */
  onHead?: (head: LocalHead) => void;
}

/** The composed learning stack. `start()` starts the publisher; `stop()` stops it and unhooks the field. */
export interface LearningStack {
  accountant: PrivacyAccountant;
  accumulator: SignalAccumulator;
  publisher: SignalPublisher;
  conditioner: Conditioner;
  history: LocalHistory;
  evolution: LocalEvolutionTask;
  start(): void;
  stop(): void;
}

export function createLearningStack(opts: LearningStackOptions): LearningStack {
  const s = opts.signals;
  const rng = opts.rng ?? secureRng();
  const accountant = new PrivacyAccountant({ epsilon: s.epsilon, delta: s.delta, persistence: opts.persistence });
  const accumulator = new SignalAccumulator({ clipNorm: s.clipNorm, noiseMultiplier: s.noiseMultiplier, minCount: s.minCount, accountant, rng });
  const publisher = new SignalPublisher({
    accumulator,
    field: opts.field,
    publicKeys: () => opts.field.keys(),
    clock: opts.clock,
    intervalSeconds: s.publishIntervalSeconds,
    logger: opts.logger,
  });
  const conditioner = new Conditioner({ local: () => accumulator.local(), field: opts.field, clock: opts.clock, blend: s.blend, score: s.score, clipNorm: s.clipNorm });
  const history = new LocalHistory({ rng });
  const evolution = new LocalEvolutionTask({
    history,
    rng,
    busyWatts: opts.busyWatts,
    onHead: opts.onHead,
    fieldMeans: () => {
      const out = new Map<string, ArrayLike<number>>();
      const now = opts.clock.now();
      for (const k of opts.field.keys()) {
        const v = opts.field.value(k, now);
        if (v) out.set(k, v);
      }
      return out;
    },
  });
  let unhook: (() => void) | undefined;
  return {
    accountant,
    accumulator,
    publisher,
    conditioner,
    history,
    evolution,
    start() {
      unhook ??= opts.field.onChange?.(() => conditioner.invalidate());
      publisher.start();
    },
    stop() {
      publisher.stop();
      unhook?.();
      unhook = undefined;
    },
  };
}
