import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { H3lixError } from '../errors.js';

/**
 * The fleet's X.509 layer for TLS (issue 9 item 2; docs/fleet.md "TLS"), through `@peculiar/x509` on
 * Node's webcrypto. Every key is Ed25519 (RFC 8410) and is a key the fleet already has:
 *   CA      self-signed by the fleet key itself (subject public key = `fleet.json` fleetPublicKey), so
 *           trusting the CA is trusting the fleet key; nothing new to keep secret.
 *   node    CN = node id, key = the node's identity key (store/identity.ts), issued at provisioning.
 *   claim   CN = `claim-<batch>`, key = the batch claim key, in the board image (first connection).
 *   server  CN/SAN = broker host names, a fresh key (`h3lix fleet tls-server`).
 *   client  CN = `provisioner` / `operator`, a fresh key (the operator's own connections).
 * OpenSSL 3 accepts Ed25519 certificates in TLS 1.3 (and 1.2 with the ed25519 sigalg); Node 20 and
 * Mosquitto 2.0 (OpenSSL 3) were checked (test/fleet/tls.test.ts).
 */

type WebKey = webcrypto.CryptoKey;
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const ALG = { name: 'Ed25519' } as const;
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const EKU_SERVER = '1.3.6.1.5.5.7.3.1';
const EKU_CLIENT = '1.3.6.1.5.5.7.3.2';
const YEAR = 365 * 86_400_000;

/** PKCS#8 PEM of an Ed25519 seed (what Node's `tls` and Mosquitto's `keyfile` read). Never log it. */
export function ed25519KeyPem(seed: Uint8Array): string {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }).toString();
}

/** PEM of DER bytes; `label` CERTIFICATE, or X509 CRL (the label OpenSSL reads for a CRL). */
export function derToPem(der: Uint8Array, label: 'CERTIFICATE' | 'X509 CRL' = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

async function signingKey(seed: Uint8Array): Promise<WebKey> {
  return webcrypto.subtle.importKey('pkcs8', Buffer.concat([PKCS8_PREFIX, seed]), ALG, false, ['sign']);
}

async function publicKey(raw: Uint8Array): Promise<WebKey> {
  if (raw.length !== 32) throw new H3lixError('DATA_INVALID', `an Ed25519 public key is 32 bytes, got ${raw.length}`);
  return webcrypto.subtle.importKey('spki', Buffer.concat([SPKI_PREFIX, raw]), ALG, true, ['verify']);
}

/** A fresh Ed25519 key: its seed and raw public key. */
export function freshTlsKey(): { seed: Uint8Array; publicKey: Uint8Array } {
  const seed = new Uint8Array(randomBytes(32));
  const spki = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const raw = (spki.export({ format: 'jwk' }) as { x: string }).x;
  return { seed, publicKey: new Uint8Array(Buffer.from(raw, 'base64url')) };
}

/** The fleet CA certificate (PEM), self-signed by the fleet key; valid 10 years from `now`. */
export async function createFleetCa(fleet: string, fleetSeed: Uint8Array, fleetPublicKey: Uint8Array, now: number): Promise<string> {
  const pub = await publicKey(fleetPublicKey);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex').replace(/^[89a-f]/, '1'),
    name: [{ CN: [`h3lix fleet ${fleet} CA`] }, { O: ['h3lix'] }],
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 10 * YEAR),
    keys: { privateKey: await signingKey(fleetSeed), publicKey: pub },
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(pub),
    ],
  });
  return derToPem(new Uint8Array(cert.rawData));
}

/**
 * Options of {@link issueTlsCertificate}.
 * - `cn`: subject common name: the MQTT username the certificate stands for (node id, `claim-<batch>`,
 *   `provisioner`, `operator`) or a server's first host name. Required.
 * - `publicKey`: raw 32-byte Ed25519 key certified. Required.
 * - `notBefore` / `notAfter`: ms. Required.
 * - `usage`: `client`, `server` or `both` (extended key usage). Default `client`.
 * - `names`: subjectAltName entries (DNS names or IP addresses). Default `[cn]` as a DNS name for
 *   server certificates, none for clients.
 */
export interface TlsLeafSpec {
  cn: string;
  publicKey: Uint8Array;
  notBefore: number;
  notAfter: number;
  usage?: 'client' | 'server' | 'both';
  names?: string[];
}

