import t, { type Test } from 'tap';
import mqtt, { type MqttClient } from 'mqtt';
import { cli } from '../helpers/cli.js';
import { startMosquitto, MOSQUITTO_BIN, type MosquittoHandle } from '../helpers/mosquitto.js';
import { until } from '../helpers/until.js';

/**
 * `h3lix fleet bridge --aggregate` (issue 10 item 2, docs/sync.md "Site aggregates"): the emitted lines,
 * bad arguments, and the lines in three real Mosquittos in a tree (a fleet broker, sites north and
 * south): a site origin's topics cross to the other site, a board's do not. Negative control: the same
 * lines without the `out` lines carry no site origin across.
 */
const skip = MOSQUITTO_BIN ? false : 'mosquitto is not installed (Debian mosquitto)';
const P = 'h3lix/v1/f1/ h3lix/v1/f1/';

t.test('--aggregate emits the in lines for the fleet tree and the out lines for exactly site-<site>', async (t) => {
  const r = await cli(['fleet', 'bridge', '--aggregate', '--site', 'north', '--fleet', 'f1', '--remote', '10.0.0.1:1883', '--remote-username', 'br-north', '--remote-password-file', '/dev/null']);
  t.equal(r.code, 0, r.stderr);
  const topics = r.stdout.split('\n').filter((l) => l.startsWith('topic '));
  t.same(topics, [`topic ccf/+/+ in 1 ${P}`, `topic state/+ in 1 ${P}`, `topic ccf/+/site-north out 1 ${P}`, `topic state/site-north out 1 ${P}`]);
  t.notOk(r.stdout.includes('both'), 'no whole-tree both line');
  t.match(r.stderr, /topic read h3lix\/v1\/f1\/ccf\/\+\/\+/);
  t.match(r.stderr, /topic write h3lix\/v1\/f1\/ccf\/\+\/site-north\n/);
  t.match(r.stderr, /topic write h3lix\/v1\/f1\/state\/site-north\n/);
  t.notOk(r.stderr.includes('readwrite'), 'the aggregate bridge user gets no readwrite on the tree');
  const plain = await cli(['fleet', 'bridge', '--site', 'north', '--fleet', 'f1', '--remote', '10.0.0.1:1883']);
  t.same(plain.stdout.split('\n').filter((l) => l.startsWith('topic ')), ['topic h3lix/v1/f1/# both 1'], 'without --aggregate: unchanged');
});

t.test('--zone-origin adds out lines (and ACL writes) for exactly the named zone origins; refused without --aggregate', async (t) => {
  const r = await cli(['fleet', 'bridge', '--aggregate', '--site', 'n1', '--zone-origin', 'east', '--zone-origin', 'europe', '--fleet', 'f1', '--remote', '10.0.0.1:1883', '--remote-username', 'br', '--remote-password-file', '/dev/null']);
  t.equal(r.code, 0, r.stderr);
  t.same(r.stdout.split('\n').filter((l) => l.includes(' out ')), ['site-n1', 'site-east', 'site-europe'].flatMap((o) => [`topic ccf/+/${o} out 1 ${P}`, `topic state/${o} out 1 ${P}`]));
  t.match(r.stderr, /topic write h3lix\/v1\/f1\/ccf\/\+\/site-east\n/);
  const plain = await cli(['fleet', 'bridge', '--site', 'n1', '--zone-origin', 'east', '--fleet', 'f1', '--remote', '10.0.0.1:1883']);
  t.not(plain.code, 0);
  t.match(plain.stderr, /--zone-origin needs --aggregate/);
  const bad = await cli(['fleet', 'bridge', '--aggregate', '--site', 'n1', '--zone-origin', 'e/ast', '--fleet', 'f1', '--remote', '10.0.0.1:1883']);
  t.not(bad.code, 0);
  t.match(bad.stderr, /--zone-origin "e\/ast"/);
});

t.test('--aggregate refuses a site that cannot name a site origin, naming --site', async (t) => {
  for (const site of ['a'.repeat(60), 'no/slash', 'sp ace']) {
    const r = await cli(['fleet', 'bridge', '--aggregate', '--site', site, '--fleet', 'f1', '--remote', '10.0.0.1:1883']);
    t.not(r.code, 0, site);
    t.match(r.stderr, /--site/, `${site}: the error names --site`);
  }
  const ok64 = await cli(['fleet', 'bridge', '--site', 'a'.repeat(64), '--fleet', 'f1', '--remote', '10.0.0.1:1883']);
  t.equal(ok64.code, 0, 'a 64-character site is still fine without --aggregate');
});

