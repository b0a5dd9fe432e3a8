import t, { type Test } from 'tap';
import { rmSync } from 'node:fs';
import { mosquittoBridgeConf } from '../../src/fleet/bridge.js';
import { DaemonProcs, tally, type DaemonProcsSnapshot } from '../helpers/daemon-procs.js';
import { startMosquittoTree, MOSQUITTO_BIN, type MosquittoHandle } from '../helpers/mosquitto.js';

/**
 * Real daemons in several processes over a bridged Mosquitto tree (issue 10 item 4; the scale run is
 * bench/fleet-tree.bench.ts): a fleet Mosquitto and two site Mosquittos bridged to it with the lines
 * `h3lix fleet bridge` writes, 12 daemons in 2 child processes, daemon i on site i mod 2, each
 * contributing 2 keys. Every daemon ends holding all 24 contributions with one digest. Negative
 * control: the same sites without the bridge lines never see each other's origins (each site
 * completes on its own, and after 3 more digest rounds per daemon the two sites' digests differ).
 */
const skip = MOSQUITTO_BIN ? false : 'mosquitto is not installed (Debian mosquitto)';
const N = 12;
const KEYS = 2;

async function fleet(t: Test, bridged: boolean): Promise<DaemonProcs> {
  const fleetName = `ftt${bridged ? 'b' : 'u'}`;
  const brokers: MosquittoHandle[] = [];
  t.teardown(async () => {
    await Promise.all(brokers.map((b) => b.stop()));
    for (const b of brokers) rmSync(b.dir, { recursive: true, force: true });
  });
  const bridge = (site: number, rootPort: number) => (bridged ? mosquittoBridgeConf({ fleet: fleetName, site: `s${site}`, remoteHost: '127.0.0.1', remotePort: rootPort }).filter((l) => l && !l.startsWith('#')) : []);
  const tree = (await startMosquittoTree(2, bridge, brokers))!;
  const nodes = Array.from({ length: N }, (_, index) => ({ index, url: tree.sites[index % 2]!.url }));
  const procs: DaemonProcs[] = [];
  t.teardown(async () => {
    await procs[0]?.stop();
    procs[0]?.kill();
  });
  procs.push(await DaemonProcs.start({ procs: 2, nodes, root: t.testdir(), fleet: fleetName, debounceMs: 20, digestIntervalMs: 1000 }));
  await procs[0]!.connected(20_000, 50);
  await procs[0]!.go(KEYS, 8);
  return procs[0]!;
}

/** Poll the processes (50 ms apart) until `cond` holds, or throw after `ms`. */
async function untilSnap(p: DaemonProcs, cond: (s: DaemonProcsSnapshot) => boolean, ms: number, what: string, origins = false): Promise<DaemonProcsSnapshot> {
  const by = Date.now() + ms;
  for (;;) {
    const s = await p.snap(origins);
    if (cond(s)) return s;
    if (Date.now() > by) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('12 daemons in 2 processes over 1 fleet + 2 bridged site Mosquittos converge to one digest', { skip }, async (t) => {
  const p = await fleet(t, true);
  const s = await untilSnap(p, (s) => tally(s.nodes, N * KEYS).complete === N && tally(s.nodes, N * KEYS).digests === 1, 20_000, 'one digest over all 12', true);
  t.equal(new Set(s.nodes.map((n) => n.digest)).size, 1, 'one digest');
  t.ok(s.nodes.every((n) => n.origins!.length === N), 'every daemon holds all 12 origins');
  t.equal(new Set(s.nodes.map((n) => n.id)).size, N, '12 distinct daemons');
});

t.test('negative control: without the bridge lines the sites stay apart', { skip }, async (t) => {
  const p = await fleet(t, false);
  const perSite = (N / 2) * KEYS;
  // each site completes on its own: its 6 daemons hold its 12 contributions with one digest per site
  const done = await untilSnap(p, (s) => [0, 1].every((site) => tally(s.nodes.filter((n) => n.index % 2 === site), perSite).complete === N / 2), 20_000, 'each site complete on its own');
  // then at least 3 more publishes per daemon (periodic digests every 1 s: anti-entropy rounds that
  // would pull the other site's origins if any path existed), instead of sleeping
  const s = await untilSnap(p, (s) => s.nodes.every((n, i) => n.published >= done.nodes[i]!.published + 3), 20_000, '3 more publishes per daemon', true);
  const ids = (site: number) => new Set(s.nodes.filter((n) => n.index % 2 === site).map((n) => n.id));
  for (const n of s.nodes) {
    const other = ids(1 - (n.index % 2));
    t.notOk(n.origins!.some((o) => other.has(o)), `daemon ${n.index} holds no origin of the other site`);
  }
  t.equal(tally(s.nodes, N * KEYS).complete, 0, 'no daemon holds all 24 contributions');
  t.equal(new Set(s.nodes.map((n) => n.digest)).size, 2, 'two digests, one per site');
});
