import t from 'tap';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { capturedLogger, makeFleet, startProvisioner, startSecureBroker, until } from './fixtures.js';
import { validateConfig } from '../../src/config/load.js';
import { createDaemon, type Daemon } from '../../src/daemon/daemon.js';
import { withPlug } from '../../src/daemon/core-plug.js';
import { prepareFleetNode, type FleetNode } from '../../src/fleet/fleet-node.js';
import { readBoardImage } from '../../src/fleet/board-files.js';
import { systemClock } from '../../src/util/clock.js';
import { revokeNode } from '../../src/fleet/revoke.js';
import { makeProvisionerToken } from '../../src/fleet/tokens.js';
import { encodeCommand } from '../../src/fleet/commands.js';
import { cborDecodeMap } from '../../src/fleet/codec.js';

/**
 * Fleet mode wired into the real daemon the way docs/fleet.md "Wiring" says: provisioned identities,
 * broker login with node tokens through the fleet hooks, the certificate resolver as the daemon's key
 * resolver, the fleet inbound filter; deltas sync between three daemons; a revoked node's new
 * contributions stop arriving.
 */
t.test('three fleet-mode daemons provision, sync deltas, and drop a revoked node', async (t) => {
  const dir = t.testdir();
  const { logger } = capturedLogger();
  const fd = makeFleet(dir);
  const sb = await startSecureBroker(fd, logger);
  t.teardown(() => sb.broker.stop());
  const prov = await startProvisioner(fd, sb.broker.url, logger);
  t.teardown(() => prov.stop());
  const image = readBoardImage(fd.path('image', 'b1'));

  const nodes: { daemon: Daemon; fleet: FleetNode }[] = [];
  for (let i = 0; i < 3; i++) {
    const base = { node: { dataDir: join(dir, `n${i}`), fleet: fd.fleet, board: 'rpi-4' }, broker: { embedded: { enabled: false }, url: sb.broker.url, reconnectMs: 100 }, sync: { debounceMs: 20, digestIntervalMs: 1000 }, log: { level: 'silent' }, fleet: { enabled: true, imageDir: fd.path('image', 'b1'), attemptTimeoutMs: 3000, maxAttempts: 2, backoffMs: 50 } };
    const fleet = await prepareFleetNode({ config: validateConfig(base), clock: systemClock, logger, image });
    const creds = fleet.brokerCredentials();
    const config = validateConfig({ ...base, broker: { ...base.broker, username: creds.username, password: creds.password } });
    const daemon = createDaemon({
      config,
      logger,
      jitterMs: 100,
      drainTimeoutMs: 300,
      features: [
        withPlug((ctx) => ({
          name: 'fleet',
          start: async () => {
            ctx.presence.certificate = Buffer.from(fleet.provisioned.certBytes).toString('base64');
            fleet.replyWith = (topic, payload) => ctx.transport.publish(topic, payload, { qos: 1, retain: false });
            ctx.refreshBirth();
            await fleet.renewer.start();
          },
          stop: () => fleet.renewer.stop(),
        }), { name: 'fleet', keys: () => fleet.resolver, inbound: fleet.inboundFilter }),
      ],
    });
    await daemon.start();
    t.teardown(() => daemon.stop('test end'));
    nodes.push({ daemon, fleet });
  }
  t.equal(new Set(nodes.map((n) => n.daemon.context.nodeId)).size, 3);
  t.ok(nodes.every((n) => n.daemon.context.nodeId === n.fleet.nodeId), 'daemon node id is the provisioned identity');

  // Deltas sync across the fleet (verified through CertificateKeyResolver learned from births).
  nodes.forEach((n, i) => n.daemon.context.field.contributeLocal(`k${i}`, new Float32Array([i + 1, 0, 0, 0]), 2));
  await until(() => nodes.every((n) => n.daemon.context.field.size() === 3), 8000, 'every node holds every contribution');
  t.pass('signed deltas from all three daemons verified and merged everywhere');

  // A command through the inbound filter, with the reply on the transport.
  const [a, b, c] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];
  const op = await mqtt.connectAsync(sb.broker.url, { clientId: 'h3lix-operator-op', username: 'provisioner', password: makeProvisionerToken(fd.fleetSigner(), Date.now() + 60_000), reconnectPeriod: 0 });
  t.teardown(() => op.endAsync(true));
  const replies: Buffer[] = [];
  op.on('message', (_topic, p) => replies.push(p));
  await op.subscribeAsync(`h3lix/v1/${fd.fleet}/cmd/+/reply`, { qos: 1 });
  a.fleet.inboundFilter(`h3lix/v1/${fd.fleet}/cmd/${a.fleet.nodeId}`, Buffer.from(encodeCommand(fd.fleet, { to: a.fleet.nodeId, id: 'c1', name: 'ping', args: {}, exp: Date.now() + 60_000 }, fd.fleetSigner(), fd.nextCommandSeq(Date.now()), Date.now())), () => t.fail('a command must not reach sync'));
  await until(() => replies.length === 1, 3000, 'command reply');
  t.equal(cborDecodeMap(cborDecodeMap(replies[0]!, 16384, 'env').body as Uint8Array, 16384, 'body').ok, true, 'ping answered');

  // Revoke C: the broker drops it; A and B refuse anything it still sends.
  const list = revokeNode(fd, c.fleet.nodeId, 'test', Date.now());
  await op.publishAsync(`h3lix/v1/${fd.fleet}/fleet/revocations`, Buffer.from(list), { qos: 1, retain: true });
  // The lead subscribes fleetNode.subscriptions on the transport; here the list is handed over directly.
  for (const n of [a, b]) n.fleet.inboundFilter(`h3lix/v1/${fd.fleet}/fleet/revocations`, Buffer.from(list), () => t.fail('consumed by the fleet filter'));
  t.ok(a.fleet.isRevoked(c.fleet.nodeId) && b.fleet.isRevoked(c.fleet.nodeId));
  await until(() => !c.daemon.context.transport.connected, 3000, 'revoked daemon disconnected');
  c.daemon.context.field.contributeLocal('late', new Float32Array([9, 9, 9, 9]), 1);
  a.daemon.context.field.contributeLocal('after', new Float32Array([1, 1, 1, 1]), 1);
  await until(() => b.daemon.context.field.get(a.fleet.nodeId, 'after') !== undefined, 5000, 'honest delta after revocation');
  t.equal(b.daemon.context.field.get(c.fleet.nodeId, 'late'), undefined, 'nothing new from the revoked node reaches the field');
  t.equal(a.daemon.context.field.get(c.fleet.nodeId, 'late'), undefined);
});
