/**
 * A cryptographically seeded `Rng` for production noise. The seeded mulberry32 generator
 * (`createRng`) is for tests and simulations only: its 32-bit state could be recovered from published
 * noise, which would let a peer subtract the noise. Here uniforms come from `crypto.randomFillSync`
 * (53 random bits per draw, buffered) and normals from Box-Muller.
 */
import { randomFillSync } from 'node:crypto';
import { rngFrom, type Rng } from '../util/prng.js';

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
  return rngFrom(() => ((u32() >>> 5) * 67108864 + (u32() >>> 6)) / 9007199254740992);
}
