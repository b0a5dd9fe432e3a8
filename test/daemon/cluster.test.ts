import t from 'tap';
import { runDemo } from '../../src/daemon/demo-cluster.js';
import { startMosquitto } from '../helpers/mosquitto.js';

t.test('6 nodes on the embedded aedes converge under duplicates, reordering and a healed partition', async (t) => {
  const r = await runDemo({ nodes: 6, seconds: 30, scriptSeconds: 5, keys: 5, seed: 7 });
  t.equal(r.converged, true, `converged (complete ${r.complete}/6)`);
  t.equal(new Set(r.digests).size, 1, 'byte-identical digests');
  t.equal(r.complete, 6, 'every node holds every contribution');
  t.ok(r.injected.duplicates > 0, `duplicates injected (${r.injected.duplicates})`);
  t.ok(r.injected.reordered > 0, `deliveries reordered (${r.injected.reordered})`);
  t.equal(r.injected.partitioned.length, 2, 'a third of the nodes were partitioned');
  t.ok((r.rejected.WIRE_REPLAY ?? 0) > 0, 'duplicates were dropped by the replay window');
});

const mosquitto = process.env.H3LIX_TEST_MOSQUITTO_URL ? undefined : await startMosquitto();
const mosquittoUrl = process.env.H3LIX_TEST_MOSQUITTO_URL ?? mosquitto?.url;
if (mosquitto) t.teardown(() => mosquitto.stop());

t.test(
  'nodes sync through Mosquitto (MQTT 5) as their upstream broker',
  { skip: mosquittoUrl ? false : 'mosquitto is not installed (apt install mosquitto) and H3LIX_TEST_MOSQUITTO_URL is unset' },
  async (t) => {
    const r = await runDemo({ nodes: 5, seconds: 30, scriptSeconds: 5, keys: 4, seed: 3, brokerUrl: mosquittoUrl!, protocolVersion: 5 });
    t.equal(r.converged, true, `converged through ${mosquittoUrl}`);
    t.equal(new Set(r.digests).size, 1, 'byte-identical digests');
    t.ok(r.injected.partitioned.length > 0, 'partition healed through mosquitto');
  },
);

t.test('daemons spread over worker threads converge the same way (the path `demo --nodes 16+` takes)', async (t) => {
  const r = await runDemo({ nodes: 6, seconds: 30, scriptSeconds: 5, keys: 4, seed: 11, threads: 2 });
  t.equal(r.threads, 2, 'two worker threads');
  t.equal(r.converged, true, `converged (complete ${r.complete}/6)`);
  t.equal(new Set(r.digests).size, 1, 'byte-identical digests');
  t.equal(r.complete, 6, 'every node holds every contribution');
  t.equal(r.injected.partitioned.length, 2, 'a third of the nodes were partitioned');
  t.ok(r.injected.reordered > 0, `deliveries reordered in the workers (${r.injected.reordered})`);
  t.ok((r.rejected.WIRE_REPLAY ?? 0) > 0, 'duplicates dropped by the replay windows in the workers');
});
