/**
 * `status.peerClient` (docs/status.md "Fleet mode"): with the second connection the page knows a peer
 * whose retained birth was on the broker before the daemon started; without it (for a Mosquitto fleet
 * broker, one connection per node) the page learns peers from the births the daemon's own connection
 * receives, and no second connection is opened.
 */
import t from 'tap';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { EmbeddedBroker } from '../../src/sync/embedded-broker.js';
import { until } from '../helpers/until.js';
import { startStatusDaemon } from './rig.js';

const birth = (fleet: string, node: string) => JSON.stringify({ v: 1, online: true, node, fleet, ts: Date.now(), board: 'rpi-4' });

for (const peerClient of [true, false]) {
  t.test(`peerClient ${peerClient}`, async (t) => {
    const fleet = `stpc${peerClient ? 'y' : 'n'}`;
    const broker = new EmbeddedBroker({ host: '127.0.0.1', port: 0 });
    await broker.start();
    t.teardown(() => broker.stop());
    const dev = await mqtt.connectAsync(broker.url, { clientId: `pc-${fleet}`, protocolVersion: 4 });
    t.teardown(() => dev.endAsync(true));
    await dev.publishAsync(`h3lix/v1/${fleet}/state/nearlybird`, birth(fleet, 'nearlybird'), { qos: 1, retain: true });
    const rig = await startStatusDaemon(join(t.testdir(), 'data'), fleet, { peerClient }, { broker: { url: broker.url, embedded: { enabled: false }, reconnectMs: 100 } });
    t.teardown(() => rig.stop());
    t.equal(rig.status.peerClient !== undefined, peerClient, peerClient ? 'a second connection' : 'no second connection');
    await until(() => rig.daemon.context.transport.connected, 10_000, 'daemon connected');
    await dev.publishAsync(`h3lix/v1/${fleet}/state/nlatebird`, birth(fleet, 'nlatebird'), { qos: 1, retain: true });
    const peers = (): string[] => listPeers(rig);
    await until(() => peers().includes('nlatebird'), 10_000, 'a birth after the start');
    if (peerClient) {
      await until(() => peers().includes('nearlybird'), 10_000, 'the retained birth from before the start');
      t.pass('the peer that was up before the daemon is listed');
    }
    // without it, the earlier retained birth is seen only if the daemon's own subscription completed
    // after the status feature started listening: a race (here it usually wins), so not asserted
  });
}

function listPeers(rig: Awaited<ReturnType<typeof startStatusDaemon>>): string[] {
  const src = (rig.status.statusServer as unknown as { o: { provider: { summary(): { peers: Array<{ node: string }> } } } }).o.provider;
  return src.summary().peers.map((p) => p.node);
}
