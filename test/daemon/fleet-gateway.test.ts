import t from 'tap';
import { connect, createServer } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { cli } from '../helpers/cli.js';
import { freePort } from '../helpers/mosquitto.js';
import { capturedLogger, startProvisioner } from '../fleet/fixtures.js';
import { buildRunDaemon } from '../../src/cli/commands/run.js';
import { validateConfig } from '../../src/config/load.js';
import type { H3lixConfig } from '../../src/config/schema.js';
import { readBoardImage, type BoardImage } from '../../src/fleet/board-files.js';
import { FleetDir } from '../../src/fleet/fleet-dir.js';
import { provisionsAgainstEmbedded } from '../../src/fleet/fleet-node.js';
import { until } from './helpers.js';

/** `h3lix fleet init` in-process with the gateway's broker URL baked into the board image. */
async function initFleet(dir: string, brokerUrl: string): Promise<FleetDir> {
  const r = await cli(['fleet', 'init', '--fleet', 'f1', '--out', join(dir, 'fleet'), '--batch', 'b1', '--uses', '10', '--broker', brokerUrl, '--json']);
  if (r.code !== 0) throw new Error(`fleet init failed: ${r.stderr}`);
  return FleetDir.open(join(dir, 'fleet'));
}

/** A gateway board: embedded broker on `port`, no broker.url (its fleet broker is itself). */
function gatewayConfig(dir: string, fd: FleetDir, port: number, extra: Record<string, unknown> = {}): H3lixConfig {
  return validateConfig({
    node: { dataDir: join(dir, 'gw'), fleet: fd.fleet, board: 'rpi-4' },
    broker: { embedded: { enabled: true, host: '127.0.0.1', port }, reconnectMs: 100 },
    sync: { debounceMs: 20, digestIntervalMs: 1000 },
    log: { level: 'silent' },
    fleet: { enabled: true, imageDir: fd.path('image', 'b1'), attemptTimeoutMs: 300, maxAttempts: 40, backoffMs: 20, maxBackoffMs: 100, ...extra },
  });
}

