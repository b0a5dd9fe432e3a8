/**
 * Seeded pseudo-random numbers for deterministic training and dataset generation.
 * mulberry32 (32-bit state) for uniforms, Box-Muller for normals. Same seed → same stream on every
 * platform, because everything is integer arithmetic plus IEEE-754 doubles.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Standard normal N(0, 1). */
  normal(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number;
}

/** mulberry32: the one small seeded uniform source in [0, 1) (simulations, emulator clouds, training). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Build an `Rng` on any uniform source; normals by Box-Muller, the second value of each pair cached. */
export function rngFrom(next: () => number): Rng {
  let spare: number | undefined;
  const normal = (): number => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    let u = next();
    while (u === 0) u = next(); // log(0) guard
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
  return {
    next,
    normal,
    int: (n) => Math.floor(next() * n),
    range: (lo, hi) => lo + (hi - lo) * next(),
  };
}

/** Create a seeded generator (tests, simulations, training; never privacy noise). `seed` is reduced to 32 bits. */
export function createRng(seed: number): Rng {
  return rngFrom(mulberry32((Math.floor(seed) ^ 0x9e3779b9) >>> 0));
}

/** Standard normal sample (Box-Muller, no caching) from a bare uniform source. */
export function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** Fisher-Yates shuffle of `arr` in place with `rng`; returns `arr`. */
export function shuffleInPlace<T>(arr: T[], rng: Rng): T[] {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = arr[i]!;
    arr[i] = arr[j]!;
    arr[j] = tmp;
  }
  return arr;
}