interface Tree {
  root: MosquittoHandle;
  leaves: MosquittoHandle[];
}

async function tree(t: Test, withOut: boolean): Promise<Tree> {
  const root = (await startMosquitto())!;
  t.teardown(() => root.stop());
  const leaves: MosquittoHandle[] = [];
  for (const site of ['north', 'south']) {
    const r = await cli(['fleet', 'bridge', '--aggregate', '--site', site, '--fleet', 'f1', '--remote', `127.0.0.1:${root.port}`]);
    t.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n').filter((l) => l && !l.startsWith('#') && (withOut || !l.includes(' out ')));
    const leaf = (await startMosquitto(lines))!;
    t.teardown(() => leaf.stop());
    leaves.push(leaf);
  }
  return { root, leaves };
}

async function client(t: Test, url: string, seen: string[]): Promise<MqttClient> {
  const c = await mqtt.connectAsync(url, { protocolVersion: 4 });
  t.teardown(() => c.endAsync());
  c.on('message', (topic) => seen.push(topic));
  await c.subscribeAsync(['h3lix/v1/f1/ccf/+/+', 'h3lix/v1/f1/state/+'], { qos: 1 });
  return c;
}

/** Both bridges are up: a marker published on the fleet broker reaches both site brokers. */
async function bridgesUp(root: MqttClient, seen: string[][]): Promise<void> {
  let i = 0;
  await until(() => {
    if (seen.every((s) => s.some((x) => x.endsWith('/marker')))) return true;
    if (i++ % 20 === 0) void root.publishAsync('h3lix/v1/f1/state/marker', 'm', { qos: 1 });
    return false;
  }, 20_000, 'both bridges carry the fleet tree in');
}

async function run(t: Test, withOut: boolean): Promise<{ south: string[]; rootSeen: string[] }> {
  const { root, leaves } = await tree(t, withOut);
  const rootSeen: string[] = [];
  const north: string[] = [];
  const south: string[] = [];
  const r = await client(t, root.url, rootSeen);
  const n = await client(t, leaves[0]!.url, north);
  await client(t, leaves[1]!.url, south);
  await bridgesUp(r, [north, south]);
  await n.publishAsync('h3lix/v1/f1/ccf/delta/nBoardOfNorth', 'b', { qos: 1 });
  await n.publishAsync('h3lix/v1/f1/state/nBoardOfNorth', 'b', { qos: 1 });
  await n.publishAsync('h3lix/v1/f1/ccf/delta/site-north', 's', { qos: 1 });
  await n.publishAsync('h3lix/v1/f1/state/site-north', 's', { qos: 1 });
  if (withOut) await until(() => south.includes('h3lix/v1/f1/state/site-north') && south.includes('h3lix/v1/f1/ccf/delta/site-north'), 10_000, 'site-north at site south');
  // a last marker after north's publishes: it crossed root -> south, so the bridges were live throughout
  south.splice(0, south.length, ...south.filter((x) => !x.endsWith('/marker')));
  await bridgesUp(r, [south]);
  return { south, rootSeen };
}

t.test('real Mosquitto tree: site-north crosses to south, north boards do not', { skip }, async (t) => {
  const { south, rootSeen } = await run(t, true);
  t.ok(south.includes('h3lix/v1/f1/ccf/delta/site-north'), 'the site origin delta crossed');
  t.notOk(south.some((x) => x.includes('nBoardOfNorth')), "site south never holds north's board traffic");
  t.notOk(rootSeen.some((x) => x.includes('nBoardOfNorth')), 'the fleet broker carries site origins only');
});

t.test('negative control: without the out lines no site origin crosses', { skip }, async (t) => {
  const { south, rootSeen } = await run(t, false);
  t.notOk(south.some((x) => x.includes('site-north')), 'site-north did not reach site south');
  t.notOk(rootSeen.some((x) => x.includes('site-north')), 'nor the fleet broker');
});
