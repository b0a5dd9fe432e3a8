import nacl from 'tweetnacl';
import { WireError } from '../errors.js';
import { verify, type Signer } from '../crypto/ed25519.js';
import { nodeIdMatches } from '../crypto/node-id.js';
import { cborDecodeMap, cborEncode, field, SEGMENT, type CborMap } from './codec.js';
import { decodeFleetMessage, encodeFleetMessage, type FleetMessage } from './message.js';

/**
 * Provisioning messages (DESIGN section 8), both fleet messages (message.ts):
 *
 * request  on `provision/request/<requestId>`, from = node id, signed by the NEW node key:
 *   {requestId, publicKey, boxKey, board, versions, nonce, claim?, claimSig?, renew?}
 *   claim    = the fleet-signed batch claim credential (bytes), absent when renewing
 *   claimSig = claim key signature over CBOR [nodeId, requestId, nonce, publicKey, boxKey]
 *              (proves the sender holds the batch claim key and binds it to this node key)
 * response on `provision/response/<requestId>`, from = `fleet`, signed by the fleet key:
 *   {requestId, nonce, status: accepted|rejected, reason?, cert?, config?, sealed?, tlsCert?, tlsCa?}
 *   tlsCert  = DER X.509 certificate, CN = node id, over the node's identity key (mutual TLS; tls-ca.ts)
 *   tlsCa    = DER fleet CA certificate (boards whose image predates TLS learn it here)
 *   sealed   = {epk, nonce, box}: tweetnacl box of CBOR {brokerPassword, ...secrets} from an
 *              ephemeral X25519 key to the board's boxKey (only that board can open it)
 */
export interface ProvisionRequest {
  nodeId: string;
  requestId: string;
  publicKey: Uint8Array;
  boxKey: Uint8Array;
  board: string;
  versions: Record<string, string>;
  nonce: Uint8Array;
  claim?: Uint8Array;
  claimSig?: Uint8Array;
  renew: boolean;
}

export interface ProvisionResponse {
  requestId: string;
  nonce: Uint8Array;
  status: 'accepted' | 'rejected';
  reason?: string;
  cert?: Uint8Array;
  config?: CborMap;
  sealed?: { epk: Uint8Array; nonce: Uint8Array; box: Uint8Array };
  tlsCert?: Uint8Array;
  tlsCa?: Uint8Array;
}

/** Largest provisioning request accepted (the broker refuses larger ones too). */
export const MAX_PROVISION_REQUEST_BYTES = 8192;

export function claimBinding(nodeId: string, requestId: string, nonce: Uint8Array, publicKey: Uint8Array, boxKey: Uint8Array): Uint8Array {
  return cborEncode([nodeId, requestId, nonce, publicKey, boxKey]);
}

export function encodeProvisionRequest(r: ProvisionRequest, fleet: string, nodeSigner: Signer, ts: number): Uint8Array {
  const body: CborMap = { requestId: r.requestId, publicKey: r.publicKey, boxKey: r.boxKey, board: r.board, versions: r.versions, nonce: r.nonce, renew: r.renew };
  if (r.claim) body.claim = r.claim;
  if (r.claimSig) body.claimSig = r.claimSig;
  return encodeFleetMessage({ kind: 'provision-request', fleet, from: r.nodeId, seq: 1, ts, body }, nodeSigner);
}

/**
 * Decode a request and check the node's own signature: the signing key is the one the request names,
 * and the node id must be derived from it (self-certifying), so nobody can ask for another node's id.
 * The claim itself is checked by the provisioner (provisioner-rules.ts).
 */
export function decodeProvisionRequest(bytes: Uint8Array, fleet: string): { request: ProvisionRequest; msg: FleetMessage } {
  const msg = decodeFleetMessage(bytes, {
    fleet,
    kinds: ['provision-request'],
    maxBytes: MAX_PROVISION_REQUEST_BYTES,
    resolveKey: (from, body) => {
      const pk = body.publicKey;
      return pk instanceof Uint8Array && pk.length === 32 && nodeIdMatches(from, pk) ? pk : undefined;
    },
  });
  const b = msg.body;
  const w = 'provision-request';
  const versions = b.versions === undefined ? {} : field.map(b, 'versions', w);
  const vOut: Record<string, string> = {};
  for (const [k, v] of Object.entries(versions).slice(0, 32)) vOut[k.slice(0, 64)] = String(v).slice(0, 64);
  const request: ProvisionRequest = {
    nodeId: msg.from,
    requestId: field.str(b, 'requestId', w, 64, SEGMENT),
    publicKey: field.bytes(b, 'publicKey', w, 32),
    boxKey: field.bytes(b, 'boxKey', w, 32),
    board: field.str(b, 'board', w, 64),
    versions: vOut,
    nonce: field.bytes(b, 'nonce', w, 16),
    claim: field.optBytes(b, 'claim', w, 4096),
    claimSig: field.optBytes(b, 'claimSig', w, 64),
    renew: b.renew === true,
  };
  return { request, msg };
}

