import { createHash } from 'node:crypto';

/**
 * Options for {@link VerifiedSignatures}.
 * - `capacity`: most remembered checks; the oldest is forgotten first. Default 4096 (about 0.4 MB).
 *   0 turns the memo off (every check verifies).
 */
export interface VerifiedSignaturesOptions {
  capacity?: number;
}

/**
 * Ed25519 checks that passed, remembered by SHA-256(public key ‖ signature ‖ signed bytes). An origin's
 * batch signature reaches a board many times: in the origin's own delta, then in every anti-entropy
 * answer that relays it (origin-proofs.ts). The signed bytes are the same each time (the batch's item
 * hashes, sorted), so the result is too: a memo hit replaces a verify (~60-130 us on a Pi-class core)
 * with one SHA-256 of a few hundred bytes. Only successes are kept, and the key covers the message,
 * so a changed contribution (other item hash) or another key never hits.
 */
export class VerifiedSignatures {
  private readonly seen = new Map<string, true>();
  private readonly capacity: number;

  constructor(o: VerifiedSignaturesOptions = {}) {
    const c = o.capacity ?? 4096;
    if (!Number.isInteger(c) || c < 0) throw new RangeError(`verified-signature capacity must be a non-negative integer, got ${c}`);
    this.capacity = c;
  }

  /** `verify(key, message, sig)`, unless this exact triple verified before. */
  check(key: Uint8Array, message: Uint8Array, sig: Uint8Array, verify: (key: Uint8Array, message: Uint8Array, sig: Uint8Array) => boolean): { ok: boolean; cached: boolean } {
    if (this.capacity === 0) return { ok: verify(key, message, sig), cached: false };
    const id = createHash('sha256').update(key).update(sig).update(message).digest('base64');
    if (this.seen.has(id)) {
      // refresh: a batch still being relayed stays remembered
      this.seen.delete(id);
      this.seen.set(id, true);
      return { ok: true, cached: true };
    }
    const ok = verify(key, message, sig);
    if (ok) {
      if (this.seen.size >= this.capacity) this.seen.delete(this.seen.keys().next().value!);
      this.seen.set(id, true);
    }
    return { ok, cached: false };
  }

  get size(): number {
    return this.seen.size;
  }
}
