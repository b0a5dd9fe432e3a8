import t from 'tap';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { fleetRig, provisionOne } from './fixtures.js';
import { nodeBrokerAuth } from '../../src/fleet/board.js';
import { createFleetBrokerAuth } from '../../src/fleet/broker-auth.js';
import { RevocationSet } from '../../src/fleet/revocation.js';
import { EmbeddedBroker } from '../../src/sync/embedded-broker.js';
import { systemClock } from '../../src/util/clock.js';

/**
 * A node token is bound to the client id it was minted for (issue 9 item 1 "tokens bound to the
 * client id"): a copy presented under another of the node's client ids is refused (`auth`), so a
 * token read off the wire cannot open a parallel session beside the node's own. Negative control:
 * the `token-binding` switch off, the same copy logs in.
 */
t.test('a token minted for one client id does not log in under another; control: binding off', async (t) => {
  const { dir, logger, fd, sb } = await fleetRig(t);
  const board = await provisionOne(fd, join(dir, 'b'), sb.broker.url, logger);
  const own = `h3lix-${fd.fleet}-${board.identity.nodeId}-instance`;
  const other = `h3lix-${fd.fleet}-${board.identity.nodeId}-copy`;
  const token = nodeBrokerAuth(board.identity, board.result.credentials, 'token', Date.now(), 600_000, own);
  const login = async (url: string, clientId: string): Promise<string> => {
    try {
      const c = await mqtt.connectAsync(url, { clientId, ...token, reconnectPeriod: 0, connectTimeout: 3000 });
      await c.endAsync(true);
      return 'accepted';
    } catch (err) {
      return `refused ${(err as { code?: number }).code ?? (err as Error).message}`;
    }
  };
  const before = sb.auth.refusals.get('auth') ?? 0;
  t.equal(await login(sb.broker.url, own), 'accepted', 'the token logs in under the id it was minted for');
  t.equal(await login(sb.broker.url, other), 'refused 4', 'a copy under another of the node ids is refused (bad username or password)');
  t.equal((sb.auth.refusals.get('auth') ?? 0) - before, 1, 'and counted as auth');
  const unbound = nodeBrokerAuth(board.identity, board.result.credentials, 'token', Date.now(), 600_000);
  const c = await mqtt.connectAsync(sb.broker.url, { clientId: other, ...unbound, reconnectPeriod: 0, connectTimeout: 3000 });
  t.ok(c.connected, 'a token without a binding (older versions) is still taken');
  await c.endAsync(true);

  // negative control: the same fleet hooks with the binding switched off
  const revocations = new RevocationSet(fd.fleet, fd.fleetPublicKey);
  const offAuth = createFleetBrokerAuth({ fleet: fd.fleet, fleetPublicKey: fd.fleetPublicKey, revocations, clock: systemClock, logger, defencesOff: new Set(['token-binding'] as const) });
  const offBroker = new EmbeddedBroker({ host: '127.0.0.1', port: 0, hooks: offAuth.hooks });
  await offBroker.start();
  t.teardown(() => offBroker.stop());
  t.equal(await login(offBroker.url, other), 'accepted', 'control: without the binding the copy logs in');
});

t.test('the daemon mints its tokens for its own client id', async (t) => {
  const { peekDoc } = await import('../../src/fleet/signed-doc.js');
  const { dir, logger, fd, sb } = await fleetRig(t);
  const { prepareFleetNode } = await import('../../src/fleet/fleet-node.js');
  const { validateConfig } = await import('../../src/config/load.js');
  const fn = await prepareFleetNode({
    config: validateConfig({ node: { dataDir: join(dir, 'n'), fleet: fd.fleet, board: 'rpi-4' }, broker: { embedded: { enabled: false }, url: sb.broker.url }, log: { level: 'silent' }, fleet: { enabled: true, imageDir: fd.path('image', 'b1'), attemptTimeoutMs: 3000, maxAttempts: 2, backoffMs: 50 } }),
    clock: systemClock,
    logger,
  });
  const id = `h3lix-${fd.fleet}-${fn.nodeId}`;
  const body = peekDoc(new Uint8Array(Buffer.from(fn.brokerCredentials(id).password, 'base64url')), 'h3lix-node-token', 4096);
  t.equal(body.cid, id, 'the token names the client id it is for');
  t.equal(peekDoc(new Uint8Array(Buffer.from(fn.brokerCredentials().password, 'base64url')), 'h3lix-node-token', 4096).cid, undefined, 'control: without an id, none');
});
