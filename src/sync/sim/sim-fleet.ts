import { validateConfig } from '../../config/load.js';
import { mulberry32 } from '../../util/prng.js';
import { H3lixError } from '../../errors.js';
import { FLEET_BROKER, SimBroker, publishPacketBytes } from './sim-broker.js';
import { SimClock } from './sim-clock.js';
import { SimNode } from './sim-node.js';
import { SimSites, valueCheck } from './sim-sites.js';
import { withVerifyCache } from './verify-cache.js';

/**
 * Options of {@link simulateFleet}. Every duration is virtual time.
 * - `nodes`: N. Required.
 * - `sites`: site brokers bridged to one fleet broker (node i on site i mod S). Default 1.
 * - `loss`: probability that one delivery is lost. Default 0.
 * - `latencyMs`: one-way broker delay [min, max]. Default [20, 80]; `bridgeLatencyMs` default 30.
 * - `contributions`: contributions each node makes before the run (keys). Default 6.
 * - `dims`: vector length. Default 16.
 * - `updateEverySec`: in steady state each node updates one of its keys this often. Default 60.
 * - `steadyMin`: steady-state measurement window. Default 10.
 * - `partition`: fraction of nodes cut off (0 = no partition phase). Default 0.1.
 * - `partitionMin`: how long they stay cut off. Default 5.
 * - `maxConvergeSec`: give up converging after this long. Default 300.
 * - `seed`: default 1. `onProgress(line)`: progress lines for long runs.
 */
export interface FleetSimOptions {
  nodes: number;
  sites?: number;
  loss?: number;
  latencyMs?: readonly [number, number];
  bridgeLatencyMs?: number;
  contributions?: number;
  dims?: number;
  updateEverySec?: number;
  steadyMin?: number;
  partition?: number;
  partitionMin?: number;
  maxConvergeSec?: number;
  seed?: number;
  /** `sync.digestIntervalMs` of every node. Default the config default (10 s). */
  digestIntervalMs?: number;
  /** Publishes on matching topics are dropped at the broker (tests' negative controls). */
  dropTopic?: RegExp;
  /** Run the protocol before issue 10 (whole-vector digests on every change): the baseline. */
  legacy?: boolean;
  /**
   * Site aggregates (site-aggregate.ts): each site's gateway publishes one site origin on the fleet
   * broker; boards receive their own site's boards and every site origin, nothing else. Needs sites > 1.
   */
  aggregate?: boolean;
  /**
   * Zones of zones (docs/sync.md): with `aggregate`, sites are grouped this many to a broker one
   * level up, and so on until one fleet broker; each zone has an aggregate origin. Default: no
   * grouping (sites directly under the fleet broker).
   */
  zoneFanout?: number;
  /** Seconds between a gateway's aggregation runs. Default 60. */
  aggregateEverySec?: number;
  /**
   * Site s's boards draw around s's centre, evenly spaced in [-spread, spread] per coordinate (with
   * zones of zones: the centre of the board's zone under the fleet broker). Default 0.
   */
  siteSpread?: number;
  /** Board `board` contributes `vector` × `count` / `count` for every key (a poisoner). */
  poison?: { board: number; vector: number[]; count: number };
  /** TEST-ONLY control: with `aggregate`, bridges carry everything both ways (SimBroker `bridgeBoth`). */
  bridgeBoth?: boolean;
  /** TEST-ONLY: site values without the robust step (SiteAggregator `unsafeNoRobust`). */
  unsafeSiteMean?: boolean;
  /** `ccf` config overrides (clipNorm, trimFraction, ...). */
  ccf?: Record<string, number>;
  /** Share Ed25519 verification results for identical bytes across simulated boards. Default true. */
  verifyCache?: boolean;
  onProgress?: (line: string) => void;
}

