import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { capturedLogger, makeFleet, startProvisioner } from './fixtures.js';
import { clientCert } from './tls-helpers.js';
import { buildRunDaemon } from '../../src/cli/commands/run.js';
import { validateConfig } from '../../src/config/load.js';
import { createDaemon, type Daemon } from '../../src/daemon/daemon.js';
import { createFleetBrokerAuth } from '../../src/fleet/broker-auth.js';
import { readCredentials } from '../../src/fleet/board-files.js';
import { RevocationSet } from '../../src/fleet/revocation.js';
import { checkTlsCertificate } from '../../src/fleet/tls-ca.js';
import { ensureFleetTls, issueServerCertificate } from '../../src/fleet/tls-files.js';
import { EmbeddedBroker } from '../../src/sync/embedded-broker.js';
import { systemClock } from '../../src/util/clock.js';
import { until } from '../helpers/until.js';
import { loadOrCreateIdentity } from '../../src/store/identity.js';

t.test('fleet over mutual TLS: boards provision with the claim certificate, then run on their own certificates and sync', async (t) => {
  const dir = t.testdir();
  const { logger, text } = capturedLogger();
  const fd = makeFleet(dir);
  const ca = await ensureFleetTls(fd, Date.now());
  const server = await issueServerCertificate(fd, ['gw.test'], Date.now());
  const revocations = new RevocationSet(fd.fleet, fd.fleetPublicKey);
  const auth = createFleetBrokerAuth({ fleet: fd.fleet, fleetPublicKey: fd.fleetPublicKey, revocations, clock: systemClock, logger });
  const broker = new EmbeddedBroker({ host: '127.0.0.1', port: 0, hooks: auth.hooks, logger, tls: { cert: readFileSync(server.certFile, 'utf8'), key: readFileSync(server.keyFile, 'utf8'), ca, requireClientCert: true } });
  await broker.start();
  t.teardown(() => broker.stop());
  const prov = await startProvisioner(fd, broker.url, logger);
  t.teardown(() => prov.stop());

  const daemons: Daemon[] = [];
  for (const name of ['a', 'b']) {
    const config = validateConfig({
      node: { dataDir: join(dir, name), fleet: fd.fleet, board: 'rpi-4' },
      broker: { embedded: { enabled: false }, url: broker.url, reconnectMs: 100 },
      sync: { debounceMs: 20, digestIntervalMs: 1000 },
      fleet: { enabled: true, imageDir: fd.path('image', 'b1'), attemptTimeoutMs: 3000, maxAttempts: 3, backoffMs: 50 },
    });
    const { daemon, fleetNode } = await buildRunDaemon({ config, logger, jitterMs: 100, drainTimeoutMs: 300 });
    const creds = readCredentials(join(dir, name))!;
    t.ok(creds.tlsCert, `${name}: the provisioning answer carried a TLS certificate`);
    t.equal(checkTlsCertificate(creds.tlsCert!, ca, Date.now()).cn, fleetNode!.nodeId, `${name}: its CN is the node id`);
    t.equal(creds.tlsCa, ca, `${name}: and the fleet CA`);
    await daemon.start();
    t.teardown(() => daemon.stop('test end'));
    daemons.push(daemon);
  }
  const [a, b] = daemons as [Daemon, Daemon];
  await until(() => a.context.transport.connected && b.context.transport.connected, 10_000, 'both daemons connected over mqtts');
  a.context.field.contributeLocal('k', Float32Array.of(1, 0, 0, 0), 1);
  b.context.field.contributeLocal('k', Float32Array.of(0, 1, 0, 0), 1);
  await until(() => a.context.field.size() === 2 && b.context.field.size() === 2, 10_000, 'both fields hold both contributions');
  t.equal(prov.stats.accepted, 2, 'two boards provisioned over mutual TLS');
  t.equal(broker.refusals.get('tls-identity'), undefined, 'no identity refusal on the way');
  t.equal(broker.refusals.get('tls-handshake'), undefined, 'no handshake refusal');
  t.notMatch(text(), /BEGIN PRIVATE KEY/, 'no private key in the log');
});

t.test('a plain daemon on its own mqtts embedded broker (config only: broker.embedded.tls + broker.tls)', async (t) => {
  const dir = t.testdir();
  const fd = makeFleet(dir);
  const server = await issueServerCertificate(fd, ['board.test'], Date.now());
  // The daemon's client id is h3lix-<fleet>-<node id>: its certificate names the node id.
  const nodeId = loadOrCreateIdentity(join(dir, 'd')).nodeId;
  const me = await clientCert(fd, nodeId);
  writeFileSync(join(dir, 'c.pem'), me.cert);
  writeFileSync(join(dir, 'c.key'), me.key, { mode: 0o600 });
  const config = validateConfig({
    node: { dataDir: join(dir, 'd'), fleet: 'f1' },
    broker: {
      embedded: { enabled: true, host: '0.0.0.0', port: 0, tls: { enabled: true, certFile: server.certFile, keyFile: server.keyFile, caFile: server.caFile } },
      tls: { caFile: server.caFile, certFile: join(dir, 'c.pem'), keyFile: join(dir, 'c.key') },
      reconnectMs: 100,
    },
    log: { level: 'silent' },
  });
  const { logger, text } = capturedLogger();
  const d = createDaemon({ config, logger, drainTimeoutMs: 300 });
  await d.start();
  t.teardown(() => d.stop('test end'));
  t.match(d.context.broker!.url, /^mqtts:/, 'the embedded broker listens mqtts on 0.0.0.0 (no allowInsecure needed)');
  await until(() => d.context.transport.connected, 10_000, 'the daemon connected to it with its certificate');
  t.match(text(), /"tls":"mutual"/, 'the start line says mutual TLS');
  const missing = validateConfig({ ...config, broker: { ...config.broker, tls: { caFile: join(dir, 'nope.pem') } } });
  const bad = createDaemon({ config: { ...missing, node: { ...missing.node, dataDir: join(dir, 'e') } } });
  await t.rejects(bad.start(), { code: 'CONFIG_INVALID', key: 'broker.tls.caFile' }, 'a missing TLS file is a typed config error at start');
});
