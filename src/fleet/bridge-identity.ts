import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { H3lixError } from '../errors.js';
import type { FleetDir } from './fleet-dir.js';
import { mosquittoPasswordHash, randomBrokerPassword } from './mosquitto-acl.js';
import { derToPem, ed25519KeyPem, freshTlsKey, issueTlsCertificate } from './tls-ca.js';
import { fleetCaPem } from './tls-files.js';

/**
 * A site bridge's login on the fleet broker (docs/sync.md "Site brokers", docs/fleet.md "Access
 * control"): the user `h3lix-bridge-<site>` (also the bridge's `remote_clientid`, so that with
 * `use_username_as_clientid` nothing changes, and the CN of its TLS certificate, so that with
 * `use_identity_as_username` the same ACL block applies). `h3lix fleet acl` emits every recorded bridge.
 *
 * Issuing again replaces the record: the old password or certificate stops working once `fleet acl` has
 * been re-run and the fleet broker reloaded (an old certificate stays valid on the TLS listener until it
 * expires; there is no bridge revocation yet).
 */
export interface BridgeIdentityOptions {
  site: string;
  now: number;
  /**
   * Mutual TLS instead of a password: write the CA, a client certificate for CN `h3lix-bridge-<site>`
   * and its key (0600) into `dir`. Absent: a generated password.
   */
  tls?: { dir: string; days?: number };
}

export type BridgeCredentials =
  | { username: string; password: string }
  | { username: string; cafile: string; certfile: string; keyfile: string };

const DAY = 86_400_000;
const SITE = /^[A-Za-z0-9_-]{1,50}$/;

export function bridgeUsername(site: string): string {
  return `h3lix-bridge-${site}`;
}

function writeFile(path: string, text: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, path);
}

/** Record a new bridge login for `site` in the fleet directory and return what the site's conf needs. */
export async function issueBridgeIdentity(fd: FleetDir, o: BridgeIdentityOptions): Promise<BridgeCredentials> {
  // 50, not 64: the username `h3lix-bridge-<site>` must stay a valid node-id-sized name.
  if (!SITE.test(o.site)) throw new H3lixError('CLI_USAGE', `--site ${JSON.stringify(o.site)}: letters, digits, _ and - only (1-50)`);
  const username = bridgeUsername(o.site);
  if (!o.tls) {
    const password = randomBrokerPassword();
    fd.saveBridge({ site: o.site, username, issuedAt: o.now, brokerPasswordHash: mosquittoPasswordHash(password) });
    return { username, password };
  }
  const ca = await fleetCaPem(fd, o.now);
  const key = freshTlsKey();
  const der = await issueTlsCertificate(ca, fd.fleetSeed(), { cn: username, publicKey: key.publicKey, notBefore: o.now - 3600_000, notAfter: o.now + (o.tls.days ?? 825) * DAY });
  mkdirSync(o.tls.dir, { recursive: true, mode: 0o700 });
  const cafile = join(o.tls.dir, 'fleet-ca.pem');
  const certfile = join(o.tls.dir, `${username}.pem`);
  const keyfile = join(o.tls.dir, `${username}.key`);
  writeFile(cafile, ca, 0o644);
  writeFile(keyfile, ed25519KeyPem(key.seed), 0o600);
  writeFile(certfile, derToPem(der), 0o644);
  fd.saveBridge({ site: o.site, username, issuedAt: o.now, tlsCert: Buffer.from(der).toString('base64') });
  return { username, cafile, certfile, keyfile };
}
