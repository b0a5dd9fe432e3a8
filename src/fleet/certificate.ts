import { WireError } from '../errors.js';
import type { Signer } from '../crypto/ed25519.js';
import { nodeIdMatches } from '../crypto/node-id.js';
import { field, SEGMENT } from './codec.js';
import { openDoc, peekDoc, signDoc } from './signed-doc.js';

export const CERT_TYPE = 'h3lix-cert';
export const CLAIM_TYPE = 'h3lix-claim';

/** A fleet-signed node certificate (DESIGN section 8): binds a node id to its keys until `notAfter`. */
export interface NodeCertificate {
  fleet: string;
  nodeId: string;
  /** Ed25519 identity public key (32 bytes); `nodeId` is derived from it. */
  publicKey: Uint8Array;
  /** X25519 box public key (32 bytes) secrets are sealed to. */
  boxKey: Uint8Array;
  roles: string[];
  /** Issue counter from the provisioner; a rotated certificate has a higher serial. */
  serial: number;
  notBefore: number;
  notAfter: number;
}

/** A batch claim credential: what a board image carries to prove it may ask for a certificate. */
export interface ClaimCredential {
  fleet: string;
  batch: string;
  /** Ed25519 public key of the batch claim keypair; requests are signed with its private half. */
  claimKey: Uint8Array;
  /** How many boards may provision with this claim (counted by the provisioner, persisted). */
  maxUses: number;
  issuedAt: number;
  notAfter: number;
  /** Template: board profiles this claim may provision ([] = any). */
  boards: string[];
  /** Template: roles granted to boards provisioned with this claim. */
  roles: string[];
}

export function issueCertificate(cert: NodeCertificate, fleetSigner: Signer): Uint8Array {
  return signDoc(CERT_TYPE, { ...cert }, fleetSigner);
}

function readCert(m: Record<string, unknown>): NodeCertificate {
  const w = CERT_TYPE;
  const cert: NodeCertificate = {
    fleet: field.str(m, 'fleet', w, 64, SEGMENT),
    nodeId: field.str(m, 'nodeId', w, 64, SEGMENT),
    publicKey: field.bytes(m, 'publicKey', w, 32),
    boxKey: field.bytes(m, 'boxKey', w, 32),
    roles: field.strList(m, 'roles', w, 16, SEGMENT),
    serial: field.int(m, 'serial', w),
    notBefore: field.int(m, 'notBefore', w),
    notAfter: field.int(m, 'notAfter', w),
  };
  if (!nodeIdMatches(cert.nodeId, cert.publicKey)) throw new WireError('WIRE_TYPE', `${w}: node id ${cert.nodeId} is not derived from its public key`);
  return cert;
}

/**
 * Verify a certificate: fleet signature, fleet name, self-certifying node id and, when `now` is given,
 * the validity window. Throws WireError (WIRE_BAD_SIGNATURE, WIRE_FLEET, WIRE_CERT_EXPIRED, WIRE_TYPE).
 */
export function verifyCertificate(bytes: Uint8Array, fleetPublicKey: Uint8Array, fleet: string, now?: number): NodeCertificate {
  const cert = readCert(openDoc(bytes, fleetPublicKey, CERT_TYPE));
  if (cert.fleet !== fleet) throw new WireError('WIRE_FLEET', `certificate is for fleet ${cert.fleet}, not ${fleet}`);
  if (now !== undefined && (now >= cert.notAfter || now < cert.notBefore)) {
    throw new WireError('WIRE_CERT_EXPIRED', `certificate of ${cert.nodeId} is valid ${new Date(cert.notBefore).toISOString()}..${new Date(cert.notAfter).toISOString()}, not now`, { detail: { nodeId: cert.nodeId } });
  }
  return cert;
}

/** Parse without verifying (e.g. to show a stored certificate). */
export function peekCertificate(bytes: Uint8Array): NodeCertificate {
  return readCert(peekDoc(bytes, CERT_TYPE));
}

export function issueClaim(claim: ClaimCredential, fleetSigner: Signer): Uint8Array {
  return signDoc(CLAIM_TYPE, { ...claim }, fleetSigner);
}

/**
 * Verify a claim credential's fleet signature and fleet name (expiry is checked by the caller).
 * `skipSignature`: test-only (defences.ts `claim-fleet-sig`), the fields without the signature check.
 */
export function verifyClaim(bytes: Uint8Array, fleetPublicKey: Uint8Array, fleet: string, skipSignature = false): ClaimCredential {
  const m = skipSignature ? peekDoc(bytes, CLAIM_TYPE) : openDoc(bytes, fleetPublicKey, CLAIM_TYPE);
  const w = CLAIM_TYPE;
  const claim: ClaimCredential = {
    fleet: field.str(m, 'fleet', w, 64, SEGMENT),
    batch: field.str(m, 'batch', w, 64, SEGMENT),
    claimKey: field.bytes(m, 'claimKey', w, 32),
    maxUses: field.int(m, 'maxUses', w, 1),
    issuedAt: field.int(m, 'issuedAt', w),
    notAfter: field.int(m, 'notAfter', w),
    boards: field.strList(m, 'boards', w, 64),
    roles: field.strList(m, 'roles', w, 16, SEGMENT),
  };
  if (claim.fleet !== fleet) throw new WireError('WIRE_FLEET', `claim is for fleet ${claim.fleet}, not ${fleet}`);
  return claim;
}
