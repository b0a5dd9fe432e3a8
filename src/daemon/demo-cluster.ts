import { H3lixError } from '../errors.js';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import mqtt from 'mqtt';
import { createRng, type Rng } from '../util/prng.js';
import type { Logger } from '../util/logger.js';
import { startBrokerThread, type BrokerThread } from '../sync/broker-thread.js';
import { DemoGroup, type DemoGroupApi, type DemoGroupSnapshot, type DemoGroupSpec } from './demo-group.js';
import { DemoGroupThread } from './demo-group-thread.js';

/**
 * Options of {@link runDemo}.
 * - `nodes`: number of daemons. Default 5.
 * - `brokerUrl`: upstream broker (e.g. Mosquitto); default: start an embedded aedes on port 0, on its own
 *   worker thread (its own event loop, as a gateway board's broker has: see `startBrokerThread`).
 * - `seconds`: hard time limit. Default 20. The scripted phase takes about half of it; the demo ends
 *   as soon as every node agrees after the script, or at the limit.
 * - `keys`: local updates per node. Default 6.
 * - `dim`: vector dimension. Default 16.
 * - `seed`: chaos and data seed. Default 1.
 * - `scriptSeconds`: length of the scripted phase (contributions, partition). Default seconds / 2.
 * - `protocolVersion`: MQTT version of the nodes' connections (4 = 3.1.1, 5). Default 4.
 * - `chaos`: inject duplicates, reordering and a partition. Default true.
 * - `onProgress(line, snapshot)`: called about once a second. Default none.
 * - `logger`: daemons' logger. Default silent. A logger keeps the daemons in this thread.
 * - `threads`: worker threads to spread the daemons over, each with its own event loop (0: all in this
 *   thread). Default: 0 below 16 nodes or with a `logger`, else min(4, available cores). One event
 *   loop running 40 daemons needs more than one core (docs/sync.md "`h3lix demo --nodes 40`").
 */
export interface DemoOptions {
  nodes?: number;
  brokerUrl?: string;
  seconds?: number;
  keys?: number;
  dim?: number;
  seed?: number;
  chaos?: boolean;
  scriptSeconds?: number;
  protocolVersion?: 4 | 5;
  onProgress?: (line: string, snap: DemoSnapshot) => void;
  logger?: Logger;
  threads?: number;
}

export interface DemoSnapshot {
  elapsed: number;
  agreeing: number;
  messages: number;
  bytesSent: number;
  partitioned: string[];
}

/** The demo's result; `--json` prints it. */
export interface DemoResult {
  converged: boolean;
  nodes: number;
  nodeIds: string[];
  digests: string[];
  /** Contributions each node should hold (every node's latest local contribution per key). */
  contributions: number;
  /** Nodes that hold every expected contribution. */
  complete: number;
  bytesSent: number;
  messages: number;
  seconds: number;
  convergedAfterMs: number | null;
  broker: string;
  injected: { duplicates: number; reordered: number; partitioned: string[] };
  rejected: Record<string, number>;
  applied: number;
  antiEntropy: { answers: number; wants: number };
  /** Longest event-loop stall seen during the run, ms (perf_hooks monitorEventLoopDelay, 20 ms resolution). */
  eventLoopMaxDelayMs: number;
  /** CPU time this process used during the run, s (user + system): comparable when the machine is shared. */
  cpuSeconds: number;
  /** Ed25519 signature checks done for origin proofs (per-origin batches), summed over the nodes. */
  originVerifies: number;
  /** Worker threads the daemons ran on (0: all in the calling thread). */
  threads: number;
}

