import { H3lixError } from '../errors.js';
import type { FleetDir } from './fleet-dir.js';
import { issueRevocationList } from './revocation.js';

/**
 * Add `nodeId` to the fleet's revocation list and sign the new list (seq + 1). Returns the signed bytes
 * to publish retained on `h3lix/v1/<fleet>/fleet/revocations`.
 */
export function revokeNode(fd: FleetDir, nodeId: string, reason: string, now: number): Uint8Array {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(nodeId)) throw new H3lixError('DATA_INVALID', `node id "${nodeId.slice(0, 40)}" is not valid`);
  const state = fd.revocations();
  if (state.revoked.some((r) => r.nodeId === nodeId)) throw new H3lixError('DATA_INVALID', `${nodeId} is already revoked`);
  const revoked = [...state.revoked, { nodeId, at: now, reason }];
  const seq = state.seq + 1;
  const signed = issueRevocationList({ fleet: fd.fleet, seq, issuedAt: now, revoked }, fd.fleetSigner());
  fd.saveRevocations({ seq, revoked, signed: Buffer.from(signed).toString('base64') });
  return signed;
}
