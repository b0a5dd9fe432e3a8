import { z } from 'zod';

/** `sync:` delta publishing, anti-entropy and the durable outbox (DESIGN sections 7 and 9). */
export const syncSection = z
  .object({
    /** Debounce before publishing a delta after a local change, ms. Default 250. */
    debounceMs: z.number().int().min(0).max(600_000).default(250),
    /** Interval between retained digest publications, ms. Default 10000. */
    digestIntervalMs: z.number().int().min(100).default(10_000),
    /** Vector quantization on the wire. Default int8. */
    quantization: z.enum(['int8', 'float16']).default('int8'),
    /**
     * Anti-entropy answer window J in ms: a node that can help a lagging peer waits a random time in
     * [0, J × min(8, ceil(peers / 10))) and sends only what nobody sent meanwhile. Default 400.
     */
    antiEntropyJitterMs: z.number().int().min(10).max(60_000).default(400),
    /**
     * Most bytes of anti-entropy answers (deltas sent for lagging peers, not our own) per minute.
     * Wants cost the receiver bounded work: past the budget, the rest of an answer waits for a later
     * want (counted `answersThrottled`). Default 8 MiB.
     */
    answerBudgetBytesPerMinute: z.number().int().min(65536).default(8 * 1024 * 1024),
    /** Largest MQTT payload; bigger deltas are split by contribution. Default 131072 (128 KB). */
    maxMessageBytes: z.number().int().min(4096).max(16 * 1024 * 1024).default(131072),
    outbox: z
      .object({
        /** Most messages held. Default 10000. */
        maxMessages: z.number().int().min(1).default(10_000),
        /** Most payload bytes held. Default 64 MiB. */
        maxBytes: z.number().int().min(1024).default(64 * 1024 * 1024),
        /** Messages older than this are dropped unsent, seconds. Default 7 days. */
        ttlSeconds: z.number().int().min(1).default(7 * 24 * 3600),
      })
      .strict()
      .default({ maxMessages: 10_000, maxBytes: 64 * 1024 * 1024, ttlSeconds: 604800 }),
  })
  .strict()
  .default({
    debounceMs: 250,
    digestIntervalMs: 10_000,
    antiEntropyJitterMs: 400,
    answerBudgetBytesPerMinute: 8 * 1024 * 1024,
    quantization: 'int8',
    maxMessageBytes: 131072,
    outbox: { maxMessages: 10_000, maxBytes: 64 * 1024 * 1024, ttlSeconds: 604800 },
  });
