import t, { type Test } from 'tap';
import { join } from 'node:path';
import type { Daemon } from '../../src/daemon/daemon.js';
import { cli } from '../helpers/cli.js';
import { startMosquitto, MOSQUITTO_BIN, type MosquittoHandle } from '../helpers/mosquitto.js';
import { agree, startNode, until, vec } from '../daemon/helpers.js';

/**
 * Issue 10 item 2, a first step: site brokers bridged to a fleet broker with Mosquitto's own bridge,
 * configured by `h3lix fleet bridge`. Three real Mosquittos in a tree (a fleet broker and two site
 * brokers), two daemons on each site broker: every daemon ends with every contribution and one digest.
 * Negative control: the same two sites without the bridge lines never see each other's contributions.
 */
const skip = MOSQUITTO_BIN ? false : 'mosquitto is not installed (Debian mosquitto)';

async function tree(t: Test, bridged: boolean): Promise<{ root: MosquittoHandle; leaves: MosquittoHandle[] }> {
  const root = (await startMosquitto())!;
  t.teardown(() => root.stop());
  const leaves: MosquittoHandle[] = [];
  for (const site of ['north', 'south']) {
    let lines: string[] = [];
    if (bridged) {
      const r = await cli(['fleet', 'bridge', '--site', site, '--fleet', 'br', '--remote', `127.0.0.1:${root.port}`]);
      t.equal(r.code, 0, r.stderr);
      lines = r.stdout.split('\n').filter((l) => l && !l.startsWith('#'));
    }
    const leaf = (await startMosquitto(lines))!;
    t.teardown(() => leaf.stop());
    leaves.push(leaf);
  }
  return { root, leaves };
}

async function fleetOn(t: Test, leaves: MosquittoHandle[]): Promise<Daemon[]> {
  const dir = t.testdir();
  const nodes: Daemon[] = [];
  for (let i = 0; i < 4; i++) {
    const d = await startNode(join(dir, `n${i}`), leaves[i % 2]!.url, 'br');
    t.teardown(() => d.stop('test end'));
    nodes.push(d);
  }
  nodes.forEach((n, i) => n.context.field.contributeLocal(`k${i}`, vec(8, i + 1), 3));
  return nodes;
}

t.test('two site Mosquittos bridged to a fleet Mosquitto: four daemons converge to one digest', { skip }, async (t) => {
  const { leaves } = await tree(t, true);
  const nodes = await fleetOn(t, leaves);
  await until(() => nodes.every((n) => n.context.field.size() === 4) && agree(nodes), 30_000, 'every daemon holds all four contributions, one digest');
  t.pass(`converged: digest ${nodes[0]!.context.field.digest().slice(0, 12)}… on all four`);
});

t.test('negative control: without the bridge the two sites stay apart', { skip }, async (t) => {
  const { leaves } = await tree(t, false);
  const nodes = await fleetOn(t, leaves);
  // Within a site the pair converges (so the daemons and brokers work) ...
  await until(() => nodes.every((n) => n.context.field.size() === 2), 20_000, 'each site pair shares its two contributions');
  // ... and after three more digest intervals (1 s each) nothing has crossed between the sites.
  const t0 = Date.now();
  await until(() => Date.now() - t0 > 3500, 10_000, 'three digest intervals');
  t.ok(nodes.every((n) => n.context.field.size() === 2), 'no contribution crossed between unbridged sites');
  t.notOk(agree(nodes), 'the two sites hold different digests');
});
