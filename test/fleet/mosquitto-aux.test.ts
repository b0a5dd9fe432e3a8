import t from 'tap';
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { capturedLogger, makeFleet, startProvisioner, until } from './fixtures.js';
import { MOSQUITTO_BIN, freePort, startMosquitto } from '../helpers/mosquitto.js';
import { buildMosquittoAuth } from '../../src/fleet/mosquitto-acl.js';
import { nodeBrokerAuth } from '../../src/fleet/board.js';
import { passwordUsername } from '../../src/fleet/client-ids.js';
import type { FleetDir } from '../../src/fleet/fleet-dir.js';
import { buildRunDaemon } from '../../src/cli/commands/run.js';
import { validateConfig } from '../../src/config/load.js';
import { openAuxClient, closeAuxClient } from '../../src/status/aux-client.js';
import { loadOrCreateIdentity } from '../../src/store/identity.js';
import { silentLogger } from '../../src/util/logger.js';

const noMosquitto = MOSQUITTO_BIN ? false : 'mosquitto is not installed (Debian package mosquitto)';

function writeAuth(fd: FleetDir, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const files = buildMosquittoAuth(fd, Date.now());
  writeFileSync(join(dir, 'acl'), files.acl, { mode: 0o600 });
  writeFileSync(join(dir, 'passwd'), files.passwd, { mode: 0o600 });
  return [...files.conf(join(dir, 'acl'), join(dir, 'passwd')), `user ${userInfo().username}`];
}

t.test('password usernames per connection', (t) => {
  const n = 'nabcdefghijklmnop';
  t.equal(passwordUsername(n, `h3lix-f-${n}`), n, 'the daemon: the node id');
  t.equal(passwordUsername(n, `h3lix-f-${n}-status`), `${n}-status`);
  t.equal(passwordUsername(n, `h3lix-f-${n}-instance`), `${n}-instance`);
  t.equal(passwordUsername(n, `h3lix-f-${n}-other`), n, 'an unknown suffix has no user of its own');
  t.equal(passwordUsername(n, undefined), n);
  t.end();
});

/**
 * On Mosquitto (`use_username_as_clientid`) every connection of a user gets the same client id, so a
 * node's second connection (the status page's peer client, the personal instance) used to displace
 * the daemon's session [MQTT-3.1.4-2], and the two took turns for ever. Each now logs in as its own
 * user. Negative control: a peer client logging in as the node itself displaces the daemon.
 */
t.test('a fleet daemon with its status peer client stays connected on Mosquitto; control: the old login displaces it', { skip: noMosquitto }, async (t) => {
  const dir = t.testdir();
  const { logger } = capturedLogger();
  const fd = makeFleet(dir);
  const port = await freePort();
  const m = await startMosquitto(writeAuth(fd, join(dir, 'mosq')), port);
  if (!m) return t.fail('mosquitto vanished');
  t.teardown(() => m.stop());
  const prov = await startProvisioner(fd, m.url, logger, { auth: 'password' });
  t.teardown(() => prov.stop());
  const config = validateConfig({
    node: { dataDir: join(dir, 'n'), fleet: fd.fleet, board: 'rpi-4' },
    broker: { embedded: { enabled: false }, url: m.url, reconnectMs: 100 },
    sync: { debounceMs: 20, digestIntervalMs: 1000 },
    instance: { enabled: false },
    status: { enabled: true, port: await freePort(), pushIntervalMs: 200 },
    log: { level: 'silent' },
    fleet: { enabled: true, brokerAuth: 'password', imageDir: fd.path('image', 'b1'), attemptTimeoutMs: 3000, maxAttempts: 5, backoffMs: 50 },
  });
  const built = await buildRunDaemon({ config, logger, jitterMs: 50, drainTimeoutMs: 300 });
  writeAuth(fd, join(dir, 'mosq')); // the provisioned node gets its users; Mosquitto reloads on SIGHUP
  m.process.kill('SIGHUP');
  await new Promise((r) => setTimeout(r, 300));
  const d = built.daemon;
  let drops = 0;
  await d.start();
  t.teardown(() => d.stop('test end'));
  const nodeId = built.fleetNode!.nodeId;
  const closing = () => (m.log().match(new RegExp(`Client ${nodeId}\\S* already connected, closing old connection`, 'g')) ?? []).length;
  await until(() => d.context.transport.connected, 10_000, 'the daemon connected');
  d.context.inbound.on('status', (s) => (s === 'disconnected' ? drops++ : undefined));
  await until(() => new RegExp(`New client connected .* as ${nodeId}-status`).test(m.log()), 10_000, 'the status peer client connected as its own user');
  await new Promise((r) => setTimeout(r, 2500));
  t.equal(closing(), 0, 'Mosquitto closed no connection of the node');
  t.equal(drops, 0, 'the daemon was never disconnected');
  t.ok(d.context.transport.connected, 'and is connected');

  // negative control: a second connection logging in as the node itself (the login before this fix)
  const identity = loadOrCreateIdentity(join(dir, 'n'));
  const old = nodeBrokerAuth(identity, built.fleetNode!.provisioned.credentials, 'password', Date.now());
  t.equal(old.username, nodeId);
  const ctl = openAuxClient(d.context, { suffix: 'ctl', subscriptions: [], onMessage: () => undefined, logger: silentLogger(), login: { ...d.context.login, credentials: () => old, refreshCredentials: false } });
  t.teardown(() => closeAuxClient(ctl));
  await until(() => closing() > 0, 10_000, 'Mosquitto closes the old connection');
  await until(() => drops > 0, 10_000, 'the daemon is displaced');
  t.ok(drops > 0, `control: the same-user connection displaced the daemon (${drops} disconnects, ${closing()} closes in the broker log)`);
});
