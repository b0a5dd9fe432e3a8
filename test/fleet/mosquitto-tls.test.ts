import t, { type Test } from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { capturedLogger, makeFleet, provisionOne, startProvisioner } from './fixtures.js';
import { clientCert, tryConnect } from './tls-helpers.js';
import { freePort, MOSQUITTO_BIN, startMosquitto, type MosquittoHandle } from '../helpers/mosquitto.js';
import { buildMosquittoAuth } from '../../src/fleet/mosquitto-acl.js';
import { writeMosquittoTls } from '../../src/fleet/mosquitto-tls.js';
import type { FleetDir } from '../../src/fleet/fleet-dir.js';
import type { Defence } from '../../src/sync/defences.js';
import { readBoardImage, readCredentials } from '../../src/fleet/board-files.js';
import { claimClientTls, nodeClientTls } from '../../src/fleet/board-tls.js';
import { clientTlsOptions } from '../../src/sync/tls.js';
import { revokeBatch, revokeNode } from '../../src/fleet/revoke.js';
import { until } from '../helpers/until.js';
import { validateConfig } from '../../src/config/load.js';
import { buildRunDaemon } from '../../src/cli/commands/run.js';
import type { Daemon } from '../../src/daemon/daemon.js';

const DAY = 86_400_000;
const noMosquitto = MOSQUITTO_BIN ? false : 'mosquitto is not installed (Debian package mosquitto)';

/** What `h3lix fleet acl --tls 127.0.0.1 --out dir` writes, as mosquitto.conf lines (+ run as us). */
async function generated(fd: FleetDir, dir: string, port: number, off: Defence[] = []): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const files = buildMosquittoAuth(fd, Date.now());
  writeFileSync(join(dir, 'acl'), files.acl, { mode: 0o600 });
  writeFileSync(join(dir, 'passwd'), files.passwd, { mode: 0o600 });
  const tls = await writeMosquittoTls(fd, { dir, port, bind: '127.0.0.1', names: ['127.0.0.1'], now: Date.now(), defencesOff: new Set(off) });
  return [...tls.conf, ...files.conf(join(dir, 'acl'), join(dir, 'passwd')), `user ${userInfo().username}`, 'log_type all'];
}

async function mosquitto(t: Test, lines: string[], port: number): Promise<MosquittoHandle> {
  const m = await startMosquitto(lines, port);
  if (!m) throw new Error('mosquitto vanished');
  t.teardown(() => m.stop());
  return m;
}

t.test('Mosquitto with the generated mutual-TLS listener: provisioning, a node on its certificate, CN as identity, revocation by CRL', { skip: noMosquitto }, async (t) => {
  const dir = t.testdir();
  const { logger } = capturedLogger();
  const fd = makeFleet(dir);
  const port = await freePort();
  const conf = await generated(fd, join(dir, 'mosq'), port);
  t.ok(conf.includes('require_certificate true') && conf.includes('use_identity_as_username true'), 'the generated lines require a certificate and take its identity');
  t.ok(conf.some((l) => /^cafile |^certfile |^keyfile |^crlfile /.test(l)), 'and name the files');
  let m = await mosquitto(t, conf, port);
  const url = `mqtts://127.0.0.1:${port}`;
  const prov = await startProvisioner(fd, url, logger, { auth: 'password' });
  t.teardown(() => prov.stop());
  const board = await provisionOne(fd, join(dir, 'b0'), url, logger, { auth: 'password', timeoutMs: 5000 });
  t.equal(prov.stats.accepted, 1, 'provisioned over mutual TLS with the claim certificate (CN claim-b1)');

  // The node's user block appears after regeneration; reload.
  await generated(fd, join(dir, 'mosq'), port);
  m.process.kill('SIGHUP');
  const node = board.identity.nodeId;
  const tls = clientTlsOptions(nodeClientTls(readCredentials(board.dataDir)!, { fleetPublicKey: fd.fleetPublicKey }, board.identity.signing.seed));
  let ok = 'never';
  for (let i = 0; i < 30 && ok !== 'connected'; i++) {
    ok = await tryConnect(url, { clientId: `h3lix-f1-${node}`, ...tls });
    if (ok !== 'connected') await new Promise((r) => setTimeout(r, 100));
  }
  t.equal(ok, 'connected', 'the node connects with its provisioning certificate and no password');
  await until(() => m.log().includes(`u'${node}'`), 3000, 'mosquitto log names the node');
  t.match(m.log(), new RegExp(`as ${node} \\(.*u'${node}'\\)`), 'client id and username are the certificate CN');

  // A certificate for node A used with node B's client id and username: Mosquitto knows it as A.
  const a = await clientCert(fd, 'nAttackerCN');
  t.equal(await tryConnect(url, { clientId: `h3lix-f1-${node}`, username: node, ...a }), 'connected', 'the connection itself is allowed');
  await until(() => m.log().includes(`u'nAttackerCN'`), 3000, 'logged as the CN');
  t.notMatch(m.log(), new RegExp(`as h3lix-f1-${node}`), 'never under the client id it asked for: the victim is not displaced');

  // Revocation: regenerate (the CRL lists the node's TLS certificate) and restart (crlfile is read at start).
  await revokeNode(fd, node, 'stolen', Date.now());
  const after = await generated(fd, join(dir, 'mosq'), port);
  await m.stop();
  m = await mosquitto(t, after, port);
  const revoked = await tryConnect(url, { clientId: `h3lix-f1-${node}`, ...tls });
  t.not(revoked, 'connected', `the revoked node's certificate is refused by the CRL (${revoked})`);
  t.match(revoked, /alert certificate revoked/, 'refused as revoked (TLS alert 44), not for another reason; the same certificate connected before the revocation');

  // A revoked batch: its claim certificate (in every image of the batch) goes into the CRL too.
  const claimTls = clientTlsOptions(claimClientTls(readBoardImage(fd.path('image', 'b1'))));
  t.equal(await tryConnect(url, { clientId: 'claim-b1', ...claimTls }), 'connected', 'positive control: the claim certificate connects before its batch is revoked');
  revokeBatch(fd, 'b1', 'image leaked', Date.now());
  const afterBatch = await generated(fd, join(dir, 'mosq'), port);
  await m.stop();
  m = await mosquitto(t, afterBatch, port);
  t.match(await tryConnect(url, { clientId: 'claim-b1', ...claimTls }), /alert certificate revoked/, 'refused as revoked after the batch revocation')
});

