/**
 * Shared types of the Collective Context Field (DESIGN section 3). Every other feature (sync, store,
 * signals, instance) codes against these names.
 */

/** Hybrid logical clock stamp (Kulkarni et al. 2014): `wall` = ms since epoch, `logical` = counter. */
export interface HlcStamp {
  wall: number;
  logical: number;
}

/**
 * One origin's contribution to one key. `sum` and `count` are already canonical (quantized then
 * dequantized, count rounded to float32) so every node holds byte-identical state. Treat as immutable:
 * the field hands out its own objects.
 */
export interface Contribution {
  /** Node id of the origin (1-128 chars, no '/', '+', '#', NUL). */
  origin: string;
  /** Concept key (same string rules as origin). */
  key: string;
  /** Sum of the origin's (clipped, noised) embeddings for this key; dimension 1..4096. */
  sum: Float32Array;
  /** Number of examples behind `sum` (noised, so not an integer); finite, >= 0, float32-exact. */
  count: number;
  /** The origin's own monotonic counter at the time of this update; safe integer >= 1. */
  version: number;
  /** HLC stamp of the update at the origin. */
  hlc: HlcStamp;
}

/** origin -> highest version seen from that origin. */
export type VersionVector = Record<string, number>;

/** Vector quantization used on the wire and for canonical local contributions. */
export type Quantization = 'int8' | 'float16';
