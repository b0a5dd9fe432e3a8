import type { Contribution } from '../ccf/types.js';

/** Anything that knows revoked origins: `RevocationSet`, `CertificateKeyResolver`. */
export interface RevocationOracle {
  isRevoked(origin: string): boolean;
}

/**
 * The filter for the CCF merge path (DESIGN section 8: "rejects revoked nodes"): drop contributions
 * whose origin is revoked before `CcfField.merge`, and before anti-entropy relays them. Contributions
 * merged before the revocation arrived must also stop counting in `value()`: wire the same oracle
 * into the field's value computation (see docs/fleet.md "Wiring").
 */
export function withoutRevoked<T extends Pick<Contribution, 'origin'>>(items: Iterable<T>, oracle: RevocationOracle): T[] {
  const out: T[] = [];
  for (const c of items) if (!oracle.isRevoked(c.origin)) out.push(c);
  return out;
}
