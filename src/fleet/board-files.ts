import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { H3lixError } from '../errors.js';
import { readFileChecked, writeFileAtomic } from '../store/atomic-file.js';
import type { ClaimFile, FleetPublic } from './fleet-dir.js';

/** Board-side credentials file: `<dataDir>/fleet-credentials.json` (0600, atomic, checksummed). */
export const CREDENTIALS_FILE = 'fleet-credentials.json';

export interface BoardCredentials {
  format: 'h3lix-fleet-credentials';
  v: 1;
  fleet: string;
  nodeId: string;
  /** base64 fleet-signed certificate. */
  cert: string;
  /** Mosquitto password (opened from the sealed secrets); token auth needs none. */
  brokerPassword?: string;
  /** Fleet config from the provisioner. */
  config: Record<string, unknown>;
  provisionedAt: number;
  /** PEM X.509 TLS certificate (CN = node id, the identity key); absent from pre-TLS provisioners. */
  tlsCert?: string;
  /** PEM fleet CA (its key is the fleet key). */
  tlsCa?: string;
}

export function readCredentials(dataDir: string): BoardCredentials | undefined {
  const path = join(dataDir, CREDENTIALS_FILE);
  const bytes = readFileChecked(path);
  if (!bytes) return undefined;
  try {
    const c = JSON.parse(Buffer.from(bytes).toString('utf8')) as BoardCredentials;
    if (c.format !== 'h3lix-fleet-credentials') throw new Error('wrong format');
    return c;
  } catch (err) {
    throw new H3lixError('STORE_CORRUPT', `${path}: ${(err as Error).message}`, { cause: err, detail: { path } });
  }
}

export function writeCredentials(dataDir: string, c: BoardCredentials): void {
  writeFileAtomic(join(dataDir, CREDENTIALS_FILE), Buffer.from(JSON.stringify(c, null, 2), 'utf8'), 0o600);
}

/** Read an image file written by `fleet init` (checksummed JSON, or plain JSON copied by hand). */
function readImageJson<T>(path: string): T {
  let bytes: Uint8Array | undefined;
  try {
    bytes = readFileChecked(path);
  } catch {
    bytes = readFileSync(path);
  }
  if (!bytes) throw new H3lixError('CONFIG_NOT_FOUND', `${path} not found (board image incomplete)`);
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
  } catch (err) {
    throw new H3lixError('CONFIG_INVALID', `${path}: not valid JSON`, { cause: err });
  }
}

/** What a board image carries (`image/<batch>/` from `fleet init`). */
export interface BoardImage {
  fleet: FleetPublic;
  claim: ClaimFile;
  fleetPublicKey: Uint8Array;
  /** `fleet-ca.pem`, when the image has one (fleets with TLS). */
  tlsCa?: string;
  /** `claim-cert.pem`: CN `claim-<batch>` over the claim key, for a mutual-TLS first connection. */
  claimCert?: string;
}

function optionalText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export function readBoardImage(dir: string): BoardImage {
  const fleet = readImageJson<FleetPublic>(join(dir, 'fleet.json'));
  const claim = readImageJson<ClaimFile>(join(dir, 'claim.json'));
  if (fleet.format !== 'h3lix-fleet' || claim.format !== 'h3lix-claim-file') throw new H3lixError('CONFIG_INVALID', `${dir}: not a fleet board image`);
  if (claim.fleet !== fleet.fleet) throw new H3lixError('CONFIG_INVALID', `${dir}: claim is for fleet ${claim.fleet}, image for ${fleet.fleet}`);
  const image: BoardImage = { fleet, claim, fleetPublicKey: new Uint8Array(Buffer.from(fleet.fleetPublicKey, 'base64')) };
  const tlsCa = optionalText(join(dir, 'fleet-ca.pem'));
  const claimCert = optionalText(join(dir, 'claim-cert.pem'));
  if (tlsCa !== undefined) image.tlsCa = tlsCa;
  if (claimCert !== undefined) image.claimCert = claimCert;
  return image;
}
