/**
 * A cryptographically seeded `Rng` for production noise. The seeded mulberry32 generator
 * (`createRng`) is for tests and simulations only: its 32-bit state could be recovered from published
 * noise, which would let a peer subtract the noise. Here uniforms come from `crypto.randomFillSync`
 * (53 random bits per draw, buffered) and normals from Box-Muller.
 */
import { randomFillSync } from 'node:crypto';
import type { Rng } from '../instance/model/prng.js';

/** A CSPRNG-backed `Rng`. */
export function secureRng(): Rng {
  const buf = new Uint32Array(512);
  let pos = buf.length;
  const u32 = (): number => {
    if (pos >= buf.length) {
      randomFillSync(buf);
      pos = 0;
    }
    return buf[pos++]!;
  };
  const next = (): number => ((u32() >>> 5) * 67108864 + (u32() >>> 6)) / 9007199254740992;
  let spare: number | undefined;
  const normal = (): number => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    let u = next();
    while (u <= 1e-300) u = next();
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
  return { next, normal, int: (n) => Math.floor(next() * n), range: (lo, hi) => lo + (hi - lo) * next() };
}