export interface FleetSimResult {
  protocol: 'summary' | 'legacy';
  nodes: number;
  sites: number;
  loss: number;
  /** Every node ended with the same field digest. */
  converged: boolean;
  /** Virtual seconds until every node held every initial contribution (null: not within maxConvergeSec). */
  initialConvergeSec: number | null;
  /**
   * Virtual seconds of the quiet phase until the fleet agreed (null: not within the limit). With
   * aggregates the periodic timers are stopped and each level aggregates once, bottom up, as soon as
   * its children agree: a real fleet adds about one aggregation period per level on top.
   */
  quietSec: number | null;
  /** With aggregates: aggregating every level once more at the end changed no zone origin (a fixed point). */
  aggregatesStable: boolean;
  /** Steady state: PUBLISH bytes each node *sent* per hour (mean). */
  bytesPerNodePerHour: number;
  /** Steady state: PUBLISH bytes each node *received* per hour (mean). */
  receivedBytesPerNodePerHour: number;
  /** Steady state: all bytes sent plus received across the fleet per hour. */
  totalBytesPerHour: number;
  /** Steady state: sent bytes per node per hour by message kind (delta, digest, want, state). */
  sentByKindPerNodePerHour: Record<string, number>;
  /** Retained digest payload size, mean bytes. */
  digestBytes: number;
  /** Rounds (of `sync.digestIntervalMs`) from the heal until every node held every contribution made before it. */
  healRounds: number | null;
  healSec: number | null;
  /** Bytes sent plus received during the heal, per node. */
  healBytesPerNode: number;
  /** JS heap per simulated node after the run (approximate: heap delta / N). */
  memoryPerNodeBytes: number;
  /** Bytes that crossed bridge links in the steady window, per hour (sites > 1). */
  bridgeBytesPerHour: number;
  lostDeliveries: number;
  /** Wall-clock seconds the simulation took. */
  wallSec: number;
  /** Site aggregates on (boards hear their site and the site origins only). */
  aggregate: boolean;
  /** Boards per site (mean). */
  siteSize: number;
  /** Levels of zone origins with aggregates (1: sites under the fleet broker; 0 without aggregates). */
  levels: number;
  /** Zone origins (sites and zones above them) with aggregates. */
  zoneOrigins: number;
  /** With aggregates: [min, max] children of each robust step (boards per site, zone levels, the top level). */
  childrenPerStep: Array<[number, number]>;
  /** Origins in each board's field at the end (mean, max) and how many lay outside its scope (0 = routing right). */
  originsPerBoard: { mean: number; max: number; outOfScope: number };
  /** Largest |board value − fully replicated field's value| over boards, keys and coordinates, at the end. */
  valueError: number;
  /** Largest spread of one coordinate of one key's value across boards, at the end. */
  valueSpread: number;
  /** Per key: the fully replicated field's value and board 0's value, at the end. */
  values: { reference: Record<string, number[]>; board0: Record<string, number[]> };
  /** Steady state: PUBLISH bytes a site origin (its gateway's fleet link) sent per hour, mean. */
  siteOriginSentBytesPerHour: number;
  /** Ed25519 checks and how many the shared cache answered. */
  verify: { checks: number; hits: number };
}

/**
 * `h3lix simulate fleet`: N boards running the real field, codec, signatures and anti-entropy
 * (CcfSync) over a simulated broker with latency, loss, sites and a partition, on a virtual clock.
 * Phases: every node contributes and the fleet converges; a steady window with periodic updates
 * (bytes measured); a fraction cut off for a while, then healed (rounds and bytes measured); updates
 * stop and the fleet must end on one digest.
 */
export function simulateFleet(o: FleetSimOptions): FleetSimResult {
  const verify = { checks: 0, hits: 0 };
  if (o.verifyCache === false) return run(o, verify);
  return withVerifyCache(() => run(o, verify), verify);
}

