import t, { type Test } from 'tap';
import { join } from 'node:path';
import { CcfField } from '../../src/ccf/field.js';
import { createDaemon, type Daemon } from '../../src/daemon/daemon.js';
import { defaultFeatures } from '../../src/daemon/features.js';
import type { FeatureHandles } from '../../src/daemon/features/handles.js';
import { isSiteOrigin } from '../../src/sync/site-aggregate.js';
import { systemClock } from '../../src/util/clock.js';
import { cli } from '../helpers/cli.js';
import { startMosquitto, MOSQUITTO_BIN, type MosquittoHandle } from '../helpers/mosquitto.js';
import { nodeConfig, until, vec } from './helpers.js';

/**
 * Zones of zones in real daemons (docs/sync.md "Zones of zones"): seven real Mosquittos in a tree
 * (fleet broker; zone brokers east and west; sites n1, n2 under east and w1, w2 under west), bridged
 * with the lines of `h3lix fleet bridge --aggregate [--zone-origin Z]`. Each site has a gateway and one
 * board; n1's gateway also publishes zone east, w1's zone west. Every board ends holding its site's
 * boards, its zone's two site origins and both zone origins, nothing else, and one fleet value close to
 * the pooled robust value of all eight. Negative control: without the `--zone-origin` lines the zone
 * origins never leave their gateway's site.
 */
const skip = MOSQUITTO_BIN ? false : 'mosquitto is not installed (Debian mosquitto)';
const ZONES = { east: ['n1', 'n2'], west: ['w1', 'w2'] } as const;
type Zone = keyof typeof ZONES;
const SITES = Object.entries(ZONES).flatMap(([zone, sites]) => sites.map((site, i) => ({ zone: zone as Zone, site, zoneGateway: i === 0 })));
const DIM = 8;

interface Node {
  d: Daemon;
  h: FeatureHandles;
  site: string;
  zone: Zone;
}

async function bridged(t: Test, lines: string[]): Promise<MosquittoHandle> {
  const m = (await startMosquitto(lines))!;
  t.teardown(() => m.stop());
  return m;
}

async function bridge(t: Test, site: string, remote: MosquittoHandle, zoneOrigins: string[]): Promise<string[]> {
  const r = await cli(['fleet', 'bridge', '--aggregate', '--site', site, '--fleet', 'za', '--remote', `127.0.0.1:${remote.port}`, ...zoneOrigins.flatMap((z) => ['--zone-origin', z])]);
  t.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l && !l.startsWith('#'));
}

/** The tree; `withZoneOrigins` false drops the `--zone-origin` lines (the control). */
async function tree(t: Test, withZoneOrigins: boolean): Promise<Map<string, MosquittoHandle>> {
  const root = await bridged(t, []);
  const brokers = new Map<string, MosquittoHandle>();
  for (const zone of Object.keys(ZONES) as Zone[]) {
    const zb = await bridged(t, await bridge(t, zone, root, []));
    for (const s of SITES.filter((x) => x.zone === zone)) brokers.set(s.site, await bridged(t, await bridge(t, s.site, zb, withZoneOrigins && s.zoneGateway ? [zone] : [])));
  }
  return brokers;
}

async function start(t: Test, dir: string, url: string, site: Record<string, unknown>): Promise<{ d: Daemon; h: FeatureHandles }> {
  const h: FeatureHandles = {};
  const config = nodeConfig(dir, url, 'za', { site: { enabled: true, aggregateEveryMs: 1000, ...site } });
  const d = createDaemon({ config, jitterMs: 100, drainTimeoutMs: 500, features: defaultFeatures(config, { handles: h }) });
  await d.start();
  t.teardown(() => d.stop('test end'));
  return { d, h };
}

const zonesOf = (zone: Zone, gateway: boolean) => [{ name: zone, members: [...ZONES[zone]], gateway }];

function boardVector(i: number): Float32Array {
  const base = vec(DIM, 1);
  const own = vec(DIM, 10 + i);
  return base.map((x, j) => x + 0.1 * own[j]!);
}

async function fleet(t: Test, withZoneOrigins: boolean): Promise<Node[]> {
  const dir = t.testdir();
  const brokers = await tree(t, withZoneOrigins);
  // each gateway once alone, to pin its key (it signs its site origin and, on n1/w1, its zone origin)
  const keys: Record<string, string> = {};
  for (const s of SITES) {
    const g = await start(t, join(dir, `gw-${s.site}`), brokers.get(s.site)!.url, { name: s.site, gateway: true });
    const key = Buffer.from(g.d.context.identity.signing.publicKey).toString('base64');
    keys[s.site] = key;
    if (s.zoneGateway) keys[s.zone] = key;
    await g.d.stop('keys read');
  }
  const nodes: Node[] = [];
  for (const s of SITES) {
    const url = brokers.get(s.site)!.url;
    nodes.push({ ...(await start(t, join(dir, `gw-${s.site}`), url, { name: s.site, gateway: true, keys, zones: zonesOf(s.zone, s.zoneGateway) })), site: s.site, zone: s.zone });
    nodes.push({ ...(await start(t, join(dir, `${s.site}-b`), url, { name: s.site, keys, zones: zonesOf(s.zone, false) })), site: s.site, zone: s.zone });
  }
  nodes.forEach((n, i) => n.d.context.field.contributeLocal('k', boardVector(i), 3));
  return nodes;
}

