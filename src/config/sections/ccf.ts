import { z } from 'zod';

/** `ccf:` the Collective Context Field (DESIGN section 3, docs/ccf.md). */
export const ccfSection = z
  .object({
    /** Per-origin mean L2 norm bound used by the robust value. Default 10. */
    clipNorm: z.number().positive().default(10),
    /** Fraction trimmed from each end in the trimmed mean. Default 0.1. */
    trimFraction: z.number().min(0).max(0.45).default(0.1),
    /** Use the coordinate-wise median when fewer than this many origins contribute. Default 5. */
    medianBelowOrigins: z.number().int().min(1).default(5),
    /** Age-decay half-life of a contribution's weight, in seconds. Default 7 days. */
    halfLifeSeconds: z.number().positive().default(7 * 24 * 3600),
    /** Origins silent longer than this are compacted away, in seconds. Default 30 days. */
    retentionSeconds: z.number().positive().default(30 * 24 * 3600),
    /**
     * Largest weight share a single origin may hold in the robust value (water-filled cap; with fewer
     * than 1/maxOriginShare origins all weigh the same). Keep <= trimFraction so an outlying origin is
     * trimmed away entirely. Default 0.1.
     */
    maxOriginShare: z.number().positive().max(1).default(0.1),
  })
  .strict()
  .default({ clipNorm: 10, trimFraction: 0.1, medianBelowOrigins: 5, halfLifeSeconds: 604800, retentionSeconds: 2592000, maxOriginShare: 0.1 });
