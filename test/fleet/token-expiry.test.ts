import t from 'tap';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { nodeBrokerAuth } from '../../src/fleet/board.js';
import { createFleetBrokerAuth } from '../../src/fleet/broker-auth.js';
import { RevocationSet } from '../../src/fleet/revocation.js';
import type { Defence } from '../../src/sync/defences.js';
import { EmbeddedBroker } from '../../src/sync/embedded-broker.js';
import { ManualClock } from '../../src/util/clock.js';
import { capturedLogger, makeFleet, provisionOne, startProvisioner, startSecureBroker, until } from './fixtures.js';

/**
 * Issue 9 item 1: a broker session does not outlive its credential. A node connects to the embedded
 * broker (fleet hooks) with a 60 s token; when the broker's clock passes the token's exp, the broker
 * counts "credential expired" and closes the session. Negative control: with the `token-expiry`
 * defence switched off the same session stays up.
 */
t.test('the broker closes a session when its token lapses; with the defence off it stays', async (t) => {
  const dir = t.testdir();
  const { logger } = capturedLogger();
  const fd = makeFleet(dir);
  // Provision one board on an ordinary secure broker first (real provisioner, real claim).
  const sb = await startSecureBroker(fd, logger);
  const prov = await startProvisioner(fd, sb.broker.url, logger);
  const board = await provisionOne(fd, join(dir, 'b0'), sb.broker.url, logger);
  await prov.stop();
  await sb.broker.stop();

  for (const off of [new Set<Defence>(), new Set<Defence>(['token-expiry'])]) {
    const clock = new ManualClock(Date.now());
    const auth = createFleetBrokerAuth({ fleet: fd.fleet, fleetPublicKey: fd.fleetPublicKey, revocations: new RevocationSet(fd.fleet, fd.fleetPublicKey), clock, logger, defencesOff: off });
    const broker = new EmbeddedBroker({ host: '127.0.0.1', port: 0, hooks: auth.hooks });
    await broker.start();
    t.teardown(() => broker.stop());
    const creds = nodeBrokerAuth(board.identity, board.result.credentials, 'token', clock.now(), 60_000);
    const c = await mqtt.connectAsync(broker.url, { clientId: `h3lix-${fd.fleet}-${board.identity.nodeId}`, ...creds, reconnectPeriod: 0 });
    t.teardown(() => c.endAsync(true));
    let closed = false;
    c.on('close', () => (closed = true));
    clock.advance(30_000);
    await c.publishAsync(`h3lix/v1/${fd.fleet}/state/${board.identity.nodeId}`, '{}', { qos: 1 });
    t.notOk(closed, 'still connected halfway through the token lifetime');
    clock.advance(31_000);
    if (off.size === 0) {
      await until(() => closed, 5000, 'the broker closes the lapsed session');
      t.equal(auth.refusals.get('credential expired'), 1, 'counted as "credential expired"');
    } else {
      // The control: a round trip after the expiry still works on the same connection.
      await c.publishAsync(`h3lix/v1/${fd.fleet}/state/${board.identity.nodeId}`, '{}', { qos: 1 });
      t.notOk(closed, 'defence off: the lapsed session is still up (so the test above can fail)');
      t.equal(auth.refusals.get('credential expired'), undefined);
    }
  }
});
