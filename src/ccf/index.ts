/** Public surface of the Collective Context Field: store, clock, codecs (DESIGN 3 and 7). */
export * from './types.js';
export { HybridLogicalClock, compareHlc, type HybridLogicalClockOptions } from './hlc.js';
export { CcfField, digestOf, digestOfOrigins, originHash, type CcfFieldOptions } from './field.js';
export { canonicalVector, canonicalCount } from './quantize.js';
export { MAX_DIM, MAX_NAME_LENGTH, MAX_BODY_BYTES, nameProblem } from './limits.js';
export * from './codec/envelope.js';
export * from './codec/delta-body.js';
export * from './codec/sync-bodies.js';
export * from './codec/replay.js';
export * from './codec/chunk.js';