/** True once something accepts TCP connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

t.test('gateway board: provisions against its own embedded broker, serves a second board, restarts without provisioning', async (t) => {
  const dir = t.testdir();
  const { logger, text } = capturedLogger();
  const port = await freePort();
  const url = `mqtt://127.0.0.1:${port}`;
  const fd = await initFleet(dir, url);
  const cfg = gatewayConfig(dir, fd, port);

  // First boot: buildRunDaemon starts the broker, then waits for a provisioner on it.
  const building = buildRunDaemon({ config: cfg, logger, jitterMs: 100, drainTimeoutMs: 300 });
  let up = false;
  const deadline = Date.now() + 5000;
  while (!(up = await listening(port)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.ok(up, 'the embedded broker listens before provisioning finished');
  const prov = await startProvisioner(fd, url, logger);
  t.teardown(() => prov.stop());
  const gw1 = await building;
  t.equal(gw1.fleetNode?.provisioned.fresh, true, 'the gateway provisioned on first boot');
  t.equal(gw1.fleetNode?.brokerUrl, url, 'it provisioned against its own broker');
  t.match(text(), /gateway boot: embedded broker started before provisioning/);
  await gw1.daemon.start();
  t.teardown(() => gw1.daemon.stop('test end'));
  const gwBroker = gw1.daemon.context.broker;
  t.equal(gwBroker?.port, port, 'the daemon uses the already-started broker');
  await until(() => gw1.daemon.context.transport.connected, 5000, 'gateway transport connected');

  // A second board: no embedded broker, no broker.url -> the image's URL, i.e. the gateway.
  const bCfg = validateConfig({
    node: { dataDir: join(dir, 'b'), fleet: fd.fleet, board: 'rpi-4' },
    broker: { embedded: { enabled: false }, reconnectMs: 100 },
    sync: { debounceMs: 20, digestIntervalMs: 1000 },
    log: { level: 'silent' },
    fleet: { enabled: true, imageDir: fd.path('image', 'b1'), attemptTimeoutMs: 2000, maxAttempts: 3, backoffMs: 50 },
  });
  const b = await buildRunDaemon({ config: bCfg, logger, jitterMs: 100, drainTimeoutMs: 300 });
  t.equal(b.fleetNode?.provisioned.fresh, true, 'the second board provisioned through the gateway');
  await b.daemon.start();
  t.teardown(() => b.daemon.stop('test end'));
  t.equal(prov.stats.accepted, 2);

  gw1.daemon.context.field.contributeLocal('k', Float32Array.of(1, 0, 0, 0), 1);
  b.daemon.context.field.contributeLocal('k', Float32Array.of(0, 2, 0, 0), 1);
  await until(() => gw1.daemon.context.field.size() === 2 && b.daemon.context.field.size() === 2, 10_000, 'both contributions on both boards');
  t.ok(b.daemon.context.field.get(gw1.fleetNode!.nodeId, 'k'), "the gateway's contribution reached the board");
  t.ok(gw1.daemon.context.field.get(b.fleetNode!.nodeId, 'k'), "the board's contribution reached the gateway");

  // Restart the gateway: the stored certificate is reused, the broker is created by the daemon as usual.
  await gw1.daemon.stop('restart');
  t.notOk(await listening(port), 'stop() stopped the early broker');
  const before = text().split('gateway boot:').length;
  const gw2 = await buildRunDaemon({ config: cfg, logger, jitterMs: 100, drainTimeoutMs: 300 });
  t.equal(gw2.fleetNode?.provisioned.fresh, false, 'the restarted gateway does not provision again');
  t.equal(text().split('gateway boot:').length, before, 'no early broker on the normal path');
  t.notOk(await listening(port), 'nothing listens before the daemon starts');
  await gw2.daemon.start();
  t.teardown(() => gw2.daemon.stop('test end'));
  t.equal(gw2.daemon.context.broker?.port, port);
  t.equal(prov.stats.accepted, 2, 'still two provisioning round trips in all');
  await until(() => b.daemon.context.transport.connected && gw2.daemon.context.transport.connected, 10_000, 'both reconnected');
  b.daemon.context.field.contributeLocal('after', Float32Array.of(3, 3, 3, 3), 1);
  await until(() => gw2.daemon.context.field.get(b.fleetNode!.nodeId, 'after') !== undefined, 10_000, 'sync after the restart');
  t.notMatch(text(), /"level":(50|60)/, 'no error logs');
});

t.test('gateway board without a provisioner: PROVISION_TIMEOUT and the early broker is stopped', async (t) => {
  const dir = t.testdir();
  const { logger } = capturedLogger();
  const port = await freePort();
  const fd = await initFleet(dir, `mqtt://localhost:${port}`);
  const cfg = gatewayConfig(dir, fd, port, { attemptTimeoutMs: 150, maxAttempts: 2 });
  let seenUp = false;
  const building = buildRunDaemon({ config: cfg, logger });
  const watching = (async () => {
    const end = Date.now() + 3000;
    while (!seenUp && Date.now() < end) {
      seenUp = await listening(port);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  await t.rejects(building, { code: 'PROVISION_TIMEOUT' });
  await watching;
  t.ok(seenUp, 'the early broker was listening while provisioning');
  t.notOk(await listening(port), 'and is closed after the failure');
  // The port is free again: a new listener can take it.
  const srv = createServer();
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
  await new Promise<void>((r) => srv.close(() => r()));
  t.pass('port reusable');
});

t.test('provisionsAgainstEmbedded: the gateway rule', async (t) => {
  const dir = t.testdir();
  const fd = await initFleet(dir, 'mqtt://127.0.0.1:1883');
  const real = readBoardImage(fd.path('image', 'b1'));
  const image = (brokerUrl: string): BoardImage => ({ ...real, fleet: { ...real.fleet, brokerUrl } });
  const cfg = (broker: Record<string, unknown>, enabled = true) =>
    validateConfig({ node: { dataDir: join(dir, 'x'), fleet: 'f1' }, broker, fleet: { enabled, imageDir: fd.path('image', 'b1') } });
  const gw = cfg({ embedded: { enabled: true, host: '0.0.0.0', port: 1883, allowInsecure: true } });
  t.equal(provisionsAgainstEmbedded(gw, image('mqtt://127.0.0.1:1883')), true, 'loopback, same port');
  t.equal(provisionsAgainstEmbedded(gw, image('mqtt://localhost')), true, 'default port 1883');
  t.equal(provisionsAgainstEmbedded(gw, image(`mqtt://${hostname()}:1883`)), true, 'own hostname');
  t.equal(provisionsAgainstEmbedded(gw, image(`tcp://${hostname()}.local:1883`)), true, 'own mDNS name');
  t.equal(provisionsAgainstEmbedded(gw, image('mqtt://127.0.0.1:1884')), false, 'another port is another broker');
  t.equal(provisionsAgainstEmbedded(gw, image('mqtts://127.0.0.1:1883')), false, 'TLS is not the embedded broker');
  t.equal(provisionsAgainstEmbedded(gw, image('mqtt://broker.example.invalid:1883')), false, 'a remote host is upstream');
  t.equal(provisionsAgainstEmbedded(gw, image('not a url')), false, 'unparsable image URL');
  t.equal(provisionsAgainstEmbedded(cfg({ embedded: { enabled: true, port: 1883 }, url: 'mqtt://127.0.0.1:1883' }), image('mqtt://127.0.0.1:1883')), false, 'broker.url set');
  t.equal(provisionsAgainstEmbedded(cfg({ embedded: { enabled: false } }), image('mqtt://127.0.0.1:1883')), false, 'no embedded broker');
  t.equal(provisionsAgainstEmbedded(cfg({ embedded: { enabled: true, port: 1883 } }, false), image('mqtt://127.0.0.1:1883')), false, 'fleet disabled');
});
