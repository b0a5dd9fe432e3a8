import { defencesOff } from '../sync/defences.js';
import { WireError, describeError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { peekCertificate, verifyCertificate, type NodeCertificate } from './certificate.js';
import { RevocationSet } from './revocation.js';
import type { KeyResolver, LearningKeyResolver } from '../sync/key-resolver.js';

export type { KeyResolver };

/**
 * Options for {@link CertificateKeyResolver}.
 * - `fleet`, `fleetPublicKey`: the trust anchor. Required.
 * - `clock`: expiry is checked at every `resolve`. Required.
 * - `revocations`: shared revocation set. Default: a new empty one (fed by `handleMessage`).
 * - `logger`: refusals at warn. Required.
 * - `maxCertsPerNode`: certificates kept per node (rotation overlap). Default 2.
 * - `requireOriginSignatures`: relayed contributions must carry their origin's signature, and the
 *   origin must resolve here. Default true (off only through the test switch `origin-sig`).
 */
export interface CertificateKeyResolverOptions {
  fleet: string;
  fleetPublicKey: Uint8Array;
  clock: Clock;
  revocations?: RevocationSet;
  logger: Logger;
  maxCertsPerNode?: number;
  requireOriginSignatures?: boolean;
}

/**
 * Resolves a sender's key ONLY from a fleet-signed, currently valid, unrevoked certificate (DESIGN
 * section 8). Certificates are learned from the retained `fleet/certs/<node>` topic (or `learn()`, e.g.
 * from a birth message); the revocation list from the retained `fleet/revocations`. During a rotation
 * overlap both certificates are held and either valid one resolves (same key: node ids are
 * self-certifying, so a node's key never changes under the same id).
 */
export class CertificateKeyResolver implements LearningKeyResolver {
  readonly revocations: RevocationSet;
  readonly requireOriginSignatures: boolean;
  private readonly skipCertSig: boolean;
  private readonly certs = new Map<string, NodeCertificate[]>();
  private readonly root: string;

  constructor(private readonly o: CertificateKeyResolverOptions) {
    this.revocations = o.revocations ?? new RevocationSet(o.fleet, o.fleetPublicKey);
    this.requireOriginSignatures = o.requireOriginSignatures ?? !defencesOff().has('origin-sig');
    this.skipCertSig = defencesOff().has('cert-sig');
    if (this.skipCertSig || !this.requireOriginSignatures) o.logger.error({ defencesOff: [...defencesOff()] }, 'TEST SWITCH: certificate defences are OFF (H3LIX_TEST_DEFENCES_OFF); never run a board like this');
    this.root = `h3lix/v1/${o.fleet}/fleet/`;
  }

  /** Topics to subscribe for certificates and revocations. */
  subscriptions(): string[] {
    return [`${this.root}certs/+`, `${this.root}revocations`];
  }

  /**
   * LearningKeyResolver (sync presence): accept a birth's key only with a valid certificate for exactly
   * that node and key. A bare key without a certificate is never trusted.
   */
  learn(node: string, publicKey: Uint8Array, certificate?: Uint8Array): boolean {
    if (!certificate) return false;
    const cert = this.learnCertificate(certificate);
    return !!cert && cert.nodeId === node && Buffer.from(cert.publicKey).equals(publicKey);
  }

  /** Verify and keep a certificate; returns it, or undefined (reason logged) when refused. */
  learnCertificate(bytes: Uint8Array): NodeCertificate | undefined {
    let cert: NodeCertificate;
    try {
      // Test switch `cert-sig`: any well-formed certificate of this fleet is taken, whoever signed it.
      cert = this.skipCertSig ? checkedPeek(bytes, this.o.fleet) : verifyCertificate(bytes, this.o.fleetPublicKey, this.o.fleet, this.o.clock.now());
    } catch (err) {
      this.o.logger.warn({ error: describeError(err) }, 'certificate refused');
      return undefined;
    }
    const list = (this.certs.get(cert.nodeId) ?? []).filter((c) => c.serial !== cert.serial && c.notAfter > this.o.clock.now());
    list.push(cert);
    list.sort((a, b) => b.serial - a.serial);
    this.certs.set(cert.nodeId, list.slice(0, this.o.maxCertsPerNode ?? 2));
    return cert;
  }

  /** Feed an MQTT message; true when it was a fleet topic this resolver handles. */
  handleMessage(topic: string, payload: Uint8Array): boolean {
    if (!topic.startsWith(this.root)) return false;
    const rest = topic.slice(this.root.length);
    if (rest === 'revocations') {
      try {
        const added = this.revocations.apply(payload);
        if (added.length > 0) this.o.logger.warn({ revoked: added }, 'nodes revoked');
      } catch (err) {
        this.o.logger.warn({ error: describeError(err) }, 'revocation list refused');
      }
      return true;
    }
    if (rest.startsWith('certs/')) {
      const cert = this.learnCertificate(payload);
      if (cert && `certs/${cert.nodeId}` !== rest) this.o.logger.warn({ topic, nodeId: cert.nodeId }, 'certificate published under another node topic (kept: it is fleet-signed)');
      return true;
    }
    return false;
  }

  /** The current valid certificate of `nodeId`, if any. */
  certificate(nodeId: string): NodeCertificate | undefined {
    if (this.revocations.isRevoked(nodeId)) return undefined;
    const now = this.o.clock.now();
    return this.certs.get(nodeId)?.find((c) => now >= c.notBefore && now < c.notAfter);
  }

  /**
   * The sender's key from its valid certificate. A revoked sender throws WIRE_REVOKED and a sender
   * whose every certificate has expired throws WIRE_CERT_EXPIRED, so the rejection says why; a sender
   * with no certificate at all resolves to undefined (decodeEnvelope: WIRE_UNKNOWN_SENDER).
   */
  resolve(from: string): Uint8Array | undefined {
    if (this.revocations.isRevoked(from)) throw new WireError('WIRE_REVOKED', `sender ${JSON.stringify(from)} is revoked by the fleet`);
    const cert = this.certificate(from);
    if (cert) return cert.publicKey;
    const now = this.o.clock.now();
    if (this.certs.get(from)?.some((c) => now >= c.notAfter)) throw new WireError('WIRE_CERT_EXPIRED', `certificate of sender ${JSON.stringify(from)} has expired`);
    return undefined;
  }

  /** The filter the CCF value/merge path uses: drop contributions of revoked origins. */
  isRevoked(origin: string): boolean {
    return this.revocations.isRevoked(origin);
  }

  get size(): number {
    return this.certs.size;
  }
}

/** The certificate's fields without its signature check, still only for `fleet` (test switch `cert-sig`). */
function checkedPeek(bytes: Uint8Array, fleet: string): NodeCertificate {
  const cert = peekCertificate(bytes);
  if (cert.fleet !== fleet) throw new Error(`certificate is for fleet ${cert.fleet}`);
  return cert;
}
