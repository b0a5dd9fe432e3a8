import t from 'tap';
import { join } from 'node:path';
import { connect } from 'node:net';
import { cli } from '../helpers/cli.js';
import { freePort } from '../helpers/mosquitto.js';
import { capturedLogger, startProvisioner } from '../fleet/fixtures.js';
import { clientCert, tryConnect } from '../fleet/tls-helpers.js';
import { buildRunDaemon } from '../../src/cli/commands/run.js';
import { validateConfig } from '../../src/config/load.js';
import { FleetDir } from '../../src/fleet/fleet-dir.js';
import { until } from './helpers.js';

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

t.test('gateway board on mqtts (0.0.0.0, mutual TLS): provisions against itself, serves a second board, both sync on their certificates', async (t) => {
  const dir = t.testdir();
  const { logger, text } = capturedLogger();
  const port = await freePort();
  const url = `mqtts://127.0.0.1:${port}`;
  const init = await cli(['fleet', 'init', '--fleet', 'f1', '--out', join(dir, 'fleet'), '--batch', 'b1', '--uses', '10', '--broker', url, '--json']);
  t.equal(init.code, 0, init.stderr);
  const fd = FleetDir.open(join(dir, 'fleet'));
  const srv = await cli(['fleet', 'tls-server', '--fleet-dir', fd.dir, '--names', 'gw.local,127.0.0.1', '--json']);
  t.equal(srv.code, 0, srv.stderr);
  const files = JSON.parse(srv.stdout.trim().split('\n').pop()!) as { certFile: string; keyFile: string };
  const gwCfg = validateConfig({
    node: { dataDir: join(dir, 'gw'), fleet: fd.fleet, board: 'rpi-4' },
    broker: { embedded: { enabled: true, host: '0.0.0.0', port, tls: { enabled: true, certFile: files.certFile, keyFile: files.keyFile } }, reconnectMs: 100 },
    sync: { debounceMs: 20, digestIntervalMs: 1000 },
    log: { level: 'silent' },
    fleet: { enabled: true, imageDir: fd.path('image', 'b1'), attemptTimeoutMs: 300, maxAttempts: 40, backoffMs: 20, maxBackoffMs: 100 },
  });
  const building = buildRunDaemon({ config: gwCfg, logger, jitterMs: 100, drainTimeoutMs: 300 });
  const deadline = Date.now() + 5000;
  while (!(await listening(port)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const prov = await startProvisioner(fd, url, logger);
  t.teardown(() => prov.stop());
  const gw = await building;
  t.equal(gw.fleetNode?.provisioned.fresh, true, 'the gateway provisioned against its own mqtts broker (claim certificate)');
  await gw.daemon.start();
  t.teardown(() => gw.daemon.stop('test end'));
  t.match(gw.daemon.context.broker!.url, /^mqtts:/);
  await until(() => gw.daemon.context.transport.connected, 10_000, 'gateway transport connected to itself over mutual TLS');

  const bCfg = validateConfig({
    node: { dataDir: join(dir, 'b'), fleet: fd.fleet, board: 'rpi-4' },
    broker: { embedded: { enabled: false }, reconnectMs: 100 },
    sync: { debounceMs: 20, digestIntervalMs: 1000 },
    log: { level: 'silent' },
    fleet: { enabled: true, imageDir: fd.path('image', 'b1'), attemptTimeoutMs: 2000, maxAttempts: 3, backoffMs: 50 },
  });
  const b = await buildRunDaemon({ config: bCfg, logger, jitterMs: 100, drainTimeoutMs: 300 });
  await b.daemon.start();
  t.teardown(() => b.daemon.stop('test end'));
  gw.daemon.context.field.contributeLocal('k', Float32Array.of(1, 0, 0, 0), 1);
  b.daemon.context.field.contributeLocal('k', Float32Array.of(0, 2, 0, 0), 1);
  await until(() => gw.daemon.context.field.size() === 2 && b.daemon.context.field.size() === 2, 10_000, 'both contributions on both boards');
  t.equal(prov.stats.accepted, 2, 'two boards provisioned over mqtts');

  // Against the running gateway: a client without a certificate, and a fleet certificate used as
  // another node (the gateway's own node id), are refused.
  const ca = (await clientCert(fd, 'x')).ca;
  t.not(await tryConnect(url, { clientId: 'r00000000000000000000', username: 'claim-b1', password: 'x', ca }), 'connected', 'no certificate: refused');
  const mine = await clientCert(fd, 'nSomeoneElse');
  const victim = gw.fleetNode!.nodeId;
  t.not(await tryConnect(url, { clientId: `h3lix-f1-${victim}`, username: victim, password: 'x', ...mine }), 'connected', "a fleet certificate naming another node cannot log in as the gateway's node");
  const broker = gw.daemon.context.broker!;
  t.ok((broker.refusals.get('tls-handshake') ?? 0) >= 1 && (broker.refusals.get('tls-identity') ?? 0) >= 1, 'both counted at the gateway');
  t.ok(gw.daemon.context.transport.connected, 'the gateway stayed connected');
  t.notMatch(text(), /"level":(50|60)/, 'no error logs');
});
