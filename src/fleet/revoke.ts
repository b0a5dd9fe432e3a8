import { H3lixError } from '../errors.js';
import type { FleetDir, RevocationState } from './fleet-dir.js';
import { issueRevocationList } from './revocation.js';

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Sign `next` as the list after `state` (seq + 1), persist it and return the signed bytes. */
function sign(fd: FleetDir, state: RevocationState, next: Pick<RevocationState, 'revoked' | 'batches'>, now: number): Uint8Array {
  const seq = state.seq + 1;
  const batches = next.batches ?? [];
  const signed = issueRevocationList({ fleet: fd.fleet, seq, issuedAt: now, revoked: next.revoked, ...(batches.length > 0 ? { batches } : {}) }, fd.fleetSigner());
  fd.saveRevocations({ seq, revoked: next.revoked, ...(batches.length > 0 ? { batches } : {}), signed: Buffer.from(signed).toString('base64') });
  return signed;
}

/**
 * Add `nodeId` to the fleet's revocation list and sign the new list (seq + 1). Returns the signed bytes
 * to publish retained on `h3lix/v1/<fleet>/fleet/revocations`.
 */
export function revokeNode(fd: FleetDir, nodeId: string, reason: string, now: number): Uint8Array {
  if (!NAME.test(nodeId)) throw new H3lixError('DATA_INVALID', `node id "${nodeId.slice(0, 40)}" is not valid`);
  const state = fd.revocations();
  if (state.revoked.some((r) => r.nodeId === nodeId)) throw new H3lixError('DATA_INVALID', `${nodeId} is already revoked`);
  return sign(fd, state, { revoked: [...state.revoked, { nodeId, at: now, reason }], batches: state.batches }, now);
}

/**
 * Revoke the claim of `batch` (issue 9): the provisioner refuses every new request made with it
 * (`CLAIM_REVOKED`), the embedded broker refuses the `claim-<batch>` login and `fleet acl` leaves it out
 * of Mosquitto's password file. Nodes already provisioned from the batch keep working; revoke them one
 * by one with {@link revokeNode}. Same signed list, seq + 1.
 */
export function revokeBatch(fd: FleetDir, batch: string, reason: string, now: number): Uint8Array {
  if (!NAME.test(batch)) throw new H3lixError('DATA_INVALID', `batch "${batch.slice(0, 40)}" is not valid`);
  if (!fd.claimState(batch)) throw new H3lixError('DATA_INVALID', `batch ${batch} is unknown in ${fd.dir} (see h3lix fleet list)`);
  const state = fd.revocations();
  const batches = state.batches ?? [];
  if (batches.some((b) => b.batch === batch)) throw new H3lixError('DATA_INVALID', `batch ${batch} is already revoked`);
  return sign(fd, state, { revoked: state.revoked, batches: [...batches, { batch, at: now, reason }] }, now);
}