const maxDiff = (a: Float32Array, b: Float32Array): number => Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));
const expectedOrigins = (zone: Zone) => [...ZONES[zone].map((s) => `site-${s}`), 'site-east', 'site-west'].sort();

t.test('2 zones x 2 sites x (gateway + board) over 7 bridged Mosquittos: one fleet value over the zone origins', { skip }, async (t) => {
  const nodes = await fleet(t, true);
  await until(() => nodes.every((n) => n.h.site!.siteOrigins().length === 4 && n.h.site!.fleetValue('k') !== undefined), 90_000, 'every board holds its zone\'s site origins and both zone origins');
  const step = (2 * Math.max(...boardVector(0).map(Math.abs))) / 127;
  await until(() => {
    const v = nodes.map((n) => n.h.site!.fleetValue('k')!);
    return v.every((x) => maxDiff(x, v[0]!) <= step);
  }, 60_000, 'one fleet value');
  const pooled = new CcfField({ nodeId: 'ref', clock: systemClock, config: nodes[0]!.d.context.config.ccf, quantization: 'int8' });
  pooled.merge(nodes.map((n) => n.d.context.field.get(n.d.context.nodeId, 'k')!));
  const err = maxDiff(nodes[0]!.h.site!.fleetValue('k')!, pooled.value('k', Date.now())!);
  t.ok(err <= 0.1, `fleet value within 0.1 of the pooled robust value of the 8 boards (${err.toFixed(4)}, int8 step ${step.toFixed(4)})`);
  // each level a gateway publishes syncs with its peers only: a site origin with its zone's sites, a zone origin with the zones
  for (const n of nodes) {
    for (const o of n.h.site!.gateway?.origins ?? []) {
      const peers = o.origin === 'site-east' || o.origin === 'site-west' ? ['site-east', 'site-west'] : ZONES[n.zone].map((s) => `site-${s}`);
      t.same(o.held().sort(), peers.sort(), `${n.site}: the field of ${o.origin} holds its peers' origins only`);
    }
  }
  for (const n of nodes) {
    t.same(n.h.site!.siteOrigins().sort(), expectedOrigins(n.zone), `${n.site}: its zone's site origins and the two zone origins, no other site origin`);
    const boards = n.d.context.field.origins().filter((o) => !isSiteOrigin(o));
    t.equal(boards.length, 2, `${n.site}: holds its own site's 2 board origins only`);
  }
});

t.test('negative control: without the --zone-origin lines no zone origin leaves its gateway\'s site', { skip }, async (t) => {
  const nodes = await fleet(t, false);
  await until(() => nodes.every((n) => ZONES[n.zone].every((s) => n.h.site!.siteOrigins().includes(`site-${s}`))), 90_000, 'every board holds its zone\'s site origins');
  // the zone gateways keep publishing; give their zone origins time to travel
  const zoneGws = nodes.filter((n) => n.h.site!.gateway?.origins.some((o) => o.origin === `site-${n.zone}`));
  t.equal(zoneGws.length, 2, 'two zone gateways');
  const zoneSync = (n: Node) => n.h.site!.gateway!.origins.find((o) => o.origin === `site-${n.zone}`)!.sync;
  // published, and arrived on the gateway's own site (so it did reach a broker)
  await until(() => zoneGws.every((n) => zoneSync(n).counters.deltasSent >= 1 && nodes.filter((m) => m.site === n.site).every((m) => m.h.site!.siteOrigins().includes(`site-${n.zone}`))), 60_000, 'each zone origin published and held on its gateway\'s site');
  const digests = zoneGws.map((n) => zoneSync(n).counters.digestsSent);
  await until(() => zoneGws.every((n, i) => zoneSync(n).counters.digestsSent >= digests[i]! + 3), 30_000, 'three more digests from each zone origin');
  for (const n of nodes) {
    const zoneOrigins = n.h.site!.siteOrigins().filter((o) => o === 'site-east' || o === 'site-west');
    const onGatewaySite = SITES.find((s) => s.site === n.site)!.zoneGateway;
    t.same(zoneOrigins, onGatewaySite ? [`site-${n.zone}`] : [], `${n.site}: ${onGatewaySite ? 'only its own zone origin (local on the gateway\'s site)' : 'no zone origin'}`);
  }
});
