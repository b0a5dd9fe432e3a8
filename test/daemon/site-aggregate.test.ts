import t, { type Test } from 'tap';
import { join } from 'node:path';
import { CcfField } from '../../src/ccf/field.js';
import { createDaemon, type Daemon } from '../../src/daemon/daemon.js';
import { defaultFeatures } from '../../src/daemon/features.js';
import type { FeatureHandles } from '../../src/daemon/features/handles.js';
import { isSiteOrigin } from '../../src/sync/site-aggregate.js';
import { systemClock } from '../../src/util/clock.js';
import type { Logger } from '../../src/util/logger.js';
import { cli } from '../helpers/cli.js';
import { startMosquitto, MOSQUITTO_BIN, type MosquittoHandle } from '../helpers/mosquitto.js';
import { nodeConfig, until, vec } from './helpers.js';

/**
 * Site aggregates in real daemons (issue 10 item 2, docs/sync.md "Site aggregates"): three real
 * Mosquittos in a tree (fleet broker, site brokers north and south, bridged with the lines of
 * `h3lix fleet bridge --aggregate`), per site one gateway and two boards, each contributing its own
 * vector. Every board ends with both site origins and one fleet value, close to the pooled robust
 * value of all six; no board of north holds a board origin of south. Negative controls: without the
 * `out` lines no site origin crosses; a site origin whose key is not pinned is refused (counted).
 */
const skip = MOSQUITTO_BIN ? false : 'mosquitto is not installed (Debian mosquitto)';
const SITES = ['north', 'south'] as const;
const DIM = 8;

interface Node {
  d: Daemon;
  h: FeatureHandles;
  site: string;
  /** What the daemon logged (every level): the refusal reasons. */
  logs: Array<Record<string, unknown> & { msg: string }>;
}

function recordingLogger(logs: Node['logs']): Logger {
  const log = (obj: object | string, msg?: string) => void logs.push(typeof obj === 'string' ? { msg: obj } : { ...(obj as Record<string, unknown>), msg: msg ?? '' });
  const l: Logger = { debug: log, info: log, warn: log, error: log, child: () => l };
  return l;
}

async function tree(t: Test, withOut: boolean): Promise<MosquittoHandle[]> {
  const root = (await startMosquitto())!;
  t.teardown(() => root.stop());
  const leaves: MosquittoHandle[] = [];
  for (const site of SITES) {
    const r = await cli(['fleet', 'bridge', '--aggregate', '--site', site, '--fleet', 'sa', '--remote', `127.0.0.1:${root.port}`]);
    t.equal(r.code, 0, r.stderr);
    const leaf = (await startMosquitto(r.stdout.split('\n').filter((l) => l && !l.startsWith('#') && (withOut || !l.includes(' out ')))))!;
    t.teardown(() => leaf.stop());
    leaves.push(leaf);
  }
  return leaves;
}

async function start(t: Test, dir: string, url: string, site: Record<string, unknown>): Promise<Node> {
  const h: FeatureHandles = {};
  const logs: Node['logs'] = [];
  const config = nodeConfig(dir, url, 'sa', { site: { enabled: true, aggregateEveryMs: 1000, ...site } });
  const d = createDaemon({ config, jitterMs: 100, drainTimeoutMs: 500, logger: recordingLogger(logs), features: defaultFeatures(config, { handles: h }) });
  await d.start();
  t.teardown(() => d.stop('test end'));
  return { d, h, site: String(site.name), logs };
}

/** Gateways' keys: each gateway started once alone, so boards can pin `site-<name>` to its key. */
async function gatewayKeys(t: Test, dir: string, leaves: MosquittoHandle[]): Promise<Record<string, string>> {
  const keys: Record<string, string> = {};
  for (const [i, site] of SITES.entries()) {
    const g = await start(t, join(dir, `gw-${site}`), leaves[i]!.url, { name: site, gateway: true });
    keys[site] = Buffer.from(g.d.context.identity.signing.publicKey).toString('base64');
    await g.d.stop('keys read');
  }
  return keys;
}

/** Base + a small per-board offset: different vectors whose robust values are close. */
function boardVector(i: number): Float32Array {
  const base = vec(DIM, 1);
  const own = vec(DIM, 10 + i);
  return base.map((x, j) => x + 0.1 * own[j]!);
}

async function fleet(t: Test, withOut: boolean): Promise<{ nodes: Node[]; leaves: MosquittoHandle[]; keys: Record<string, string>; dir: string }> {
  const dir = t.testdir();
  const leaves = await tree(t, withOut);
  const keys = await gatewayKeys(t, dir, leaves);
  const nodes: Node[] = [];
  for (const [i, site] of SITES.entries()) {
    nodes.push(await start(t, join(dir, `gw-${site}`), leaves[i]!.url, { name: site, gateway: true, keys }));
    for (const b of [0, 1]) nodes.push(await start(t, join(dir, `${site}-${b}`), leaves[i]!.url, { name: site, keys }));
  }
  nodes.forEach((n, i) => n.d.context.field.contributeLocal('k', boardVector(i), 3));
  return { nodes, leaves, keys, dir };
}

