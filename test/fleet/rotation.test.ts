import t from 'tap';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { capturedLogger, makeFleet, provisionOne, startProvisioner, startSecureBroker, until, fleetRig } from './fixtures.js';
import { nodeBrokerAuth, provisionBoard, renewCertificate } from '../../src/fleet/board.js';
import { readBoardImage, readCredentials } from '../../src/fleet/board-files.js';
import { CertificateKeyResolver } from '../../src/fleet/cert-resolver.js';
import { makeNodeToken } from '../../src/fleet/tokens.js';
import { createSigner } from '../../src/crypto/ed25519.js';
import { systemClock } from '../../src/util/clock.js';
import { loadOrCreateIdentity } from '../../src/store/identity.js';
import { freePort } from '../helpers/mosquitto.js';
import { revokeNode } from '../../src/fleet/revoke.js';

t.test('certificate rotation before expiry without downtime', async (t) => {
  const { dir, logger, fd, sb } = await fleetRig(t);
  const board = await provisionOne(fd, join(dir, 'b'), sb.broker.url, logger);
  const oldCert = board.result.certBytes;

  // The node's long-lived connection stays up across the renewal.
  const node = await mqtt.connectAsync(sb.broker.url, { clientId: `h3lix-${fd.fleet}-${board.identity.nodeId}`, ...nodeBrokerAuth(board.identity, board.result.credentials, 'token', Date.now()), reconnectPeriod: 0 });
  t.teardown(() => node.endAsync(true));
  const resolver = new CertificateKeyResolver({ fleet: fd.fleet, fleetPublicKey: fd.fleetPublicKey, clock: systemClock, logger });
  node.on('message', (topic, payload) => resolver.handleMessage(topic, new Uint8Array(payload)));
  await node.subscribeAsync(resolver.subscriptions(), { qos: 1 });
  await until(() => resolver.certificate(board.identity.nodeId)?.serial === 1, 2000, 'first certificate');

  const renewed = await renewCertificate({ dataDir: board.dataDir, identity: board.identity, image: readBoardImage(fd.path('image', 'b1')), url: sb.broker.url, board: 'rpi-4', attemptTimeoutMs: 2000, maxAttempts: 2, backoffMs: 50, clock: systemClock, logger });
  t.equal(renewed.certificate.serial, 2, 'a new certificate with a higher serial');
  t.ok(renewed.certificate.notAfter >= board.result.certificate.notAfter);
  t.equal(readCredentials(board.dataDir)?.cert, Buffer.from(renewed.certBytes).toString('base64'), 'stored atomically');
  t.equal(fd.claimState('b1')?.uses, 1, 'renewal does not use the claim');
  t.equal(renewed.credentials.brokerPassword, board.result.credentials.brokerPassword, 'renewal keeps the Mosquitto password (its hash is in the password file)');
  t.equal(fd.node(board.identity.nodeId)?.serial, 2);
  await until(() => resolver.certificate(board.identity.nodeId)?.serial === 2, 2000, 'rotated certificate');
  t.ok(node.connected, 'the node connection stayed up');
  await node.publishAsync(`h3lix/v1/${fd.fleet}/ccf/delta/${board.identity.nodeId}`, Buffer.from([1]), { qos: 1 });
  // Overlap: a token chained to the old certificate still logs in until the old notAfter.
  const signer = createSigner(board.identity.signing);
  for (const [label, c] of [['old', oldCert], ['new', renewed.certBytes]] as const) {
    const client = await mqtt.connectAsync(sb.broker.url, { clientId: `h3lix-${fd.fleet}-${board.identity.nodeId}-overlap-${label}`, username: board.identity.nodeId, password: makeNodeToken(board.identity.nodeId, c, signer, Date.now() + 60_000), reconnectPeriod: 0 });
    t.ok(client.connected, `${label} certificate accepted during the overlap`);
    await client.endAsync(true);
  }

  // A revoked node cannot renew.
  const signed = revokeNode(fd, board.identity.nodeId, 'test', Date.now());
  sb.revocations.apply(signed);
  await t.rejects(
    renewCertificate({ dataDir: board.dataDir, identity: board.identity, image: readBoardImage(fd.path('image', 'b1')), url: sb.broker.url, board: 'rpi-4', attemptTimeoutMs: 300, maxAttempts: 1, backoffMs: 10, clock: systemClock, logger }),
    { code: 'PROVISION_TIMEOUT' },
    'the broker refuses a revoked node, so renewal cannot even be asked',
  );
});

t.test('PROVISION_TIMEOUT after retries with backoff when nobody answers', async (t) => {
  const dir = t.testdir();
  const cap = capturedLogger();
  const fd = makeFleet(dir);
  const sb = await startSecureBroker(fd, cap.logger);
  t.teardown(() => sb.broker.stop());
  const identity = loadOrCreateIdentity(join(dir, 'b'));
  const opts = { dataDir: join(dir, 'b'), identity, image: readBoardImage(fd.path('image', 'b1')), board: 'rpi-4', attemptTimeoutMs: 150, maxAttempts: 3, backoffMs: 20, clock: systemClock, logger: cap.logger };
  const start = Date.now();
  await t.rejects(provisionBoard({ ...opts, url: sb.broker.url }), { code: 'PROVISION_TIMEOUT', retryable: true }, 'broker up, no provisioner');
  t.ok(Date.now() - start >= 3 * 150 + 20, 'waited for every attempt');
  t.equal((cap.text().match(/provisioning attempt failed; retrying/g) ?? []).length, 3, 'each attempt logged');
  const dead = `mqtt://127.0.0.1:${await freePort()}`;
  await t.rejects(provisionBoard({ ...opts, url: dead, maxAttempts: 2 }), { code: 'PROVISION_TIMEOUT' }, 'no broker at all');
  t.equal(readCredentials(join(dir, 'b')), undefined, 'nothing stored');
  // A provisioner that comes up later is found by a later attempt.
  const late = provisionBoard({ ...opts, url: sb.broker.url, maxAttempts: 20, attemptTimeoutMs: 200 });
  await new Promise((r) => setTimeout(r, 250));
  const prov = await startProvisioner(fd, sb.broker.url, cap.logger);
  t.teardown(() => prov.stop());
  t.equal((await late).certificate.nodeId, identity.nodeId, 'provisioned once a provisioner answered');
});
