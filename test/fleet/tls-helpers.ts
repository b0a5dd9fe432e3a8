import mqtt from 'mqtt';
import type { FleetDir } from '../../src/fleet/fleet-dir.js';
import { derToPem, ed25519KeyPem, freshTlsKey, issueTlsCertificate } from '../../src/fleet/tls-ca.js';
import { fleetCaPem } from '../../src/fleet/tls-files.js';
import type { TlsMaterial } from '../../src/sync/tls.js';

const DAY = 86_400_000;

/** A client certificate from `fd`'s CA for `cn` with a fresh key (validity moved by `from`/`to`). */
export async function clientCert(fd: FleetDir, cn: string, o: { notBefore?: number; notAfter?: number } = {}): Promise<Required<TlsMaterial>> {
  const now = Date.now();
  const ca = await fleetCaPem(fd, now);
  const key = freshTlsKey();
  const der = await issueTlsCertificate(ca, fd.fleetSeed(), { cn, publicKey: key.publicKey, notBefore: o.notBefore ?? now - 60_000, notAfter: o.notAfter ?? now + DAY });
  return { ca, cert: derToPem(der), key: ed25519KeyPem(key.seed) };
}

/**
 * Try one MQTT connection; resolves 'connected' (and closes it) or the error text. Never rejects:
 * a refusal is the expected outcome of a hostile case.
 */
export async function tryConnect(url: string, o: mqtt.IClientOptions): Promise<string> {
  return new Promise((resolve) => {
    const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 3000, protocolVersion: 4, ...o });
    let settled = false;
    const finish = (r: string) => {
      if (settled) return;
      settled = true;
      c.end(true);
      resolve(r);
    };
    c.once('connect', () => finish('connected'));
    c.once('error', (err) => finish(`error: ${err.message}`));
    c.once('close', () => finish('closed'));
  });
}
