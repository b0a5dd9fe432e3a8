/**
 * Fleet benchmarks (docs/fleet.md): provisioning time per board for 50 boards through one provisioner
 * on the embedded aedes broker with the fleet hooks, against a bare MQTT request/response round trip
 * (same broker code, no auth, no crypto, no disk) measured in the same run; and Ed25519 verification
 * rate through node:crypto against tweetnacl. Run: `npx tsx bench/run.ts fleet`
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import nacl from 'tweetnacl';
import { EmbeddedBroker } from '../src/sync/embedded-broker.js';
import { systemClock } from '../src/util/clock.js';
import { silentLogger } from '../src/util/logger.js';
import { initFleet } from '../src/fleet/init.js';
import { createFleetBrokerAuth } from '../src/fleet/broker-auth.js';
import { RevocationSet } from '../src/fleet/revocation.js';
import { Provisioner } from '../src/fleet/provisioner.js';
import { provisionBoard } from '../src/fleet/board.js';
import { readBoardImage } from '../src/fleet/board-files.js';
import { loadOrCreateIdentity } from '../src/store/identity.js';
import { CertificateKeyResolver } from '../src/fleet/cert-resolver.js';
import { createSigner, generateKeyPair, verify } from '../src/crypto/ed25519.js';
import { percentile, rate, type BenchRow } from './row.js';

const BOARDS = 50;

async function provisioning(): Promise<{ perBoard: number; p95: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'h3lix-fleet-bench-'));
  const logger = silentLogger();
  try {
    const fd = initFleet({ dir: join(dir, 'fleet'), fleet: 'bench', brokerUrl: 'mqtt://127.0.0.1:1', batch: { name: 'b1', uses: BOARDS, expiresDays: 1 }, now: Date.now() }).fleetDir;
    const revocations = new RevocationSet(fd.fleet, fd.fleetPublicKey);
    const auth = createFleetBrokerAuth({ fleet: fd.fleet, fleetPublicKey: fd.fleetPublicKey, revocations, clock: systemClock, logger });
    const broker = new EmbeddedBroker({ port: 0, hooks: auth.hooks });
    await broker.start();
    const prov = new Provisioner({ fleetDir: fd, url: broker.url, policy: { certLifetimeDays: 30, allowBoards: [], config: {} }, clock: systemClock, logger });
    await prov.start();
    const image = readBoardImage(fd.path('image', 'b1'));
    const identities = Array.from({ length: BOARDS }, (_, i) => loadOrCreateIdentity(join(dir, `b${i}`)));
    const latencies: number[] = [];
    const start = performance.now();
    await Promise.all(
      identities.map(async (identity, i) => {
        const t0 = performance.now();
        await provisionBoard({ dataDir: join(dir, `b${i}`), identity, image, url: broker.url, board: 'rpi-4', attemptTimeoutMs: 20_000, maxAttempts: 1, clock: systemClock, logger });
        latencies.push(performance.now() - t0);
      }),
    );
    const wall = performance.now() - start;
    await prov.stop();
    await broker.stop();
    latencies.sort((a, b) => a - b);
    return { perBoard: wall / BOARDS, p95: percentile(latencies, 95) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Same exchange shape (connect, subscribe, publish, await the answer) with an echo responder. */
async function bareRoundTrips(): Promise<{ perBoard: number; p95: number }> {
  const broker = new EmbeddedBroker({ port: 0 });
  await broker.start();
  const responder = await mqtt.connectAsync(broker.url, { clientId: 'echo' });
  responder.on('message', (topic, payload) => responder.publish(topic.replace('/request/', '/response/'), payload, { qos: 1 }));
  await responder.subscribeAsync('bare/request/+', { qos: 1 });
  const latencies: number[] = [];
  const start = performance.now();
  await Promise.all(
    Array.from({ length: BOARDS }, async (_, i) => {
      const t0 = performance.now();
      const c = await mqtt.connectAsync(broker.url, { clientId: `r${i}`, reconnectPeriod: 0 });
      const got = new Promise<void>((r) => c.once('message', () => r()));
      await c.subscribeAsync(`bare/response/r${i}`, { qos: 1 });
      await c.publishAsync(`bare/request/r${i}`, Buffer.alloc(600, i), { qos: 1 });
      await got;
      await c.endAsync(true);
      latencies.push(performance.now() - t0);
    }),
  );
  const wall = performance.now() - start;
  await responder.endAsync(true);
  await broker.stop();
  latencies.sort((a, b) => a - b);
  return { perBoard: wall / BOARDS, p95: percentile(latencies, 95) };
}

export async function run(): Promise<BenchRow[]> {
  const ours = await provisioning();
  const bare = await bareRoundTrips();
  const pair = generateKeyPair();
  const msg = new Uint8Array(256).fill(7);
  const sig = createSigner(pair).sign(msg);
  const nodeRate = await rate(() => verify(pair.publicKey, msg, sig), 1500, 200);
  const naclRate = await rate(() => nacl.sign.detached.verify(msg, sig, pair.publicKey), 1500, 20);
  // The resolver path a receiver takes per envelope: certificate lookup + expiry/revocation checks.
  const fleet = generateKeyPair();
  const resolver = new CertificateKeyResolver({ fleet: 'bench', fleetPublicKey: fleet.publicKey, clock: systemClock, logger: silentLogger() });
  const { issueCertificate } = await import('../src/fleet/certificate.js');
  const { nodeIdFromPublicKey } = await import('../src/crypto/node-id.js');
  const id = nodeIdFromPublicKey(pair.publicKey);
  resolver.learnCertificate(issueCertificate({ fleet: 'bench', nodeId: id, publicKey: pair.publicKey, boxKey: new Uint8Array(32), roles: ['node'], serial: 1, notBefore: 0, notAfter: Date.now() + 86_400_000 }, createSigner(fleet)));
  const resolveVerify = await rate(() => verify(resolver.resolve(id)!, msg, sig), 1500, 200);
  return [
    { metric: `provisioning wall time per board (${BOARDS} concurrent, one provisioner, aedes + fleet hooks)`, value: ours.perBoard, unit: 'ms/board', baseline: bare.perBoard, baselineName: 'bare MQTT request/response, no auth/crypto/disk', ratio: ours.perBoard / bare.perBoard, target: '< 100 ms/board', ok: ours.perBoard < 100 },
    { metric: `provisioning latency p95 (${BOARDS} concurrent)`, value: ours.p95, unit: 'ms', baseline: bare.p95, baselineName: 'bare MQTT round trip p95', ratio: ours.p95 / bare.p95, target: '< 10 s', ok: ours.p95 < 10_000 },
    { metric: 'Ed25519 verify (node:crypto, 256 B)', value: nodeRate, unit: 'verify/s', baseline: naclRate, baselineName: 'tweetnacl verify', ratio: nodeRate / naclRate, target: 'ratio >= 10', ok: nodeRate / naclRate >= 10 },
    { metric: 'certificate resolve + verify per envelope', value: resolveVerify, unit: 'verify/s', baseline: nodeRate, baselineName: 'bare node:crypto verify', ratio: resolveVerify / nodeRate, target: 'ratio >= 0.8', ok: resolveVerify / nodeRate >= 0.8 },
  ];
}