t.test('Mosquitto mutual TLS, hostile cases', { skip: noMosquitto }, async (t) => {
  const dir = t.testdir();
  const fd = makeFleet(dir);
  const other = makeFleet(join(dir, 'o'), { fleet: 'f2' });
  const port = await freePort();
  const m = await mosquitto(t, await generated(fd, join(dir, 'mosq'), port), port);
  const url = `mqtts://127.0.0.1:${port}`;
  const ca = (await clientCert(fd, 'x')).ca;
  const good = await clientCert(fd, 'claim-b1');
  t.equal(await tryConnect(url, { clientId: 'claim-b1', ...good }), 'connected', 'positive control: a valid fleet certificate connects');
  const pw = fd.provisionerPassword()!;
  const noCert = { clientId: 'operator', username: 'operator', password: pw, ca };
  t.not(await tryConnect(url, noCert), 'connected', 'no client certificate: refused (even with a valid password)');
  const foreign = { clientId: 'claim-b1', ...(await clientCert(other, 'claim-b1')), ca };
  t.not(await tryConnect(url, foreign), 'connected', 'a certificate from another CA: refused');
  const expired = { clientId: 'claim-b1', ...(await clientCert(fd, 'claim-b1', { notBefore: Date.now() - 3 * DAY, notAfter: Date.now() - DAY })) };
  t.not(await tryConnect(url, expired), 'connected', 'an expired certificate: refused');
  t.match(m.log(), /peer did not return a certificate/, 'mosquitto: no certificate');
  t.match(m.log(), /certificate has expired|certificate verify failed/, 'mosquitto: verification failures logged');

  // Negative controls: the same clients connect when the defence is switched off.
  const port2 = await freePort();
  await mosquitto(t, await generated(fd, join(dir, 'mosq-off'), port2, ['tls-client-cert']), port2);
  t.equal(await tryConnect(`mqtts://127.0.0.1:${port2}`, noCert), 'connected', 'negative control: with tls-client-cert off (require_certificate false) the password-only client connects');
  const port3 = await freePort();
  await mosquitto(t, await generated(other, join(dir, 'mosq-other'), port3), port3);
  t.equal(await tryConnect(`mqtts://127.0.0.1:${port3}`, { ...foreign, ca: (await clientCert(other, 'x')).ca }), 'connected', 'negative control: the foreign certificate connects where its CA is the cafile');
});

t.test('two h3lix run daemons on Mosquitto over the generated mutual-TLS listener: provision, connect on their certificates, sync', { skip: noMosquitto }, async (t) => {
  const dir = t.testdir();
  const { logger } = capturedLogger();
  const fd = makeFleet(dir);
  const port = await freePort();
  const m = await mosquitto(t, await generated(fd, join(dir, 'mosq'), port), port);
  const url = `mqtts://127.0.0.1:${port}`;
  const prov = await startProvisioner(fd, url, logger, { auth: 'password' });
  t.teardown(() => prov.stop());
  const config = (name: string) =>
    validateConfig({
      node: { dataDir: join(dir, name), fleet: fd.fleet, board: 'rpi-4' },
      broker: { embedded: { enabled: false }, url, reconnectMs: 100 },
      sync: { debounceMs: 20, digestIntervalMs: 1000 },
      // Mosquitto forces client id = username = CN: a second connection of the node (the instance) would displace the daemon
      instance: { enabled: false },
      fleet: { enabled: true, brokerAuth: 'password', imageDir: fd.path('image', 'b1'), attemptTimeoutMs: 3000, maxAttempts: 5, backoffMs: 50 },
    });
  // Provision one at a time (the claim certificate's CN is the client id claim-b1 on Mosquitto).
  const built = [];
  for (const name of ['a', 'b']) built.push(await buildRunDaemon({ config: config(name), logger, jitterMs: 100, drainTimeoutMs: 300 }));
  t.equal(prov.stats.accepted, 2, 'both provisioned through Mosquitto over mutual TLS');
  await generated(fd, join(dir, 'mosq'), port);
  m.process.kill('SIGHUP');
  for (const b of built) {
    await b.daemon.start();
    t.teardown(() => b.daemon.stop('test end'));
  }
  const [a, b] = built.map((x) => x.daemon) as [Daemon, Daemon];
  await until(() => a.context.transport.connected && b.context.transport.connected, 15_000, 'both daemons connected to Mosquitto on their certificates');
  a.context.field.contributeLocal('k', Float32Array.of(1, 0, 0, 0), 1);
  b.context.field.contributeLocal('k', Float32Array.of(0, 1, 0, 0), 1);
  await until(() => a.context.field.size() === 2 && b.context.field.size() === 2, 15_000, 'both contributions on both daemons');
  for (const x of built) t.match(m.log(), new RegExp(`u'${x.fleetNode!.nodeId}'`), 'Mosquitto knows each daemon by its certificate CN');
});
