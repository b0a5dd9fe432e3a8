import t from 'tap';
import { join } from 'node:path';
import { statSync } from 'node:fs';
import { capturedLogger, makeFleet, provisionOne, startProvisioner, startSecureBroker, type Board } from './fixtures.js';
import { CertificateKeyResolver } from '../../src/fleet/cert-resolver.js';
import { systemClock } from '../../src/util/clock.js';
import { decodeEnvelope, encodeEnvelope } from '../../src/ccf/codec/envelope.js';
import { createSigner } from '../../src/crypto/ed25519.js';
import { CREDENTIALS_FILE } from '../../src/fleet/board-files.js';

t.test('50 boards provision through one provisioner on the embedded aedes broker', async (t) => {
  const dir = t.testdir();
  const { logger, text } = capturedLogger();
  const fd = makeFleet(dir, { uses: 60 });
  const sb = await startSecureBroker(fd, logger);
  t.teardown(() => sb.broker.stop());
  const prov = await startProvisioner(fd, sb.broker.url, logger);
  t.teardown(() => prov.stop());

  const boards: Board[] = await Promise.all(Array.from({ length: 50 }, (_, i) => provisionOne(fd, join(dir, `b${i}`), sb.broker.url, logger, { timeoutMs: 15_000 })));
  const ids = new Set(boards.map((b) => b.result.certificate.nodeId));
  t.equal(ids.size, 50, 'every board has a distinct identity');
  t.ok(boards.every((b) => b.result.fresh && b.result.certificate.nodeId === b.identity.nodeId), 'each certificate is for its own identity');
  t.equal(prov.stats.accepted, 50);
  t.equal(fd.claimState('b1')?.uses, 50, 'claim use counter persisted');
  t.equal(statSync(join(boards[0]!.dataDir, CREDENTIALS_FILE)).mode & 0o777, 0o600, 'credentials are 0600');
  t.ok(boards.every((b) => typeof b.result.credentials.brokerPassword === 'string'), 'sealed broker password opened by each board');

  // Second start uses the stored certificate: no provisioning round trip, no claim use.
  const again = await provisionOne(fd, boards[3]!.dataDir, sb.broker.url, logger);
  t.equal(again.result.fresh, false);
  t.equal(again.result.certificate.nodeId, boards[3]!.identity.nodeId);
  t.equal(fd.claimState('b1')?.uses, 50);

  // Signed envelopes from all 50 verify through the certificate resolver.
  const resolver = new CertificateKeyResolver({ fleet: fd.fleet, fleetPublicKey: fd.fleetPublicKey, clock: systemClock, logger });
  for (const b of boards) t.ok(resolver.learnCertificate(b.result.certBytes));
  let verified = 0;
  for (const b of boards) {
    const env = encodeEnvelope({ kind: 'delta', fleet: fd.fleet, from: b.identity.nodeId, seq: 1, hlc: { wall: Date.now(), logical: 0 }, body: new Uint8Array([1, 2, 3]) }, createSigner(b.identity.signing));
    decodeEnvelope(env, { fleet: fd.fleet, resolveKey: (f) => resolver.resolve(f) });
    verified++;
  }
  t.equal(verified, 50, 'envelopes from all 50 boards verify');
  t.notMatch(text(), /privateKey|seed|secretKey/i, 'no key material field names in logs');
});