export function encodeProvisionResponse(r: ProvisionResponse, fleet: string, fleetSigner: Signer, seq: number, ts: number): Uint8Array {
  const body: CborMap = { requestId: r.requestId, nonce: r.nonce, status: r.status };
  if (r.reason !== undefined) body.reason = r.reason;
  if (r.cert) body.cert = r.cert;
  if (r.config) body.config = r.config;
  if (r.sealed) body.sealed = r.sealed;
  if (r.tlsCert) body.tlsCert = r.tlsCert;
  if (r.tlsCa) body.tlsCa = r.tlsCa;
  return encodeFleetMessage({ kind: 'provision-response', fleet, from: 'fleet', seq, ts, body }, fleetSigner);
}

export function decodeProvisionResponse(bytes: Uint8Array, fleet: string, fleetPublicKey: Uint8Array): ProvisionResponse {
  const msg = decodeFleetMessage(bytes, { fleet, kinds: ['provision-response'], resolveKey: (from) => (from === 'fleet' ? fleetPublicKey : undefined) });
  const b = msg.body;
  const w = 'provision-response';
  const status = b.status;
  if (status !== 'accepted' && status !== 'rejected') throw new WireError('WIRE_TYPE', `${w}.status: "${String(status).slice(0, 20)}"`);
  const out: ProvisionResponse = { requestId: field.str(b, 'requestId', w, 64, SEGMENT), nonce: field.bytes(b, 'nonce', w, 16), status };
  if (b.reason !== undefined) out.reason = field.str(b, 'reason', w, 512);
  if (b.cert !== undefined) out.cert = field.bytes(b, 'cert', w, undefined, 4096);
  if (b.config !== undefined) out.config = field.map(b, 'config', w);
  if (b.tlsCert !== undefined) out.tlsCert = field.bytes(b, 'tlsCert', w, undefined, 2048);
  if (b.tlsCa !== undefined) out.tlsCa = field.bytes(b, 'tlsCa', w, undefined, 2048);
  if (b.sealed !== undefined) {
    const s = field.map(b, 'sealed', w);
    out.sealed = { epk: field.bytes(s, 'epk', w, 32), nonce: field.bytes(s, 'nonce', w, 24), box: field.bytes(s, 'box', w, undefined, 4096) };
  }
  return out;
}

/** Seal `secrets` to a board's X25519 box key from a fresh ephemeral key (tweetnacl box). */
export function sealSecrets(secrets: CborMap, boxKey: Uint8Array): { epk: Uint8Array; nonce: Uint8Array; box: Uint8Array } {
  const eph = nacl.box.keyPair();
  const nonce = nacl.randomBytes(24);
  return { epk: eph.publicKey, nonce, box: nacl.box(cborEncode(secrets), nonce, boxKey, eph.secretKey) };
}

export function openSecrets(sealed: { epk: Uint8Array; nonce: Uint8Array; box: Uint8Array }, boxSecretKey: Uint8Array): CborMap {
  const plain = nacl.box.open(sealed.box, sealed.nonce, sealed.epk, boxSecretKey);
  if (!plain) throw new WireError('WIRE_BAD_SIGNATURE', 'sealed secrets do not open with this board key');
  return cborDecodeMap(plain, 4096, 'sealed secrets');
}

/** Check the claim key's signature binding the claim to this node key. */
export function claimSigValid(req: ProvisionRequest, claimKey: Uint8Array): boolean {
  return !!req.claimSig && verify(claimKey, claimBinding(req.nodeId, req.requestId, req.nonce, req.publicKey, req.boxKey), req.claimSig);
}
