import { validateConfig } from '../../config/load.js';
import { mulberry32 } from '../../util/prng.js';
import { SimBroker, publishPacketBytes } from './sim-broker.js';
import { SimClock } from './sim-clock.js';
import { SimNode } from './sim-node.js';

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
}

/**
 * `h3lix simulate fleet`: N boards running the real field, codec, signatures and anti-entropy
 * (CcfSync) over a simulated broker with latency, loss, sites and a partition, on a virtual clock.
 * Phases: every node contributes and the fleet converges; a steady window with periodic updates
 * (bytes measured); a fraction cut off for a while, then healed (rounds and bytes measured); updates
 * stop and the fleet must end on one digest.
 */
export function simulateFleet(o: FleetSimOptions): FleetSimResult {
  const t0 = Date.now();
  const N = o.nodes;
  const sites = o.sites ?? 1;
  const seed = o.seed ?? 1;
  const random = mulberry32(seed);
  const clock = new SimClock();
  const config = validateConfig({ node: { dataDir: '/tmp/h3lix-sim-unused', fleet: 'sim' }, ...(o.digestIntervalMs ? { sync: { digestIntervalMs: o.digestIntervalMs } } : {}) });
  const siteIndex = new Map<string, number>();
  const broker = new SimBroker({
    clock,
    random,
    loss: o.loss ?? 0,
    ...(o.dropTopic ? { dropTopic: o.dropTopic } : {}),
    ...(o.latencyMs ? { latencyMs: o.latencyMs } : {}),
    ...(sites > 1 ? { siteOf: (id: string) => siteIndex.get(id) ?? 0, bridgeLatencyMs: o.bridgeLatencyMs ?? 30 } : {}),
  });
  const progress = o.onProgress ?? (() => undefined);
  const heapBefore = process.memoryUsage().heapUsed;
  const nodes: SimNode[] = [];
  for (let i = 0; i < N; i++) {
    const n = new SimNode({ index: i, seed, fleet: 'sim', clock, broker, ccf: config.ccf, sync: config.sync, random, legacy: o.legacy === true });
    siteIndex.set(n.id, i % sites);
    nodes.push(n);
  }
  const dims = o.dims ?? 16;
  const keysPer = o.contributions ?? 6;
  const vec = () => Float32Array.from({ length: dims }, () => random() * 2 - 1);
  const interval = config.sync.digestIntervalMs;

  // Phase 1: everyone starts, connects and contributes.
  for (const n of nodes) {
    void n.sync.start();
    n.connect();
    for (let k = 0; k < keysPer; k++) n.field.contributeLocal(`k${k}`, vec(), 1);
  }
  const target = () => new Map(nodes.map((n) => [n.id, n.field.localVersion()] as const));
  const covered = (want: Map<string, number>, among: SimNode[] = nodes) => among.every((n) => [...want].every(([origin, v]) => n.sync.sync.get(origin) >= v));
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
  const initialConvergeSec = runUntil(() => covered(initial), maxConverge);
  progress(`  ${N} nodes: initial contributions everywhere after ${initialConvergeSec ?? `>${maxConverge}`} s`);

  // Phase 2: steady state with periodic updates.
  const updateMs = (o.updateEverySec ?? 60) * 1000;
  const nextUpdate = nodes.map(() => clock.monotonic() + random() * updateMs);
  // Every node updates, cut-off ones too (their outbox holds the deltas until they reconnect).
  const update = () => {
    const now = clock.monotonic();
    for (let i = 0; i < nodes.length; i++) {
      if (now < nextUpdate[i]!) continue;
      nextUpdate[i] = now + updateMs * (0.5 + random());
      nodes[i]!.field.contributeLocal(`k${Math.floor(random() * keysPer)}`, vec(), 1);
    }
  };
  const snap = () => {
    let sent = 0;
    let received = 0;
    for (const s of broker.traffic.values()) {
      sent += s.sentBytes;
      received += s.receivedBytes;
    }
    return { sent, received, bridge: broker.bridge.bytes };
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
  const finalSec = runUntil(() => new Set(nodes.map((n) => n.field.digest())).size === 1, maxConverge);
  const converged = finalSec !== null;
  const heapAfter = process.memoryUsage().heapUsed;
  for (const n of nodes) void n.sync.stop();
  const sent = after.sent - before.sent;
  const received = after.received - before.received;
  return {
    protocol: o.legacy ? 'legacy' : 'summary',
    nodes: N,
    sites,
    loss: o.loss ?? 0,
    converged,
    initialConvergeSec,
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
  };
}