const maxDiff = (a: Float32Array, b: Float32Array): number => Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));

t.test('2 sites x (gateway + 2 boards) over a bridged Mosquitto tree: one fleet value over the site origins', { skip }, async (t) => {
  const { nodes, leaves, keys, dir } = await fleet(t, true);
  // a rogue "gateway" on site north publishing site-rogue, whose key nobody pinned
  const rogue = await start(t, join(dir, 'rogue'), leaves[0]!.url, { name: 'rogue', gateway: true, keys });
  await until(() => nodes.every((n) => n.h.site!.siteOrigins().length === 2 && n.h.site!.fleetValue('k') !== undefined), 60_000, 'every board holds both site origins');
  // the site values settle once each gateway has all its boards: wait until all fleet values agree
  const step = 2 * Math.max(...boardVector(0).map(Math.abs)) / 127;
  await until(() => {
    const v = nodes.map((n) => n.h.site!.fleetValue('k')!);
    return v.every((x) => maxDiff(x, v[0]!) <= step) && nodes.every((n) => n.h.site!.siteOrigins().length === 2);
  }, 30_000, 'one fleet value');
  // the pooled robust value: one field holding all six boards' own contributions
  const pooled = new CcfField({ nodeId: 'ref', clock: systemClock, config: nodes[0]!.d.context.config.ccf, quantization: 'int8' });
  pooled.merge(nodes.map((n) => n.d.context.field.get(n.d.context.nodeId, 'k')!));
  t.equal(pooled.origins().length, 6, 'the reference holds six board origins');
  const ref = pooled.value('k', Date.now())!;
  const fleetV = nodes[0]!.h.site!.fleetValue('k')!;
  const err = maxDiff(fleetV, ref);
  t.comment(`fleet value vs pooled robust value of the 6 boards: max |diff| ${err.toFixed(4)} (int8 step ${step.toFixed(4)})`);
  t.ok(err <= 0.1, `fleet value within 0.1 of the pooled robust value (${err.toFixed(4)})`);
  for (const n of nodes) t.same(n.h.site!.siteOrigins().sort(), ['site-north', 'site-south'], `${n.site} board holds both site origins`);
  const ids = (site: string) => new Set(nodes.filter((n) => n.site === site).map((n) => n.d.context.nodeId));
  for (const n of nodes) {
    const other = ids(n.site === 'north' ? 'south' : 'north');
    t.notOk(n.d.context.field.origins().some((o) => other.has(o)), `a ${n.site} board holds no board origin of the other site`);
  }
  const north = nodes.filter((n) => n.site === 'north');
  const refusedRogue = (n: Node) => n.logs.some((l) => l.msg === 'message rejected' && l.code === 'WIRE_UNKNOWN_SENDER' && String(l.topic).endsWith('/site-rogue'));
  await until(() => rogue.h.site!.gateway!.sync.counters.deltasSent > 0 && north.every(refusedRogue), 20_000, 'the rogue published and north refused it');
  t.ok(north.every((n) => !n.d.context.field.origins().includes('site-rogue')), 'site-rogue (unpinned key) is in no field');
  t.ok(north.every((n) => (n.d.context.sync.counters.rejected.WIRE_UNKNOWN_SENDER ?? 0) > 0), 'refusals counted (WIRE_UNKNOWN_SENDER)');
  t.ok(north.every(refusedRogue), "and logged with the reason and site-rogue's topic by every north board");
  t.ok(rogue.h.site!.gateway!.sync.counters.deltasSent > 0, 'the rogue did publish');
  // control: a board that pins the rogue's key does take site-rogue, so the refusal above is the pin's
  const rogueKey = Buffer.from(rogue.d.context.identity.signing.publicKey).toString('base64');
  const pinning = await start(t, join(dir, 'pins-rogue'), leaves[0]!.url, { name: 'north', keys: { ...keys, rogue: rogueKey } });
  await until(() => pinning.h.site!.siteOrigins().includes('site-rogue'), 20_000, 'a board pinning the rogue key holds site-rogue');
  t.pass('a board that pins the rogue key holds site-rogue');
});

t.test('negative control: without the out lines no board learns the other site origin', { skip }, async (t) => {
  const { nodes } = await fleet(t, false);
  await until(() => nodes.every((n) => n.h.site!.siteOrigins().includes(`site-${n.site}`)), 60_000, 'every board holds its own site origin');
  for (const n of nodes) t.same(n.h.site!.siteOrigins(), [`site-${n.site}`], `${n.site}: only its own site origin`);
  t.ok(nodes.every((n) => n.d.context.field.origins().filter((o) => !isSiteOrigin(o)).length === 3), 'each board holds its own site boards only');
});
