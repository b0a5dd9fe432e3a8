import t from 'tap';
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import mqtt from 'mqtt';
import { capturedLogger, makeFleet, provisionOne, startProvisioner } from './fixtures.js';
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
