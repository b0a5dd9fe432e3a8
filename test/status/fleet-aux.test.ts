/**
 * The status page's peer client and Home Assistant in fleet mode, against a real gateway (`h3lix run`
 * composition, buildRunDaemon, embedded aedes with the fleet hooks) and a second provisioned board
 * connecting to it:
 * - the peer client logs in with the node's fleet tokens and its own client id
 *   (`h3lix-<fleet>-<node>-status`), its `state/+` subscription is granted, and each board's page lists
 *   the other online; negative control: the same client with the config's credentials (the way it
 *   connected before) is refused and counted `auth` by the broker;
 * - Home Assistant discovery does not start in fleet mode and says why (the fleet ACL grants neither
 *   `homeassistant/#` nor `ha/<node>`); no connection of it reaches the broker.
 */
import t from 'tap';
import { join } from 'node:path';
import type { Client } from 'aedes';
import { buildRunDaemon } from '../../src/cli/commands/run.js';
import { validateConfig } from '../../src/config/load.js';
import { FleetDir } from '../../src/fleet/fleet-dir.js';
import { daemonClientId } from '../../src/fleet/client-ids.js';
import { openAuxClient, closeAuxClient } from '../../src/status/aux-client.js';
import type { StatusSummary } from '../../src/status/summary.js';
import { silentLogger } from '../../src/util/logger.js';
import { capturedLogger, startProvisioner } from '../fleet/fixtures.js';
import { cli } from '../helpers/cli.js';
import { freePort } from '../helpers/mosquitto.js';
import { until } from '../helpers/until.js';
import { get } from './http.js';

t.test('fleet mode: the status peer client uses the node tokens; Home Assistant refuses to start and says why', async (t) => {
  const dir = t.testdir();
  const { logger, text } = capturedLogger();
  const [port, gwStatus, bStatus] = [await freePort(), await freePort(), await freePort()];
  const url = `mqtt://127.0.0.1:${port}`;
  const r = await cli(['fleet', 'init', '--fleet', 'fst', '--out', join(dir, 'fleet'), '--batch', 'b1', '--uses', '10', '--broker', url, '--json']);
  t.equal(r.code, 0, r.stderr);
  const fd = FleetDir.open(join(dir, 'fleet'));
  const common = { sync: { debounceMs: 20, digestIntervalMs: 1000 }, instance: { enabled: false }, log: { level: 'debug' } };
  const fleet = (timeout: number, attempts: number) => ({ enabled: true, imageDir: fd.path('image', 'b1'), attemptTimeoutMs: timeout, maxAttempts: attempts, backoffMs: 20, maxBackoffMs: 100 });
  const gwCfg = validateConfig({
    node: { dataDir: join(dir, 'gw'), fleet: fd.fleet, board: 'rpi-4' },
    broker: { embedded: { enabled: true, host: '127.0.0.1', port }, reconnectMs: 100 },
    status: { enabled: true, port: gwStatus, pushIntervalMs: 200 },
    homeassistant: { enabled: true },
    fleet: fleet(300, 40),
    ...common,
  });
  const building = buildRunDaemon({ config: gwCfg, logger, jitterMs: 50, drainTimeoutMs: 300 });
  let prov: Awaited<ReturnType<typeof startProvisioner>> | undefined;
  for (let i = 0; i < 200 && !prov; i++) {
    prov = await startProvisioner(fd, url, logger).catch(() => undefined);
    if (!prov) await new Promise((res) => setTimeout(res, 20));
  }
  t.ok(prov, 'provisioner connected to the gateway broker');
  t.teardown(() => prov?.stop());
  const gw = await building;
  await gw.daemon.start();
  t.teardown(() => gw.daemon.stop('test end'));
  const bCfg = validateConfig({
    node: { dataDir: join(dir, 'b'), fleet: fd.fleet, board: 'rpi-4' },
    broker: { embedded: { enabled: false }, reconnectMs: 100 },
    status: { enabled: true, port: bStatus, pushIntervalMs: 200 },
    fleet: fleet(2000, 3),
    ...common,
  });
  const b = await buildRunDaemon({ config: bCfg, logger, jitterMs: 50, drainTimeoutMs: 300 });
  await b.daemon.start();
  t.teardown(() => b.daemon.stop('test end'));

  const refusals = gw.fleetNode!.brokerRefusals;
  const clients = (gw.daemon.context.broker!.aedes! as unknown as { clients: Record<string, Client> }).clients;
  const gwId = gw.fleetNode!.nodeId;
  const bId = b.fleetNode!.nodeId;
  await until(() => clients[`${daemonClientId(fd.fleet, gwId)}-status`] !== undefined && clients[`${daemonClientId(fd.fleet, bId)}-status`] !== undefined, 15_000, 'both peer clients connected to the fleet broker');
  const summary = async (p: number): Promise<StatusSummary> => JSON.parse((await get(`http://127.0.0.1:${p}/api/status`)).body) as StatusSummary;
  const listed = async (p: number, node: string): Promise<boolean> => {
    for (const end = Date.now() + 15_000; Date.now() < end; await new Promise((res) => setTimeout(res, 50))) if ((await summary(p)).peers.some((x) => x.node === node && x.online)) return true;
    return false;
  };
  t.ok(await listed(gwStatus, bId), 'the gateway page lists the board online');
  t.ok(await listed(bStatus, gwId), 'the board page lists the gateway online (its retained birth, through the gateway broker)');
  t.equal(refusals.get('auth') ?? 0, 0, 'no login refused');
  t.equal(refusals.get('client-id') ?? 0, 0, 'no client id refused');
  t.equal(refusals.get('subscribe outside allowed topics') ?? 0, 0, 'the state/+ subscriptions are within the ACL');

  // negative controls: the peer client as it connected before, with the config's credentials only
  const configOnly = { ...gw.daemon.context.login, credentials: () => ({ username: gwCfg.broker.username, password: gwCfg.broker.password }), refreshCredentials: false };
  const ctlOpts = { suffix: 'ctl', subscriptions: [`h3lix/v1/${fd.fleet}/state/+`], onMessage: () => undefined, logger: silentLogger(), login: configOnly };
  const ctl = openAuxClient(gw.daemon.context, ctlOpts);
  t.ok(ctl, 'the gateway (embedded broker) had one');
  t.teardown(() => closeAuxClient(ctl));
  await until(() => (refusals.get('auth') ?? 0) >= 1, 10_000, 'the broker refuses the control client');
  t.notOk(ctl!.connected, 'control: without the fleet tokens the peer client is refused');
  await closeAuxClient(ctl);

  t.match(text(), /Home Assistant discovery not started: fleet mode, and the fleet ACL grants a node neither homeassistant\/# nor h3lix\/v1\/fst\/ha\/<node>/, 'Home Assistant says why it does not start');
  t.notOk(Object.keys(clients).some((id) => id.endsWith('-ha')), 'no Home Assistant connection reached the broker');
  t.equal(refusals.get('unauthorized publish') ?? 0, 0, 'nothing refused for publishing outside the ACL');
});
