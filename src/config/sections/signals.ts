import { z } from 'zod';

/**
 * `signals:` learning-signal extraction and the privacy budget (DESIGN section 4), plus the
 * conditioning blend (DESIGN section 5). See docs/signals.md for the accounting formula.
 */
export const signalsSection = z
  .object({
    /**
     * L2 norm bound C every embedding is clipped to before it is summed; set it near the 90th percentile
     * of the model's embedding norms (the shipped encoders: about 3). Default 3.
     */
    clipNorm: z.number().positive().default(3),
    /** Gaussian noise multiplier z: σ_sum = z·C per coordinate, σ_count = z. Default 2. */
    noiseMultiplier: z.number().positive().default(2),
    /** k: a key is published only once its (noised) count reaches this many examples. Default 20. */
    minCount: z.number().int().min(1).default(20),
    /** Total ε of the node's (ε, δ) privacy budget; publishing stops when spent. Default 10. */
    epsilon: z.number().positive().default(10),
    /** δ of the node's (ε, δ) privacy budget. Default 1e-5. */
    delta: z.number().gt(0).lt(1).default(1e-5),
    /** Seconds between signal releases (each release spends budget). Default 3600. */
    publishIntervalSeconds: z.number().positive().default(3600),
    /**
     * Conditioning: weight of the field value in a class prototype, 0..1
     * (prototype = (1 - blend)·local mean + blend·field value when both exist). Default 0.5.
     */
    blend: z.number().min(0).max(1).default(0.5),
    /** Conditioning score: negative squared distance or cosine to the prototypes. Default "distance". */
    score: z.enum(['distance', 'cosine']).default('distance'),
  })
  .strict()
  .default({
    clipNorm: 3,
    noiseMultiplier: 2,
    minCount: 20,
    epsilon: 10,
    delta: 1e-5,
    publishIntervalSeconds: 3600,
    blend: 0.5,
    score: 'distance',
  });

export type SignalsConfig = z.output<typeof signalsSection>;