function run(o: FleetSimOptions, verify: { checks: number; hits: number }): FleetSimResult {
  const t0 = Date.now();
  const N = o.nodes;
  const sites = o.sites ?? 1;
  const seed = o.seed ?? 1;
  const random = mulberry32(seed);
  const clock = new SimClock();
  const config = validateConfig({ node: { dataDir: '/tmp/h3lix-sim-unused', fleet: 'sim' }, ...(o.digestIntervalMs ? { sync: { digestIntervalMs: o.digestIntervalMs } } : {}), ...(o.ccf ? { ccf: o.ccf } : {}) });
  const aggregate = o.aggregate === true;
  if (aggregate && sites < 2) throw new H3lixError('CLI_USAGE', 'site aggregates need at least 2 sites');
  const siteIndex = new Map<string, number>();
  const broker = new SimBroker({
    clock,
    random,
    loss: o.loss ?? 0,
    ...(o.dropTopic ? { dropTopic: o.dropTopic } : {}),
    ...(o.latencyMs ? { latencyMs: o.latencyMs } : {}),
    ...(sites > 1 ? { siteOf: (id: string) => siteIndex.get(id) ?? 0, bridgeLatencyMs: o.bridgeLatencyMs ?? 30 } : {}),
    ...(aggregate ? { brokerOf: (id: string) => siteIndex.get(id) ?? FLEET_BROKER, parentOf: (b: number) => topo!.parentOf(b), bridgeBoth: o.bridgeBoth === true } : {}),
  });
  const progress = o.onProgress ?? (() => undefined);
  const heapBefore = process.memoryUsage().heapUsed;
  const nodes: SimNode[] = [];
  const nodeArgs = () => ({ seed, fleet: 'sim', clock, broker, ccf: config.ccf, sync: config.sync, random, legacy: o.legacy === true });
  const topo: SimSites | undefined = aggregate
    ? new SimSites(N, sites, clock, (o.aggregateEverySec ?? 60) * 1000, random, o.unsafeSiteMean === true, nodeArgs, (id, b) => siteIndex.set(id, b), o.zoneFanout)
    : undefined;
  if (topo) nodes.push(...topo.boards);
  else
    for (let i = 0; i < N; i++) {
      const n = new SimNode({ ...nodeArgs(), index: i });
      siteIndex.set(n.id, i % sites);
      nodes.push(n);
    }
  const everyone = topo ? topo.all() : nodes;
  const dims = o.dims ?? 16;
  const keysPer = o.contributions ?? 6;
  // With site aggregates the data has its own stream, so a poisoned run draws the same honest data.
  const dataRandom = aggregate ? mulberry32((seed ^ 0x5eed) >>> 0) : random;
  const spread = o.siteSpread ?? 0;
  const vec = (i: number) => {
    // the centre of the board's zone under the fleet broker (its site without zones of zones)
    const [z, of] = topo ? [topo.topZoneOfBoard(i), topo.counts[topo.levels - 1]!] : [i % sites, sites];
    const c = of > 1 ? spread * ((2 * z) / (of - 1) - 1) : 0;
    return Float32Array.from({ length: dims }, () => c + dataRandom() * 2 - 1);
  };
  const contribute = (i: number, key: string) => {
    const v = vec(i);
    const p = o.poison;
    if (p && p.board === i) nodes[i]!.field.contributeLocal(key, Float32Array.from(v, (_, d) => (p.vector[d] ?? 0) * p.count), p.count);
    else nodes[i]!.field.contributeLocal(key, v, 1);
  };
  const interval = config.sync.digestIntervalMs;

  // Phase 1: everyone starts, connects and contributes.
  nodes.forEach((n, i) => {
    void n.sync.start();
    n.connect();
    for (let k = 0; k < keysPer; k++) contribute(i, `k${k}`);
  });
  topo?.start();
  const target = () => new Map(everyone.map((n) => [n.id, n.field.localVersion()] as const));
  const covered = (want: Map<string, number>) => everyone.every((n) => (topo ? topo.scope(n) : nodes.map((x) => x.id)).every((origin) => n.sync.sync.get(origin) >= (want.get(origin) ?? 0)));
  const runUntil = (done: () => boolean, maxSec: number, tick?: () => void): number | null => {
    for (let s = 1; s <= maxSec; s++) {
      clock.advance(1000);
      tick?.();
      if (done()) return s;
      if (s % 30 === 0) progress(`  ${N} nodes: ${s} s virtual, ${((Date.now() - t0) / 1000).toFixed(0)} s wall`);
    }
    return null;
  };
  const maxConverge = o.maxConvergeSec ?? 300;
  const initial = target();
  // with aggregates: every site origin published and its latest value everywhere
  const initialConvergeSec = runUntil(() => covered(initial) && (!topo || (topo.zones.every((z) => z.node.field.localVersion() > 0) && covered(target()))), maxConverge);
  progress(`  ${N} nodes: initial contributions everywhere after ${initialConvergeSec ?? `>${maxConverge}`} s`);

  // Phase 2: steady state with periodic updates.
  const updateMs = (o.updateEverySec ?? 60) * 1000;
  const nextUpdate = nodes.map(() => clock.monotonic() + dataRandom() * updateMs);
  // Every node updates, cut-off ones too (their outbox holds the deltas until they reconnect).
  const update = () => {
    const now = clock.monotonic();
    for (let i = 0; i < nodes.length; i++) {
      if (now < nextUpdate[i]!) continue;
      nextUpdate[i] = now + updateMs * (0.5 + dataRandom());
      contribute(i, `k${Math.floor(dataRandom() * keysPer)}`);
    }
  };
  const snap = () => {
    let sent = 0;
    let received = 0;
    for (const s of broker.traffic.values()) {
      sent += s.sentBytes;
      received += s.receivedBytes;
    }
    let siteSent = 0;
    for (const z of topo?.zones ?? []) if (z.level === 0) siteSent += broker.traffic.get(z.node.id)!.sentBytes;
    return { sent, received, bridge: broker.bridge.bytes, siteSent };
  };
  let measuring = false;
  const byKind: Record<string, number> = {};
  let digestBytes = 0;
  let digestCount = 0;
  const origPublish = broker.publish.bind(broker);
  broker.publish = (from, topic, payload, retain) => {
    const ok = origPublish(from, topic, payload, retain);
    if (ok && measuring) {
      const kind = /\/(state|delta|digest|want|energy)\//.exec(topic)?.[1] ?? 'other';
      byKind[kind] = (byKind[kind] ?? 0) + publishPacketBytes(topic, payload.length);
      if (kind === 'digest') {
        digestBytes += payload.length;
        digestCount++;
      }
    }
    return ok;
  };
  const steadyMs = (o.steadyMin ?? 10) * 60_000;
  const before = snap();
  measuring = true;
  for (let t = 0; t < steadyMs; t += 1000) {
    clock.advance(1000);
    update();
  }
  measuring = false;
  const after = snap();
  const hours = steadyMs / 3_600_000;
  progress(`  ${N} nodes: steady window done (${((Date.now() - t0) / 1000).toFixed(0)} s wall)`);

  // Phase 3: partition and heal.
  let healRounds: number | null = null;
  let healSec: number | null = null;
  let healBytesPerNode = 0;
  const frac = o.partition ?? 0.1;
  if (frac > 0 && N > 1) {
    const cut = nodes.filter(() => random() < frac);
    if (!cut.length) cut.push(nodes[N - 1]!);
    // a gateway cut off takes its site origin's fleet link with it
    for (const b of [...cut]) {
      for (const x of topo?.zoneNodesOfGateway(b) ?? []) cut.push(x);
    }
    for (const n of cut) n.disconnect();
    const partMs = (o.partitionMin ?? 5) * 60_000;
    // long partitions step coarser (timers still fire at their own instants; only update times round)
    const step = Math.max(1000, Math.min(60_000, Math.floor(updateMs / 10 / 1000) * 1000));
    for (let t = 0; t < partMs; t += step) {
      clock.advance(step);
      update();
    }
    const want = target();
    const b = snap();
    for (const n of cut) n.connect();
    healSec = runUntil(() => covered(want), maxConverge, update);
    healRounds = healSec === null ? null : Math.ceil((healSec * 1000) / interval);
    const a = snap();
    healBytesPerNode = (a.sent + a.received - b.sent - b.received) / N;
    progress(`  ${N} nodes: ${cut.length} cut off for ${o.partitionMin ?? 5} min healed after ${healSec ?? `>${maxConverge}`} s`);
  }

  // Phase 4: quiet; the fleet must end on one digest.
  // with aggregates: once each site agrees, every gateway aggregates its final board values
  // (level by level up the zone tree: a zone aggregates once its children's final values arrived)
  // The periodic timers stop first: they would fire on partial inputs in the meantime and make each
  // level wait out one more aggregation period (about 30 wall s per virtual s at 10,000 boards).
  topo?.stopTimers();
  const quietStart = clock.monotonic();
  const agreedAll = () => (topo ? topo.agreed() && covered(target()) : new Set(nodes.map((n) => n.field.digest())).size === 1);
  if (topo) for (let level = 0; level < topo.levels && runUntil(agreedAll, maxConverge) !== null; level++) topo.aggregateLevel(level);
  const converged = runUntil(agreedAll, maxConverge) !== null;
  if (!converged && topo) progress(`  ${N} nodes: not agreed after the quiet phase: ${topo.disagreement() ?? 'every broker agrees, but a scope is not covered'}`);
  const quietSec = converged ? (clock.monotonic() - quietStart) / 1000 : null;
  const heapAfter = process.memoryUsage().heapUsed;
  const check = valueCheck(nodes, Array.from({ length: keysPer }, (_, k) => `k${k}`), config.ccf, clock, topo ? (origin) => topo.isTop(origin) : undefined);
  // the end is a fixed point: aggregating every level once more publishes nothing new (checked after
  // the value check, which must read the fleet as it ended)
  const aggregatesStable = topo ? topo.reaggregateChangesNothing() : true;
  const st = topo?.originStats();
  const origins = st ? { mean: st.meanPerBoard, max: st.maxPerBoard, outOfScope: st.outOfScope } : { mean: nodes.reduce((a, n) => a + n.field.origins().length, 0) / N, max: Math.max(...nodes.map((n) => n.field.origins().length)), outOfScope: 0 };
  for (const n of everyone) void n.sync.stop();
  const sent = after.sent - before.sent;
  const received = after.received - before.received;
  return {
    protocol: o.legacy ? 'legacy' : 'summary',
    nodes: N,
    sites,
    loss: o.loss ?? 0,
    converged,
    initialConvergeSec,
    quietSec,
    aggregatesStable,
    bytesPerNodePerHour: sent / N / hours,
    receivedBytesPerNodePerHour: received / N / hours,
    totalBytesPerHour: (sent + received) / hours,
    sentByKindPerNodePerHour: Object.fromEntries(Object.entries(byKind).map(([k, v]) => [k, v / N / hours])),
    digestBytes: digestCount ? digestBytes / digestCount : 0,
    healRounds,
    healSec,
    healBytesPerNode,
    memoryPerNodeBytes: Math.max(0, heapAfter - heapBefore) / N,
    bridgeBytesPerHour: (after.bridge - before.bridge) / hours,
    lostDeliveries: broker.lost,
    wallSec: (Date.now() - t0) / 1000,
    aggregate,
    siteSize: N / sites,
    levels: topo?.levels ?? 0,
    zoneOrigins: topo?.zones.length ?? 0,
    originsPerBoard: origins,
    childrenPerStep: topo?.children() ?? [],
    valueError: check.maxError,
    valueSpread: check.maxSpread,
    values: { reference: check.reference, board0: check.atFirst },
    siteOriginSentBytesPerHour: topo ? (after.siteSent - before.siteSent) / sites / hours : 0,
    verify: { ...verify },
  };
}
