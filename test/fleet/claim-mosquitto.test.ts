import t from 'tap';
import { join } from 'node:path';
import { mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import mqtt from 'mqtt';
import { capturedLogger, makeFleet, provisionOne, startProvisioner, until } from './fixtures.js';
import { Provisioner } from '../../src/fleet/provisioner.js';
import { addBatch } from '../../src/fleet/init.js';
import { CREDENTIALS_FILE } from '../../src/fleet/board-files.js';
import { systemClock } from '../../src/util/clock.js';
import { MOSQUITTO_BIN, startMosquitto } from '../helpers/mosquitto.js';
import { cli } from '../helpers/cli.js';
import { buildMosquittoAuth } from '../../src/fleet/mosquitto-acl.js';
import { readBoardImage } from '../../src/fleet/board-files.js';
import { nodeBrokerAuth } from '../../src/fleet/board.js';
import type { FleetDir } from '../../src/fleet/fleet-dir.js';
import type { Defence } from '../../src/sync/defences.js';

/** Write the generated acl/passwd into `dir` (the paths mosquitto.conf names) and return the conf lines. */
function writeAuth(fd: FleetDir, dir: string, off: Defence[] = []): string[] {
  mkdirSync(dir, { recursive: true });
  const files = buildMosquittoAuth(fd, Date.now(), { defencesOff: new Set(off) });
  writeFileSync(join(dir, 'acl'), files.acl, { mode: 0o600 });
  writeFileSync(join(dir, 'passwd'), files.passwd, { mode: 0o600 });
  return [...files.conf(join(dir, 'acl'), join(dir, 'passwd')), `user ${userInfo().username}`];
}

/** Try a login up to 40 times (Mosquitto re-reads its files asynchronously after SIGHUP) until it gives `want`. */
async function loginBecomes(url: string, opts: mqtt.IClientOptions, want: boolean): Promise<boolean> {
  for (let i = 0; i < 40; i++) {
    const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 2000, ...opts }).catch(() => undefined);
    if (c) await c.endAsync(true);
    if (!!c === want) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

const noMosquitto = MOSQUITTO_BIN ? false : 'mosquitto is not installed (Debian package mosquitto)';

t.test('revoked claim batch on a real Mosquitto: fleet acl drops the claim-<batch> login, nodes keep theirs', { skip: noMosquitto }, async (t) => {
  const dir = t.testdir();
  const { logger } = capturedLogger();
  const fd = makeFleet(dir, { uses: 10 });
  const mosqDir = join(dir, 'mosq');
  const m = await startMosquitto(writeAuth(fd, mosqDir));
  if (!m) return t.fail('mosquitto vanished');
  t.teardown(() => m.stop());
  const prov = await startProvisioner(fd, m.url, logger, { auth: 'password' });
  t.teardown(() => prov.stop());
  const board = await provisionOne(fd, join(dir, 'b0'), m.url, logger, { auth: 'password', timeoutMs: 10_000 });
  writeAuth(fd, mosqDir);
  m.process.kill('SIGHUP');
  const node = { clientId: 'ignored', ...nodeBrokerAuth(board.identity, board.result.credentials, 'password', Date.now()) };
  t.ok(await loginBecomes(m.url, node, true), 'the provisioned node logs in after the reload');
  const claim = { clientId: 'ignored', username: 'claim-b1', password: readBoardImage(fd.path('image', 'b1')).claim.brokerPassword };
  t.ok(await loginBecomes(m.url, claim, true), 'positive control: the claim login works before the revocation');

  t.equal((await cli(['fleet', 'revoke', '--claim', 'b1', '--fleet-dir', fd.dir])).code, 0, 'fleet revoke --claim b1');
  const acl = await cli(['fleet', 'acl', '--format', 'mosquitto', '--fleet-dir', fd.dir, '--out', mosqDir]);
  t.equal(acl.code, 0, acl.stderr);
  m.process.kill('SIGHUP');
  t.ok(await loginBecomes(m.url, claim, false), 'after fleet acl + SIGHUP the revoked claim-b1 login is refused by Mosquitto');
  t.ok(await loginBecomes(m.url, node, true), 'the node provisioned from the batch still logs in');
  const late = await provisionOne(fd, join(dir, 'late'), m.url, logger, { auth: 'password', attempts: 1, timeoutMs: 2000 }).catch((e: unknown) => e);
  t.match(late, { code: 'PROVISION_TIMEOUT', message: /Not authorized|Bad username/i }, 'a new board of the batch cannot log in to provision');

  // Negative control: the same files generated with the claim-revoke switch off keep the claim login.
  writeAuth(fd, mosqDir, ['claim-revoke']);
  m.process.kill('SIGHUP');
  t.ok(await loginBecomes(m.url, claim, true), 'NEGATIVE CONTROL: with claim-revoke off, fleet acl keeps claim-b1 and Mosquitto lets it in');
});

t.test('a replayed older provisioning request does not lock the live node out of Mosquitto at the next fleet acl', { skip: noMosquitto }, async (t) => {
  const dir = t.testdir();
  const { logger } = capturedLogger();
  const fd = makeFleet(dir, { uses: 10 });
  const mosqDir = join(dir, 'mosq');
  const m = await startMosquitto(writeAuth(fd, mosqDir));
  if (!m) return t.fail('mosquitto vanished');
  t.teardown(() => m.stop());
  let prov = await startProvisioner(fd, m.url, logger, { auth: 'password' });
  t.teardown(() => prov.stop());
  const root = `h3lix/v1/${fd.fleet}/`;
  // The attacker's capture: a client with read access to provision/request/+ (here the operator login).
  const captured: { topic: string; bytes: Buffer }[] = [];
  const spy = await mqtt.connectAsync(m.url, { clientId: 'spy', username: 'operator', password: fd.provisionerPassword(), reconnectPeriod: 0 });
  t.teardown(() => spy.endAsync(true));
  spy.on('message', (topic, p) => captured.push({ topic, bytes: p }));
  await spy.subscribeAsync(`${root}provision/request/+`, { qos: 1 });
  const first = await provisionOne(fd, join(dir, 'b0'), m.url, logger, { auth: 'password', timeoutMs: 10_000 });
  await until(() => captured.length === 1, 3000, 'captured the first request');
  // The board lost its credentials and asked again (new nonce, newer timestamp): its live password.
  unlinkSync(join(first.dataDir, CREDENTIALS_FILE));
  const live = await provisionOne(fd, first.dataDir, m.url, logger, { auth: 'password', timeoutMs: 10_000 });
  const node = { clientId: 'ignored', ...nodeBrokerAuth(live.identity, live.result.credentials, 'password', Date.now()) };
  writeAuth(fd, mosqDir);
  m.process.kill('SIGHUP');
  t.ok(await loginBecomes(m.url, node, true), 'the live node logs in with its current password');

  const claim = await mqtt.connectAsync(m.url, { clientId: 'ignored', username: 'claim-b1', password: readBoardImage(fd.path('image', 'b1')).claim.brokerPassword, reconnectPeriod: 0 });
  t.teardown(() => claim.endAsync(true));
  const replay = () => claim.publishAsync(captured[0]!.topic, captured[0]!.bytes, { qos: 1 });
  await replay();
  await until(() => prov.refusals.get('REPLAYED') === 1, 3000, 'REPLAYED');
  t.pass('the replayed first request is refused REPLAYED');
  // A new batch in the same regeneration makes the reload observable: once claim-b2 logs in, Mosquitto
  // runs on the new files.
  addBatch(fd, { name: 'b2', uses: 1, expiresDays: 1 }, Date.now());
  writeAuth(fd, mosqDir);
  m.process.kill('SIGHUP');
  t.ok(await loginBecomes(m.url, { clientId: 'ignored', username: 'claim-b2', password: readBoardImage(fd.path('image', 'b2')).claim.brokerPassword }, true), 'the regenerated files are loaded');
  t.ok(await loginBecomes(m.url, node, true), 'after fleet acl + SIGHUP the live node still logs in');
  await prov.stop();

  // Negative control: the replay defences off, the same replay rotates the password and the next
  // fleet acl locks the real node out.
  prov = new Provisioner({ fleetDir: fd, url: m.url, auth: 'password', policy: { certLifetimeDays: 30, allowBoards: [], config: {} }, clock: systemClock, logger, defencesOff: new Set(['provision-replay']) });
  await prov.start();
  const acceptedBefore = prov.stats.accepted;
  await replay();
  await until(() => prov.stats.accepted === acceptedBefore + 1, 3000, 'replay accepted');
  writeAuth(fd, mosqDir);
  m.process.kill('SIGHUP');
  t.ok(await loginBecomes(m.url, node, false), 'NEGATIVE CONTROL: with provision-replay off the replay rotated the password and Mosquitto refuses the live node');
});
