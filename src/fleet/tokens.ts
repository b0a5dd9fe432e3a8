import { WireError } from '../errors.js';
import type { Signer } from '../crypto/ed25519.js';
import { field, SEGMENT } from './codec.js';
import { verifyCertificate, verifyClaim, type ClaimCredential, type NodeCertificate } from './certificate.js';
import { openDoc, peekDoc, signDoc } from './signed-doc.js';

/**
 * MQTT passwords for the embedded broker: short-lived tokens signed by the holder's key, carrying the
 * fleet-signed credential they chain to, so the broker needs only the fleet public key (and the
 * revocation list) to authenticate anyone. A token is base64url text (MQTT passwords are bytes, but
 * many tools take text).
 *   node:        {t: h3lix-node-token, nodeId, exp, cert, cid?} signed by the node key, username = nodeId;
 *                `cid`: the MQTT client id it was minted for (issue 9 item 1). A token carrying one
 *                logs in only under that client id, so a copied token cannot open a parallel session
 *                under another of the node's ids; tokens without it (minted by older versions, at
 *                most 24 h old) are taken under any of the node's ids.
 *   claim:       {t: h3lix-claim-token, requestId, exp, claim} signed by the batch claim key, username = claim-<batch>
 *   provisioner: {t: h3lix-provisioner-token, exp}            signed by the fleet key, username = provisioner
 */
const NODE_TOKEN = 'h3lix-node-token';
const CLAIM_TOKEN = 'h3lix-claim-token';
const PROV_TOKEN = 'h3lix-provisioner-token';

/** Longest lifetime a token may claim; a stolen token is useless after this. */
export const MAX_TOKEN_LIFETIME_MS = 24 * 3600_000;
const MAX_TOKEN_BYTES = 4096;

const enc = (b: Uint8Array) => Buffer.from(b).toString('base64url');
function dec(token: string | Uint8Array): Uint8Array {
  const text = typeof token === 'string' ? token : Buffer.from(token).toString('latin1');
  if (text.length > MAX_TOKEN_BYTES * 2 || !/^[A-Za-z0-9_-]+$/.test(text)) throw new WireError('WIRE_MALFORMED', 'token: not base64url');
  return new Uint8Array(Buffer.from(text, 'base64url'));
}

function checkExp(exp: number, now: number, what: string): void {
  if (exp <= now) throw new WireError('WIRE_CERT_EXPIRED', `${what} expired ${Math.round((now - exp) / 1000)} s ago`);
  if (exp - now > MAX_TOKEN_LIFETIME_MS) throw new WireError('WIRE_TYPE', `${what} lifetime exceeds ${MAX_TOKEN_LIFETIME_MS / 3600_000} h`);
}

export function makeNodeToken(nodeId: string, certificate: Uint8Array, signer: Signer, exp: number, clientId?: string): string {
  return enc(signDoc(NODE_TOKEN, { nodeId, exp, cert: certificate, ...(clientId !== undefined ? { cid: clientId } : {}) }, signer));
}

export function makeClaimToken(requestId: string, claim: Uint8Array, claimSigner: Signer, exp: number): string {
  return enc(signDoc(CLAIM_TOKEN, { requestId, exp, claim }, claimSigner));
}

export function makeProvisionerToken(fleetSigner: Signer, exp: number): string {
  return enc(signDoc(PROV_TOKEN, { exp }, fleetSigner));
}

export interface TokenContext {
  fleet: string;
  fleetPublicKey: Uint8Array;
  now: number;
}

/**
 * Verify a node token for `username`, presented by MQTT client `clientId` (undefined: do not check
 * the binding; test switch `token-binding`); returns the certificate it chains to.
 */
export function verifyNodeToken(username: string, token: string | Uint8Array, ctx: TokenContext, clientId?: string): NodeCertificate {
  const bytes = dec(token);
  const peek = peekDoc(bytes, NODE_TOKEN, MAX_TOKEN_BYTES);
  const cert = verifyCertificate(field.bytes(peek, 'cert', NODE_TOKEN, undefined, MAX_TOKEN_BYTES), ctx.fleetPublicKey, ctx.fleet, ctx.now);
  const body = openDoc(bytes, cert.publicKey, NODE_TOKEN, MAX_TOKEN_BYTES);
  if (field.str(body, 'nodeId', NODE_TOKEN, 64, SEGMENT) !== username || cert.nodeId !== username) {
    throw new WireError('WIRE_UNKNOWN_SENDER', `node token is for ${cert.nodeId}, username is ${username}`);
  }
  checkExp(field.int(body, 'exp', NODE_TOKEN), ctx.now, 'node token');
  if (clientId !== undefined && body.cid !== undefined) {
    const cid = field.str(body, 'cid', NODE_TOKEN, 128);
    if (cid !== clientId) throw new WireError('WIRE_UNKNOWN_SENDER', `node token is bound to client id ${cid}, presented by ${clientId.slice(0, 128)}`);
  }
  return cert;
}

/** Verify a claim token presented by MQTT client `clientId`; returns the claim credential. */
export function verifyClaimToken(clientId: string, token: string | Uint8Array, ctx: TokenContext): ClaimCredential {
  const bytes = dec(token);
  const peek = peekDoc(bytes, CLAIM_TOKEN, MAX_TOKEN_BYTES);
  const claim = verifyClaim(field.bytes(peek, 'claim', CLAIM_TOKEN, undefined, MAX_TOKEN_BYTES), ctx.fleetPublicKey, ctx.fleet);
  if (claim.notAfter <= ctx.now) throw new WireError('WIRE_CERT_EXPIRED', `claim of batch ${claim.batch} expired`);
  const body = openDoc(bytes, claim.claimKey, CLAIM_TOKEN, MAX_TOKEN_BYTES);
  if (field.str(body, 'requestId', CLAIM_TOKEN, 64, SEGMENT) !== clientId) throw new WireError('WIRE_UNKNOWN_SENDER', `claim token is bound to another client id than ${clientId}`);
  checkExp(field.int(body, 'exp', CLAIM_TOKEN), ctx.now, 'claim token');
  return claim;
}

/**
 * The `exp` a token claims, read without verifying it (call after one of the verify functions accepted
 * it): the broker closes the session when its token lapses. Undefined for anything unreadable.
 */
export function tokenExpiry(token: string | Uint8Array): number | undefined {
  try {
    const bytes = dec(token);
    for (const type of [NODE_TOKEN, CLAIM_TOKEN, PROV_TOKEN]) {
      try {
        const exp = peekDoc(bytes, type, MAX_TOKEN_BYTES).exp;
        if (typeof exp === 'number') return exp;
      } catch {
        // another token type
      }
    }
  } catch {
    // not a token
  }
  return undefined;
}

export function verifyProvisionerToken(token: string | Uint8Array, ctx: TokenContext): void {
  const body = openDoc(dec(token), ctx.fleetPublicKey, PROV_TOKEN, MAX_TOKEN_BYTES);
  checkExp(field.int(body, 'exp', PROV_TOKEN), ctx.now, 'provisioner token');
}
