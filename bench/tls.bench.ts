/**
 * Fleet TLS benchmarks (docs/fleet.md "TLS"): X.509 issuance at provisioning (an Ed25519 leaf signed by
 * the fleet key through @peculiar/x509 on webcrypto) against the fleet's own CBOR certificate, and the
 * CONNECT → CONNACK time over mutual TLS against plain MQTT on the same embedded broker, both on
 * loopback in the same run. Run: `npx tsx bench/run.ts tls`
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { EmbeddedBroker } from '../src/sync/embedded-broker.js';
import { initFleet } from '../src/fleet/init.js';
import { issueCertificate } from '../src/fleet/certificate.js';
import { derToPem, ed25519KeyPem, freshTlsKey, issueTlsCertificate } from '../src/fleet/tls-ca.js';
import { ensureFleetTls, issueServerCertificate } from '../src/fleet/tls-files.js';
import { percentile, rate, type BenchRow } from './row.js';

const CONNECTS = 100;

async function connectTimes(url: string, opts: mqtt.IClientOptions): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < CONNECTS; i++) {
    const t0 = performance.now();
    const c = await mqtt.connectAsync(url, { clientId: `h3lix-bench-nbench-${i}`, reconnectPeriod: 0, ...opts });
    out.push(performance.now() - t0);
    await c.endAsync(true);
  }
  return out.sort((a, b) => a - b);
}

export async function run(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'h3lix-tls-bench-'));
  try {
    const fd = initFleet({ dir: join(dir, 'fleet'), fleet: 'bench', brokerUrl: 'mqtts://127.0.0.1:1', batch: { name: 'b1', uses: 1, expiresDays: 1 }, now: Date.now() }).fleetDir;
    const ca = await ensureFleetTls(fd, Date.now());
    const seed = fd.fleetSeed();
    const key = freshTlsKey();
    const now = Date.now();
    const x509Rate = await rate(() => issueTlsCertificate(ca, seed, { cn: 'nbench', publicKey: key.publicKey, notBefore: now, notAfter: now + 86_400_000 }), 1500, 20);
    const signer = fd.fleetSigner();
    const cborRate = await rate(() => issueCertificate({ fleet: 'bench', nodeId: 'nbench', publicKey: key.publicKey, boxKey: new Uint8Array(32), roles: ['node'], serial: 1, notBefore: now, notAfter: now + 86_400_000 }, signer), 1500, 200);

    const server = await issueServerCertificate(fd, ['bench.local'], Date.now());
    const client = { ca, cert: derToPem(await issueTlsCertificate(ca, seed, { cn: 'nbench', publicKey: key.publicKey, notBefore: now - 60_000, notAfter: now + 86_400_000 })), key: ed25519KeyPem(key.seed) };
    const tlsBroker = new EmbeddedBroker({ port: 0, tls: { cert: readFileSync(server.certFile, 'utf8'), key: readFileSync(server.keyFile, 'utf8'), ca, requireClientCert: true } });
    const plainBroker = new EmbeddedBroker({ port: 0 });
    await tlsBroker.start();
    await plainBroker.start();
    const tls = await connectTimes(tlsBroker.url, client);
    const plain = await connectTimes(plainBroker.url, {});
    await tlsBroker.stop();
    await plainBroker.stop();
    const p50 = percentile(tls, 50);
    const plain50 = percentile(plain, 50);
    return [
      { metric: 'X.509 node certificate issuance (Ed25519, @peculiar/x509 on webcrypto)', value: x509Rate, unit: 'cert/s', baseline: cborRate, baselineName: 'fleet CBOR certificate (node:crypto)', ratio: x509Rate / cborRate, target: '>= 50 cert/s (< 20 ms added to each provisioning answer)', ok: x509Rate >= 50 },
      { metric: `mutual-TLS CONNECT→CONNACK p50 (${CONNECTS} sequential, loopback)`, value: p50, unit: 'ms', baseline: plain50, baselineName: 'plain MQTT CONNECT p50', ratio: p50 / plain50, target: '< 50 ms', ok: p50 < 50 },
      { metric: `mutual-TLS CONNECT→CONNACK p95 (${CONNECTS} sequential, loopback)`, value: percentile(tls, 95), unit: 'ms', baseline: percentile(plain, 95), baselineName: 'plain MQTT CONNECT p95', ratio: percentile(tls, 95) / percentile(plain, 95) },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
