import fc from 'fast-check';
import { CcfField } from '../../src/ccf/field.js';
import type { Contribution, Quantization } from '../../src/ccf/types.js';
import { ManualClock } from '../../src/util/clock.js';

export const ccfConfig = { clipNorm: 10, trimFraction: 0.1, medianBelowOrigins: 5, halfLifeSeconds: 604800, retentionSeconds: 2592000, maxOriginShare: 0.1 };

export function makeField(nodeId = 'self', opts: { clock?: ManualClock; quantization?: Quantization; config?: Partial<typeof ccfConfig> } = {}): CcfField {
  return new CcfField({ nodeId, clock: opts.clock ?? new ManualClock(), config: { ...ccfConfig, ...opts.config }, quantization: opts.quantization ?? 'int8' });
}

export function contribution(p: Partial<Contribution> & { origin: string; key: string }): Contribution {
  return { sum: Float32Array.of(1, 2), count: 1, version: 1, hlc: { wall: 1_000, logical: 0 }, ...p };
}

/** Small domains on purpose: many slot collisions and version ties with different content. */
export const contributionArb: fc.Arbitrary<Contribution> = fc.record({
  origin: fc.constantFrom('a', 'b', 'c'),
  key: fc.constantFrom('x', 'y'),
  sum: fc.integer({ min: 1, max: 3 }).chain((d) => fc.float32Array({ minLength: d, maxLength: d, noNaN: true, noDefaultInfinity: true })),
  count: fc.float({ min: 0, max: 1000, noNaN: true }),
  version: fc.integer({ min: 1, max: 4 }),
  hlc: fc.record({ wall: fc.integer({ min: 0, max: 3 }), logical: fc.integer({ min: 0, max: 2 }) }),
});

/** Merge every element (as separate deliveries) into a fresh field; return its digest. */
export function digestAfter(deliveries: Contribution[][]): string {
  const f = makeField('observer');
  for (const d of deliveries) f.merge(d);
  return f.digest();
}
