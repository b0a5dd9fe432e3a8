import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { defencesOff, type Defence } from '../sync/defences.js';
import type { FleetDir } from './fleet-dir.js';
import { createCrl, derToPem, ed25519KeyPem, freshTlsKey, issueTlsCertificate } from './tls-ca.js';
import { ensureFleetTls } from './tls-files.js';

/**
 * Mutual TLS for Mosquitto 2.x (issue 9 item 2, docs/fleet.md "TLS"): a listener whose clients must
 * present a certificate from the fleet CA (`require_certificate true`) and are known by the name it
 * certifies (`use_identity_as_username true`: the CN becomes the MQTT username, and with
 * `use_username_as_clientid` from mosquitto-acl.ts also the client id). A node's certificate is its
 * provisioning certificate (CN = node id), a claim's the image's `claim-cert.pem` (CN claim-<batch>),
 * so the same ACL file applies. The password file is not consulted on this listener.
 *
 * Files written to `dir`: `ca.pem`, `server.pem`, `server.key` (0600), `crl.pem` (revoked nodes' TLS
 * certificates and revoked batches' claim certificates, signed by the fleet key; `crlfile`). The server certificate is kept while it is valid
 * for 30 more days and names the same hosts; otherwise re-issued.
 */
export interface MosquittoTlsOptions {
  /** Where the files go. */
  dir: string;
  /** Listener port. Default 8883. */
  port?: number;
  /** Listener bind address. Default: all addresses. */
  bind?: string;
  /** Host names / addresses clients use to reach the broker (server certificate SAN). Required. */
  names: string[];
  now: number;
  /** Server certificate lifetime, days. Default 825. */
  serverDays?: number;
  /**
   * Test-only (`tls-client-cert`): `require_certificate false` and `use_identity_as_username false`
   * (password logins without a certificate). Default from H3LIX_TEST_DEFENCES_OFF.
   */
  defencesOff?: ReadonlySet<Defence>;
}

export interface MosquittoTlsFiles {
  cafile: string;
  certfile: string;
  keyfile: string;
  crlfile: string;
  /** mosquitto.conf lines: the listener and its TLS settings (put before the auth lines). */
  conf: string[];
  /** Serials in the CRL. */
  revokedSerials: string[];
}

const DAY = 86_400_000;

function write(path: string, text: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, path);
}

function serverStillGood(certfile: string, keyfile: string, names: string[], now: number): boolean {
  if (!existsSync(certfile) || !existsSync(keyfile)) return false;
  try {
    const c = new X509Certificate(readFileSync(certfile));
    if (Date.parse(c.validTo) < now + 30 * DAY) return false;
    const san = c.subjectAltName ?? '';
    return names.every((n) => san.includes(`DNS:${n}`) || san.includes(`IP Address:${n}`));
  } catch {
    return false;
  }
}

/** Write the TLS files for a Mosquitto listener and return its config lines. */
export async function writeMosquittoTls(fd: FleetDir, o: MosquittoTlsOptions): Promise<MosquittoTlsFiles> {
  const off = o.defencesOff ?? defencesOff();
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const ca = await ensureFleetTls(fd, o.now);
  const cafile = join(o.dir, 'ca.pem');
  const certfile = join(o.dir, 'server.pem');
  const keyfile = join(o.dir, 'server.key');
  const crlfile = join(o.dir, 'crl.pem');
  write(cafile, ca, 0o644);
  const names = [...new Set([...o.names, 'localhost', '127.0.0.1', '::1'])];
  if (!serverStillGood(certfile, keyfile, names, o.now)) {
    const key = freshTlsKey();
    const der = await issueTlsCertificate(ca, fd.fleetSeed(), { cn: o.names[0] ?? 'localhost', publicKey: key.publicKey, notBefore: o.now - 3600_000, notAfter: o.now + (o.serverDays ?? 825) * DAY, usage: 'server', names });
    write(keyfile, ed25519KeyPem(key.seed), 0o600);
    write(certfile, derToPem(der), 0o644);
  }
  const revoked = new Set(fd.revocations().revoked.map((r) => r.nodeId));
  const revokedSerials: string[] = [];
  for (const n of fd.nodes()) {
    if (!revoked.has(n.nodeId) || !n.tlsCert) continue;
    revokedSerials.push(new X509Certificate(Buffer.from(n.tlsCert, 'base64')).serialNumber.toLowerCase());
  }
  // A revoked batch's claim certificate too (every image of the batch holds its key).
  for (const b of fd.revocations().batches ?? []) {
    const path = fd.path('image', b.batch, 'claim-cert.pem');
    if (existsSync(path)) revokedSerials.push(new X509Certificate(readFileSync(path)).serialNumber.toLowerCase());
  }
  const crl = await createCrl(ca, fd.fleetSeed(), revokedSerials, o.now);
  write(crlfile, crl, 0o644);
  const strict = !off.has('tls-client-cert');
  const conf = [
    `listener ${o.port ?? 8883}${o.bind ? ` ${o.bind}` : ''}`,
    `cafile ${cafile}`,
    `certfile ${certfile}`,
    `keyfile ${keyfile}`,
    `crlfile ${crlfile}`,
    `require_certificate ${strict}`,
    `use_identity_as_username ${strict}`,
  ];
  return { cafile, certfile, keyfile, crlfile, conf, revokedSerials };
}
