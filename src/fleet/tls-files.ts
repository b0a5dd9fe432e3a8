import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { H3lixError } from '../errors.js';
import { readBoardImage } from './board-files.js';
import type { FleetDir } from './fleet-dir.js';
import { checkTlsCertificate, createFleetCa, derToPem, ed25519KeyPem, freshTlsKey, issueTlsCertificate } from './tls-ca.js';
import type { TlsMaterial } from '../sync/tls.js';
import { keyPairFromSeed } from '../crypto/ed25519.js';

/**
 * TLS files of a fleet directory (tls-ca.ts says which key signs what). PEM files are plain (Node's
 * `tls` and Mosquitto read them as they are), written atomically; keys 0600, certificates 0644.
 *   tls/ca.pem                       fleet CA (created on first use: `fleet init`, `fleet batch`, `fleet serve`, `fleet acl --tls`)
 *   tls/server-<name>.pem / .key     broker server certificate (`fleet tls-server`)
 *   image/<batch>/fleet-ca.pem       the CA, for boards to check the broker
 *   image/<batch>/claim-cert.pem     CN `claim-<batch>` over the batch claim key (in claim.json), until the claim's notAfter
 */
const DAY = 86_400_000;

function writePlain(path: string, text: string, mode: number): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, path);
}

/** The fleet CA PEM, created (signed by the fleet key) when the fleet has none yet. */
export async function fleetCaPem(fd: FleetDir, now: number): Promise<string> {
  const path = fd.path('tls', 'ca.pem');
  if (existsSync(path)) return readFileSync(path, 'utf8');
  const pem = await createFleetCa(fd.fleet, fd.fleetSeed(), fd.fleetPublicKey, now);
  writePlain(path, pem, 0o644);
  return pem;
}

/**
 * Make sure the fleet CA exists and that every batch image carries `fleet-ca.pem` and a claim
 * certificate. Idempotent; returns the CA PEM.
 */
export async function ensureFleetTls(fd: FleetDir, now: number): Promise<string> {
  const ca = await fleetCaPem(fd, now);
  const imageRoot = fd.path('image');
  if (!existsSync(imageRoot)) return ca;
  for (const batch of readdirSync(imageRoot)) {
    const dir = join(imageRoot, batch);
    if (!existsSync(join(dir, 'claim.json'))) continue;
    if (!existsSync(join(dir, 'fleet-ca.pem')) || readFileSync(join(dir, 'fleet-ca.pem'), 'utf8') !== ca) writePlain(join(dir, 'fleet-ca.pem'), ca, 0o644);
    if (existsSync(join(dir, 'claim-cert.pem'))) continue;
    const image = readBoardImage(dir);
    const state = fd.claimState(image.claim.batch);
    if (!state) continue;
    const seed = new Uint8Array(Buffer.from(image.claim.claimSeed, 'base64'));
    const { publicKey } = keyPairFromSeed(seed);
    const der = await issueTlsCertificate(ca, fd.fleetSeed(), { cn: `claim-${image.claim.batch}`, publicKey, notBefore: now - 3600_000, notAfter: state.notAfter });
    writePlain(join(dir, 'claim-cert.pem'), derToPem(der), 0o644);
  }
  return ca;
}

/**
 * Issue a broker server certificate for `names` (DNS names or IPs; `localhost`, 127.0.0.1 and ::1 are
 * always added so the broker's own host can connect) with a fresh key; written to
 * `tls/server-<first name>.pem|.key`. Returns the paths.
 */
export async function issueServerCertificate(fd: FleetDir, names: string[], now: number, days = 825): Promise<{ certFile: string; keyFile: string; caFile: string }> {
  if (names.length === 0) throw new H3lixError('DATA_INVALID', 'a server certificate needs at least one host name or address');
  const ca = await fleetCaPem(fd, now);
  const all = [...new Set([...names, 'localhost', '127.0.0.1', '::1'])];
  const key = freshTlsKey();
  const der = await issueTlsCertificate(ca, fd.fleetSeed(), { cn: names[0]!, publicKey: key.publicKey, notBefore: now - 3600_000, notAfter: now + days * DAY, usage: 'server', names: all });
  const base = names[0]!.replace(/[^A-Za-z0-9_.-]/g, '_');
  const certFile = fd.path('tls', `server-${base}.pem`);
  const keyFile = fd.path('tls', `server-${base}.key`);
  writePlain(keyFile, ed25519KeyPem(key.seed), 0o600);
  writePlain(certFile, derToPem(der), 0o644);
  return { certFile, keyFile, caFile: fd.path('tls', 'ca.pem') };
}

/**
 * In-memory client TLS for the operator's own connections (`provisioner` for `fleet serve`,
 * `operator` for the CLI): a fresh key and a certificate valid `days` (default 30).
 */
export async function operatorTls(fd: FleetDir, cn: 'provisioner' | 'operator', now: number, days = 30): Promise<TlsMaterial> {
  const ca = await fleetCaPem(fd, now);
  const key = freshTlsKey();
  const der = await issueTlsCertificate(ca, fd.fleetSeed(), { cn, publicKey: key.publicKey, notBefore: now - 3600_000, notAfter: now + days * DAY });
  return { ca, cert: derToPem(der), key: ed25519KeyPem(key.seed) };
}

/** Issue the node's TLS certificate at provisioning: CN = node id, key = its identity key. */
export async function issueNodeTlsCertificate(fd: FleetDir, nodeId: string, publicKey: Uint8Array, now: number, notAfter: number): Promise<Uint8Array> {
  const ca = await fleetCaPem(fd, now);
  return issueTlsCertificate(ca, fd.fleetSeed(), { cn: nodeId, publicKey, notBefore: now - 60_000, notAfter });
}

export { checkTlsCertificate };
