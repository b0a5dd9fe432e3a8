import { z } from 'zod';
import { releaseCost, zcdpToEpsilon } from '../../signals/accountant.js';

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
  .superRefine((s, ctx) => {
    // A budget that allows no release at all passes a plain range check, then every release fails
    // with "privacy budget spent" (issue 9 section 8): check the first release fits.
    const cost = releaseCost(s.noiseMultiplier, s.minCount);
    if (cost.deltaSelection >= s.delta) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['minCount'],
        message: `minCount ${s.minCount} with noiseMultiplier ${s.noiseMultiplier}: the key-selection δ of one release (${cost.deltaSelection.toExponential(2)}) alone exceeds signals.delta ${s.delta}, so nothing could ever be published; raise minCount (or lower noiseMultiplier)`,
      });
    } else if (!(zcdpToEpsilon(cost.rho, s.delta - cost.deltaSelection) <= s.epsilon)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['epsilon'],
        message: `epsilon ${s.epsilon} is below the cost of one release (ε ${zcdpToEpsilon(cost.rho, s.delta - cost.deltaSelection).toFixed(2)} at noiseMultiplier ${s.noiseMultiplier}), so nothing could ever be published; raise epsilon or noiseMultiplier`,
      });
    }
  })
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
