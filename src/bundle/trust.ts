import { readFileChecked } from '../store/atomic-file.js';
import { H3lixError } from '../errors.js';

/**
 * The fleet public key bundles are checked against: a fleet.json (the operator's fleet directory, or the
 * copy in a board image, `fleet.imageDir`), read with its checksum trailer.
 */
export function loadFleetPublicKey(fleetJson: string): { fleet: string; publicKey: Uint8Array } {
  const bytes = readFileChecked(fleetJson);
  if (bytes === undefined) throw new H3lixError('CONFIG_NOT_FOUND', `${fleetJson} not found (the fleet.json whose key signs bundles)`);
  let doc: { format?: unknown; fleet?: unknown; fleetPublicKey?: unknown };
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as typeof doc;
  } catch (err) {
    throw new H3lixError('CONFIG_INVALID', `${fleetJson}: not JSON`, { cause: err });
  }
  if (doc.format !== 'h3lix-fleet' || typeof doc.fleetPublicKey !== 'string' || typeof doc.fleet !== 'string') throw new H3lixError('CONFIG_INVALID', `${fleetJson}: not a fleet.json (format h3lix-fleet with fleetPublicKey)`);
  const publicKey = new Uint8Array(Buffer.from(doc.fleetPublicKey, 'base64'));
  if (publicKey.length !== 32) throw new H3lixError('CONFIG_INVALID', `${fleetJson}: fleetPublicKey is not a 32-byte Ed25519 key`);
  return { fleet: doc.fleet, publicKey };
}