/** Parsed CA certificates and their authority key identifiers (public data), by PEM. */
const issuers = new Map<string, { ca: x509.X509Certificate; aki: x509.AuthorityKeyIdentifierExtension }>();
async function issuer(caPem: string): Promise<{ ca: x509.X509Certificate; aki: x509.AuthorityKeyIdentifierExtension }> {
  let hit = issuers.get(caPem);
  if (!hit) {
    const ca = new x509.X509Certificate(caPem);
    hit = { ca, aki: await x509.AuthorityKeyIdentifierExtension.create(ca) };
    if (issuers.size >= 8) issuers.clear();
    issuers.set(caPem, hit);
  }
  return hit;
}

/** Issue a leaf certificate signed by the fleet key under `caPem`; returns DER. */
export async function issueTlsCertificate(caPem: string, fleetSeed: Uint8Array, spec: TlsLeafSpec): Promise<Uint8Array> {
  if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(spec.cn)) throw new H3lixError('DATA_INVALID', `certificate name "${spec.cn.slice(0, 40)}" must be 1-128 of [A-Za-z0-9_.:-]`);
  const { ca, aki } = await issuer(caPem);
  const usage = spec.usage ?? 'client';
  const names = spec.names ?? (usage === 'client' ? [] : [spec.cn]);
  const eku = usage === 'both' ? [EKU_SERVER, EKU_CLIENT] : [usage === 'server' ? EKU_SERVER : EKU_CLIENT];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(eku),
    aki,
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names.map((n) => (isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n }))));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(12).toString('hex').replace(/^[89a-f]/, '1'),
    subject: [{ CN: [spec.cn] }],
    issuer: ca.subject,
    notBefore: new Date(spec.notBefore),
    notAfter: new Date(spec.notAfter),
    publicKey: await publicKey(spec.publicKey),
    signingKey: await signingKey(fleetSeed),
    signingAlgorithm: ALG,
    extensions,
  });
  return new Uint8Array(cert.rawData);
}

/**
 * Check that `certPem` was issued by `caPem`, is valid at `now` and names `cn`; returns its notAfter.
 * Throws AUTH_FAILED with the reason.
 */
export function checkTlsCertificate(certPem: string | Uint8Array, caPem: string, now: number, cn?: string): { cn: string; notAfter: number } {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(typeof certPem === 'string' ? certPem : Buffer.from(certPem));
  } catch (err) {
    throw new H3lixError('AUTH_FAILED', `not an X.509 certificate: ${(err as Error).message}`, { cause: err });
  }
  const ca = new X509Certificate(caPem);
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) throw new H3lixError('AUTH_FAILED', `certificate of ${cert.subject.replace(/\n/g, ', ')} is not from the fleet CA`);
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (now < from || now > to) throw new H3lixError('AUTH_FAILED', `certificate valid ${cert.validFrom} – ${cert.validTo}, not now`);
  const subject = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1] ?? '';
  if (cn !== undefined && subject !== cn) throw new H3lixError('AUTH_FAILED', `certificate names ${subject}, expected ${cn}`);
  return { cn: subject, notAfter: to };
}

/** The raw Ed25519 public key a certificate certifies (undefined for other key types). */
export function certifiedKey(certPem: string | Uint8Array): Uint8Array | undefined {
  const cert = new X509Certificate(typeof certPem === 'string' ? certPem : Buffer.from(certPem));
  if (cert.publicKey.asymmetricKeyType !== 'ed25519') return undefined;
  return new Uint8Array(Buffer.from((cert.publicKey.export({ format: 'jwk' }) as { x: string }).x, 'base64url'));
}

/** True when `caPem` is a CA certificate self-signed by the fleet key `fleetPublicKey`. */
export function isFleetCa(caPem: string, fleetPublicKey: Uint8Array): boolean {
  try {
    const ca = new X509Certificate(caPem);
    const key = certifiedKey(caPem);
    return ca.ca && key !== undefined && Buffer.from(key).equals(fleetPublicKey) && ca.verify(ca.publicKey);
  } catch {
    return false;
  }
}

/** A CRL (PEM) of the fleet CA listing `serials` (hex), signed by the fleet key, valid a year. */
export async function createCrl(caPem: string, fleetSeed: Uint8Array, serials: string[], now: number): Promise<string> {
  const crl = await x509.X509CrlGenerator.create({
    issuer: new x509.X509Certificate(caPem).subject,
    thisUpdate: new Date(now - 60_000),
    nextUpdate: new Date(now + YEAR),
    entries: serials.map((serialNumber) => ({ serialNumber, revocationDate: new Date(now), reason: x509.X509CrlReason.keyCompromise })),
    signingKey: await signingKey(fleetSeed),
    signingAlgorithm: ALG,
  });
  return derToPem(new Uint8Array(crl.rawData), 'X509 CRL');
}
