import { H3lixError } from '../errors.js';
import type { ClientTls } from '../sync/tls.js';
import type { BoardCredentials, BoardImage } from './board-files.js';
import type { ProvisionResponse } from './provision-protocol.js';
import { certifiedKey, checkTlsCertificate, derToPem, ed25519KeyPem, isFleetCa } from './tls-ca.js';

/**
 * The board's side of fleet TLS (docs/fleet.md "TLS"): check the certificate a provisioning answer
 * carries, and build the client TLS for its MQTT connections. A CA is trusted only when its key is
 * the fleet key (the one trust anchor of the board image).
 */

/** The image's CA, when it carries one made by the fleet key. */
export function imageCa(image: Pick<BoardImage, 'tlsCa' | 'fleetPublicKey'>): string | undefined {
  return image.tlsCa !== undefined && isFleetCa(image.tlsCa, image.fleetPublicKey) ? image.tlsCa : undefined;
}

/**
 * The TLS fields of an accepted answer, checked: the CA is the fleet key's, the certificate is from it,
 * valid now, names `nodeId` and certifies the node's identity key. Throws PROVISION_REJECTED.
 */
export function acceptedTls(res: ProvisionResponse, image: Pick<BoardImage, 'tlsCa' | 'fleetPublicKey'>, nodeId: string, publicKey: Uint8Array, now: number): Pick<BoardCredentials, 'tlsCert' | 'tlsCa'> {
  if (!res.tlsCert) return {};
  const ca = res.tlsCa ? derToPem(res.tlsCa) : imageCa(image);
  if (!ca || !isFleetCa(ca, image.fleetPublicKey)) throw new H3lixError('PROVISION_REJECTED', 'the TLS CA of the answer is not the fleet key’s');
  const cert = derToPem(res.tlsCert);
  try {
    checkTlsCertificate(cert, ca, now, nodeId);
  } catch (err) {
    throw new H3lixError('PROVISION_REJECTED', `TLS certificate unusable: ${(err as Error).message}`, { cause: err });
  }
  const key = certifiedKey(cert);
  if (!key || !Buffer.from(key).equals(publicKey)) throw new H3lixError('PROVISION_REJECTED', 'the TLS certificate is not for this identity key');
  return { tlsCert: cert, tlsCa: ca };
}

/** Client TLS as a provisioned node: its certificate, its identity key, the fleet CA. */
export function nodeClientTls(creds: BoardCredentials, image: Pick<BoardImage, 'tlsCa' | 'fleetPublicKey'>, identitySeed: Uint8Array): ClientTls {
  const ca = creds.tlsCa ?? imageCa(image);
  const out: ClientTls = {};
  if (ca) out.ca = ca;
  if (creds.tlsCert) {
    out.cert = creds.tlsCert;
    out.key = ed25519KeyPem(identitySeed);
  }
  return out;
}

/** Client TLS for the first (claim) connection: the image's claim certificate and claim key. */
export function claimClientTls(image: BoardImage): ClientTls {
  const ca = imageCa(image);
  const out: ClientTls = {};
  if (ca) out.ca = ca;
  if (image.claimCert) {
    out.cert = image.claimCert;
    out.key = ed25519KeyPem(new Uint8Array(Buffer.from(image.claim.claimSeed, 'base64')));
  }
  return out;
}