/** Run N daemons in this process and report whether their fields converged. */
export async function runDemo(opts: DemoOptions = {}): Promise<DemoResult> {
  const n = opts.nodes ?? 5;
  const seconds = opts.seconds ?? 20;
  const keys = opts.keys ?? 6;
  const dim = opts.dim ?? 16;
  const chaos = opts.chaos ?? true;
  const seed = opts.seed ?? 1;
  const rng = createRng(seed);
  const threads = Math.min(n, opts.threads ?? (opts.logger || n < 16 ? 0 : Math.min(4, availableParallelism())));
  const fleet = `demo-${process.pid}-${Date.now().toString(36)}`;
  const root = mkdtempSync(join(scratchDir(), 'h3lix-demo-'));
  const loop = monitorEventLoopDelay({ resolution: 20 });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  let broker: BrokerThread | undefined;
  let chaosClient: mqtt.MqttClient | undefined;
  const groups: DemoGroupApi[] = [];
  /** Global node index → its group and index there. */
  const where: { group: DemoGroupApi; local: number }[] = [];
  const nodeIds: string[] = [];
  const pendingTimers = new Set<NodeJS.Timeout>();
  const injected = { duplicates: 0, reordered: 0, partitioned: [] as string[] };
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      pendingTimers.delete(t);
      fn();
    }, ms);
    pendingTimers.add(t);
  };

  try {
    let url = opts.brokerUrl;
    if (!url) {
      broker = await startBrokerThread();
      url = broker.url;
    }
    // The duplicator connects before the daemons: once 40 of them exchange births and digests, a
    // CONNACK on a loaded machine can take longer than its 5 s connect timeout.
    if (chaos) chaosClient = await startDuplicator(url, fleet, rng, injected);
    const parts = Math.max(1, threads);
    for (let g = 0, first = 0; g < parts; g++) {
      const count = Math.floor(n / parts) + (g < n % parts ? 1 : 0);
      const spec: DemoGroupSpec = { first, count, root, fleet, url, protocolVersion: opts.protocolVersion ?? 4, chaos, seed: seed * 1000 + g };
      const group: DemoGroupApi = threads > 0 ? new DemoGroupThread(spec) : new DemoGroup(spec, opts.logger);
      groups.push(group);
      for (let i = 0; i < count; i++) where.push({ group, local: i });
      first += count;
    }
    for (const ids of await Promise.all(groups.map((g) => g.start()))) nodeIds.push(...ids);

    const partition = chaos ? where.slice(0, Math.max(1, Math.floor(n / 3))) : [];
    const script = Math.min(seconds * 0.8, opts.scriptSeconds ?? Math.max(2, seconds * 0.5));
    // Scripted contributions: each node updates `keys` keys (some shared with neighbours, some
    // updated twice) spread over the script window.
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < keys; j++) {
        const at = (0.05 + 0.9 * rng.next()) * script * 1000;
        const key = `concept-${(i + j) % (keys + 2)}`;
        const vector = [...randomVector(rng, dim)];
        const { group, local } = where[i]!;
        later(at, () => group.contribute({ node: local, key, vector, weight: 1 + j }));
      }
    }
    const setOnline = (online: boolean) => {
      for (const g of groups) g.setOnline(partition.filter((p) => p.group === g).map((p) => p.local), online);
    };
    if (partition.length) {
      later(script * 0.25 * 1000, () => {
        setOnline(false);
        injected.partitioned = partition.map((_, i) => nodeIds[i]!);
      });
      later(script * 0.65 * 1000, () => setOnline(true));
    }

    let convergedAt: number | null = null;
    let lastTick = 0;
    let expected: [string, number][] = [];
    let snap: DemoGroupSnapshot;
    for (;;) {
      await new Promise((r) => setTimeout(r, 100));
      const t = elapsed();
      snap = await snapshotAll(groups, expected);
      expected = snap.own;
      const afterScript = t > script;
      const agree = agreement(snap.digests);
      if (afterScript && agree.all && snap.complete === n) {
        convergedAt = Math.round(t * 1000);
        break;
      }
      if (t - lastTick >= 1 || t >= seconds) {
        lastTick = t;
        const part = snap.offline.length ? `, offline: ${snap.offline.length}` : '';
        opts.onProgress?.(`t=${t.toFixed(0).padStart(3)}s  digests agreeing ${agree.largest}/${n}  messages ${snap.published}  sent ${(snap.bytes / 1024).toFixed(1)} KiB${part}`, {
          elapsed: t,
          agreeing: agree.largest,
          messages: snap.published,
          bytesSent: snap.bytes,
          partitioned: snap.offline,
        });
      }
      if (t >= seconds) break;
    }
    // the last snapshot counted `complete` against the previous expected set: count again against its own
    if (convergedAt === null) snap = await snapshotAll(groups, snap.own);
    return {
      converged: convergedAt !== null && agreement(snap.digests).all && snap.complete === n,
      nodes: n,
      nodeIds,
      digests: snap.digests,
      contributions: snap.own.length,
      complete: snap.complete,
      bytesSent: snap.bytes,
      messages: snap.published,
      seconds: Math.round(elapsed() * 10) / 10,
      convergedAfterMs: convergedAt,
      broker: opts.brokerUrl ? opts.brokerUrl : `embedded ${url}`,
      injected: { ...injected, reordered: snap.reordered },
      rejected: snap.rejected,
      applied: snap.applied,
      antiEntropy: { answers: snap.answers, wants: snap.wants },
      eventLoopMaxDelayMs: Math.max(Math.round(loop.max / 1e6), snap.eventLoopMaxDelayMs),
      cpuSeconds: cpuSince(cpu0),
      originVerifies: snap.originVerifies,
      threads,
    };
  } finally {
    loop.disable();
    for (const t of pendingTimers) clearTimeout(t);
    await chaosClient?.endAsync(true).catch(() => undefined);
    await Promise.all(groups.map((g) => g.stop().catch(() => undefined)));
    await broker?.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

/** The groups' snapshots in node order, summed. */
async function snapshotAll(groups: DemoGroupApi[], expected: [string, number][]): Promise<DemoGroupSnapshot> {
  const all = await Promise.all(groups.map((g) => g.snapshot(expected)));
  const out: DemoGroupSnapshot = { digests: [], own: [], complete: 0, offline: [], published: 0, bytes: 0, applied: 0, answers: 0, wants: 0, originVerifies: 0, reordered: 0, rejected: {}, eventLoopMaxDelayMs: 0 };
  for (const s of all) {
    out.digests.push(...s.digests);
    out.own.push(...s.own);
    out.offline.push(...s.offline);
    for (const k of ['complete', 'published', 'bytes', 'applied', 'answers', 'wants', 'originVerifies', 'reordered'] as const) out[k] += s[k];
    for (const [code, k] of Object.entries(s.rejected)) out.rejected[code] = (out.rejected[code] ?? 0) + k;
    out.eventLoopMaxDelayMs = Math.max(out.eventLoopMaxDelayMs, s.eventLoopMaxDelayMs);
  }
  return out;
}

/**
 * Where the simulated nodes keep their data: tmpfs (/dev/shm) when present. N nodes in one process
 * share one event loop, and every durable commit is an fsync (synchronous=FULL, ~5 ms on a disk):
 * 50 nodes would serialize on them. A real board runs one node per disk.
 */
export function scratchDir(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

/** Duplicates: a separate client re-publishes ~25% of the raw delta envelopes it sees. */
async function startDuplicator(url: string, fleet: string, rng: Rng, injected: { duplicates: number }): Promise<mqtt.MqttClient> {
  let c: mqtt.MqttClient;
  try {
    c = await mqtt.connectAsync(url, { clientId: `h3lix-demo-chaos-${process.pid}`, reconnectPeriod: 200, connectTimeout: 5000 });
  } catch (err) {
    // exit 69 (unavailable) with the reason, not a raw ECONNREFUSED stack (issue 9 section 8)
    throw new H3lixError('BROKER_UNAVAILABLE', `cannot connect to the broker ${url}: ${(err as Error).message}`, { cause: err, retryable: true });
  }
  c.on('message', (topic, payload) => {
    if (rng.next() < 0.25) {
      injected.duplicates++;
      c.publish(topic, payload, { qos: 1 });
    }
  });
  await c.subscribeAsync(`h3lix/v1/${fleet}/ccf/delta/+`, { qos: 1 });
  return c;
}

function cpuSince(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return Math.round((d.user + d.system) / 1e4) / 100;
}

function randomVector(rng: Rng, dim: number): Float32Array {
  const v = new Float32Array(dim);
  for (let i = 0; i < dim; i++) v[i] = rng.normal();
  return v;
}

function agreement(digests: string[]): { all: boolean; largest: number } {
  const counts = new Map<string, number>();
  for (const d of digests) counts.set(d, (counts.get(d) ?? 0) + 1);
  return { all: counts.size === 1, largest: Math.max(...counts.values()) };
}
