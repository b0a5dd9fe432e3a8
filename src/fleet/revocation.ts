import { WireError } from '../errors.js';
import type { Signer } from '../crypto/ed25519.js';
import { cborDecodeMap, field, SEGMENT } from './codec.js';
import { openDoc, signDoc } from './signed-doc.js';

export const REVOCATION_TYPE = 'h3lix-revocations';

export interface RevokedEntry {
  nodeId: string;
  /** Wall ms when the operator revoked it. */
  at: number;
  reason: string;
}

/**
 * The fleet-signed revocation list, published retained on `h3lix/v1/<fleet>/fleet/revocations`.
 * `seq` only grows: a receiver ignores a list older than the one it holds, so an attacker replaying an
 * old (shorter) list cannot un-revoke a node.
 */
export interface RevocationList {
  fleet: string;
  seq: number;
  issuedAt: number;
  revoked: RevokedEntry[];
}

export function issueRevocationList(list: RevocationList, fleetSigner: Signer): Uint8Array {
  return signDoc(REVOCATION_TYPE, { fleet: list.fleet, seq: list.seq, issuedAt: list.issuedAt, revoked: list.revoked.map((e) => ({ ...e })) }, fleetSigner);
}

export function verifyRevocationList(bytes: Uint8Array, fleetPublicKey: Uint8Array, fleet: string): RevocationList {
  const m = openDoc(bytes, fleetPublicKey, REVOCATION_TYPE, 1 << 20);
  const w = REVOCATION_TYPE;
  const list = m.revoked;
  if (!Array.isArray(list) || list.length > 100_000) throw new WireError('WIRE_TYPE', `${w}.revoked: expected a list`);
  const out: RevocationList = {
    fleet: field.str(m, 'fleet', w, 64, SEGMENT),
    seq: field.int(m, 'seq', w),
    issuedAt: field.int(m, 'issuedAt', w),
    revoked: list.map((e: unknown, i) => {
      if (e === null || typeof e !== 'object') throw new WireError('WIRE_TYPE', `${w}.revoked[${i}]: expected a map`);
      const em = e as Record<string, unknown>;
      return { nodeId: field.str(em, 'nodeId', w, 64, SEGMENT), at: field.int(em, 'at', w), reason: field.str(em, 'reason', w, 512) };
    }),
  };
  if (out.fleet !== fleet) throw new WireError('WIRE_FLEET', `revocation list is for fleet ${out.fleet}, not ${fleet}`);
  return out;
}

/**
 * The set of revoked node ids a node holds. `isRevoked(origin)` is the filter the CCF value/merge path
 * and the broker hooks use. `apply` accepts only a verified list with a higher `seq`.
 */
export class RevocationSet {
  private seq = -1;
  private ids = new Set<string>();
  private listeners = new Set<(added: string[]) => void>();

  constructor(private readonly fleet: string, private readonly fleetPublicKey: Uint8Array) {}

  /** Verify and apply a list; returns the newly revoked ids (empty when the list is not newer). */
  apply(bytes: Uint8Array): string[] {
    // Size check first: cborDecodeMap inside openDoc enforces it too, but cheap early exit.
    if (bytes.length > 1 << 20) cborDecodeMap(bytes, 1 << 20, REVOCATION_TYPE);
    const list = verifyRevocationList(bytes, this.fleetPublicKey, this.fleet);
    if (list.seq <= this.seq) return [];
    this.seq = list.seq;
    const added = list.revoked.map((e) => e.nodeId).filter((id) => !this.ids.has(id));
    this.ids = new Set(list.revoked.map((e) => e.nodeId));
    if (added.length > 0) for (const l of this.listeners) l(added);
    return added;
  }

  isRevoked(nodeId: string): boolean {
    return this.ids.has(nodeId);
  }

  get version(): number {
    return this.seq;
  }

  get size(): number {
    return this.ids.size;
  }

  /** Called with newly revoked ids (e.g. to drop their contributions, disconnect their clients). */
  onRevoked(fn: (added: string[]) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
