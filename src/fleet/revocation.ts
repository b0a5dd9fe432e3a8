import { WireError } from '../errors.js';
import type { Signer } from '../crypto/ed25519.js';
import { cborDecodeMap, field, SEGMENT } from './codec.js';
import { openDoc, peekDoc, signDoc } from './signed-doc.js';
import { defencesOff, type Defence } from '../sync/defences.js';

export const REVOCATION_TYPE = 'h3lix-revocations';

export interface RevokedEntry {
  nodeId: string;
  /** Wall ms when the operator revoked it. */
  at: number;
  reason: string;
}

/** A revoked claim batch: its claim provisions no new node and its `claim-<batch>` login is refused. */
export interface RevokedBatch {
  batch: string;
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
  /**
   * Revoked claim batches (issue 9). Optional and only written when non-empty, so a list without batch
   * revocations is byte-for-byte the old format, and an older receiver reads a newer list and ignores it.
   */
  batches?: RevokedBatch[];
}

export function issueRevocationList(list: RevocationList, fleetSigner: Signer): Uint8Array {
  const body: Record<string, unknown> = { fleet: list.fleet, seq: list.seq, issuedAt: list.issuedAt, revoked: list.revoked.map((e) => ({ ...e })) };
  if (list.batches && list.batches.length > 0) body.batches = list.batches.map((b) => ({ ...b }));
  return signDoc(REVOCATION_TYPE, body, fleetSigner);
}

/** `skipSignature`: test-only (defences.ts `revocation-sig`). */
export function verifyRevocationList(bytes: Uint8Array, fleetPublicKey: Uint8Array, fleet: string, skipSignature = false): RevocationList {
  const m = skipSignature ? peekDoc(bytes, REVOCATION_TYPE, 1 << 20) : openDoc(bytes, fleetPublicKey, REVOCATION_TYPE, 1 << 20);
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
  const batches = m.batches;
  if (batches !== undefined) {
    if (!Array.isArray(batches) || batches.length > 10_000) throw new WireError('WIRE_TYPE', `${w}.batches: expected a list`);
    out.batches = batches.map((e: unknown, i) => {
      if (e === null || typeof e !== 'object') throw new WireError('WIRE_TYPE', `${w}.batches[${i}]: expected a map`);
      const em = e as Record<string, unknown>;
      return { batch: field.str(em, 'batch', w, 64, SEGMENT), at: field.int(em, 'at', w), reason: field.str(em, 'reason', w, 512) };
    });
  }
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
  private batchIds = new Set<string>();
  private listeners = new Set<(added: string[], addedBatches: string[]) => void>();

  /** `off`: test-only switches (defences.ts `revocation-seq`, `revocation-sig`). Default from H3LIX_TEST_DEFENCES_OFF. */
  constructor(
    private readonly fleet: string,
    private readonly fleetPublicKey: Uint8Array,
    private readonly off: ReadonlySet<Defence> = defencesOff(),
  ) {}

  /**
   * Verify and apply a list; returns the newly revoked node ids (empty when the list is not newer).
   * Listeners also hear the newly revoked batches.
   */
  apply(bytes: Uint8Array): string[] {
    // Size check first: cborDecodeMap inside openDoc enforces it too, but cheap early exit.
    if (bytes.length > 1 << 20) cborDecodeMap(bytes, 1 << 20, REVOCATION_TYPE);
    const list = verifyRevocationList(bytes, this.fleetPublicKey, this.fleet, this.off.has('revocation-sig'));
    if (list.seq <= this.seq && !this.off.has('revocation-seq')) return [];
    this.seq = list.seq;
    const added = list.revoked.map((e) => e.nodeId).filter((id) => !this.ids.has(id));
    this.ids = new Set(list.revoked.map((e) => e.nodeId));
    const batches = (list.batches ?? []).map((b) => b.batch);
    const addedBatches = batches.filter((b) => !this.batchIds.has(b));
    this.batchIds = new Set(batches);
    if (added.length > 0 || addedBatches.length > 0) for (const l of this.listeners) l(added, addedBatches);
    return added;
  }

  isRevoked(nodeId: string): boolean {
    return this.ids.has(nodeId);
  }

  /** Whether the claim of `batch` is revoked (its `claim-<batch>` login is refused). */
  isBatchRevoked(batch: string): boolean {
    return this.batchIds.has(batch);
  }

  get version(): number {
    return this.seq;
  }

  get size(): number {
    return this.ids.size;
  }

  /** Called with newly revoked node ids and batches (e.g. to drop contributions, disconnect clients). */
  onRevoked(fn: (added: string[], addedBatches: string[]) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
