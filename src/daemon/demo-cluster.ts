import { H3lixError } from '../errors.js';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import mqtt from 'mqtt';
import { validateConfig } from '../config/load.js';
import { createRng, type Rng } from '../util/prng.js';
import type { Logger } from '../util/logger.js';
import { silentLogger } from '../util/logger.js';
import { EmbeddedBroker } from '../sync/embedded-broker.js';
import { createDaemon, type Daemon } from './daemon.js';
import { plugOnly, type InboundFilter } from './core-plug.js';

/**
 * Options of {@link runDemo}.
 * - `nodes`: number of daemons. Default 5.
 * - `brokerUrl`: upstream broker (e.g. Mosquitto); default: start an embedded aedes on port 0.
 * - `seconds`: hard time limit. Default 20. The scripted phase takes about half of it; the demo ends
 *   as soon as every node agrees after the script, or at the limit.
 * - `keys`: local updates per node. Default 6.
 * - `dim`: vector dimension. Default 16.
 * - `seed`: chaos and data seed. Default 1.
 * - `scriptSeconds`: length of the scripted phase (contributions, partition). Default seconds / 2.
 * - `protocolVersion`: MQTT version of the nodes' connections (4 = 3.1.1, 5). Default 4.
 * - `chaos`: inject duplicates, reordering and a partition. Default true.
 * - `onProgress(line, snapshot)`: called about once a second. Default none.
 * - `logger`: daemons' logger. Default silent.
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
}

interface Node {
  daemon: Daemon;
  id: string;
}

/** Run N daemons in this process and report whether their fields converged. */
export async function runDemo(opts: DemoOptions = {}): Promise<DemoResult> {
  const n = opts.nodes ?? 5;
  const seconds = opts.seconds ?? 20;
  const keys = opts.keys ?? 6;
  const dim = opts.dim ?? 16;
  const chaos = opts.chaos ?? true;
  const rng = createRng(opts.seed ?? 1);
  const fleet = `demo-${process.pid}-${Date.now().toString(36)}`;
  const root = mkdtempSync(join(scratchDir(), 'h3lix-demo-'));
  const loop = monitorEventLoopDelay({ resolution: 20 });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  let broker: EmbeddedBroker | undefined;
  let chaosClient: mqtt.MqttClient | undefined;
  const nodes: Node[] = [];
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
      broker = new EmbeddedBroker({ port: 0 });
      await broker.start();
      url = broker.url;
    }
    // Reordering: some deltas reach a node late (after newer ones from the same sender).
    const reorder: InboundFilter = (topic, payload, deliver) => {
      if (chaos && topic.includes('/ccf/delta/') && rng.next() < 0.2) {
        injected.reordered++;
        later(50 + rng.int(400), () => deliver(topic, payload));
      } else deliver(topic, payload);
    };
    // The duplicator connects before the daemons: once 40 of them exchange births and digests, a
    // CONNACK on a loaded machine can take longer than its 5 s connect timeout.
    if (chaos) chaosClient = await startDuplicator(url, fleet, rng, injected);
    for (let i = 0; i < n; i++) {
      const config = validateConfig({
        node: { dataDir: join(root, `node-${i}`), fleet },
        broker: { embedded: { enabled: false }, url, reconnectMs: 200, protocolVersion: opts.protocolVersion ?? 4 },
        sync: { debounceMs: 100, digestIntervalMs: 3000 },
        log: { level: 'silent' },
      });
      const daemon = createDaemon({ config, logger: opts.logger ?? silentLogger(), features: [plugOnly({ name: 'demo-reorder', inbound: reorder })], jitterMs: 300, drainTimeoutMs: 1000, random: () => rng.next() });
      await daemon.start();
      nodes.push({ daemon, id: daemon.context.nodeId });
    }

    const partition = chaos ? nodes.slice(0, Math.max(1, Math.floor(n / 3))) : [];
    const script = Math.min(seconds * 0.8, opts.scriptSeconds ?? Math.max(2, seconds * 0.5));
    // Scripted contributions: each node updates `keys` keys (some shared with neighbours, some
    // updated twice) spread over the script window.
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < keys; j++) {
        const at = (0.05 + 0.9 * rng.next()) * script * 1000;
        const key = `concept-${(i + j) % (keys + 2)}`;
        const vec = randomVector(rng, dim);
        later(at, () => {
          const f = nodes[i]!.daemon.context.field;
          f.contributeLocal(key, vec, 1 + j);
        });
      }
    }
    if (partition.length) {
      later(script * 0.25 * 1000, () => {
        for (const p of partition) p.daemon.context.transport.suspend();
        injected.partitioned = partition.map((p) => p.id);
      });
      later(script * 0.65 * 1000, () => {
        for (const p of partition) p.daemon.context.transport.resume();
      });
    }

    let convergedAt: number | null = null;
    let lastTick = 0;
    for (;;) {
      await new Promise((r) => setTimeout(r, 50));
      const t = elapsed();
      const afterScript = t > script;
      const agree = agreement(nodes);
      if (afterScript && agree.all && complete(nodes) === n) {
        convergedAt = Math.round(t * 1000);
        break;
      }
      if (t - lastTick >= 1 || t >= seconds) {
        lastTick = t;
        const snap: DemoSnapshot = {
          elapsed: t,
          agreeing: agree.largest,
          messages: sum(nodes, (x) => x.daemon.context.pump.stats.published),
          bytesSent: sum(nodes, (x) => x.daemon.context.pump.stats.bytes),
          partitioned: nodes.filter((x) => !x.daemon.context.transport.connected).map((x) => x.id),
        };
        const part = snap.partitioned.length ? `, offline: ${snap.partitioned.length}` : '';
        opts.onProgress?.(`t=${t.toFixed(0).padStart(3)}s  digests agreeing ${snap.agreeing}/${n}  messages ${snap.messages}  sent ${(snap.bytesSent / 1024).toFixed(1)} KiB${part}`, snap);
      }
      if (t >= seconds) break;
    }

    const digests = nodes.map((x) => x.daemon.context.field.digest());
    const rejected: Record<string, number> = {};
    for (const x of nodes) for (const [code, k] of Object.entries(x.daemon.context.sync.counters.rejected)) rejected[code] = (rejected[code] ?? 0) + (k ?? 0);
    const cmp = complete(nodes);
    return {
      converged: convergedAt !== null && digests.every((d) => d === digests[0]) && cmp === n,
      nodes: n,
      nodeIds: nodes.map((x) => x.id),
      digests,
      contributions: expected(nodes).size,
      complete: cmp,
      bytesSent: sum(nodes, (x) => x.daemon.context.pump.stats.bytes),
      messages: sum(nodes, (x) => x.daemon.context.pump.stats.published),
      seconds: Math.round(elapsed() * 10) / 10,
      convergedAfterMs: convergedAt,
      broker: opts.brokerUrl ? opts.brokerUrl : `embedded ${url}`,
      injected,
      rejected,
      applied: sum(nodes, (x) => x.daemon.context.sync.counters.applied),
      antiEntropy: {
        answers: sum(nodes, (x) => x.daemon.context.sync.antiEntropy.answers),
        wants: sum(nodes, (x) => x.daemon.context.sync.antiEntropy.wants),
      },
      eventLoopMaxDelayMs: Math.round(loop.max / 1e6),
      cpuSeconds: cpuSince(cpu0),
      originVerifies: sum(nodes, (x) => x.daemon.context.sync.originProofs.stats.verified),
    };
  } finally {
    loop.disable();
    for (const t of pendingTimers) clearTimeout(t);
    await chaosClient?.endAsync(true).catch(() => undefined);
    await Promise.all(nodes.map((x) => x.daemon.stop('demo finished').catch(() => undefined)));
    await broker?.stop();
    rmSync(root, { recursive: true, force: true });
  }
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

function sum(nodes: Node[], f: (n: Node) => number): number {
  return nodes.reduce((a, n) => a + f(n), 0);
}

function agreement(nodes: Node[]): { all: boolean; largest: number } {
  const counts = new Map<string, number>();
  for (const x of nodes) {
    const d = x.daemon.context.field.digest();
    counts.set(d, (counts.get(d) ?? 0) + 1);
  }
  return { all: counts.size === 1, largest: Math.max(...counts.values()) };
}

/** (origin/key) → version of every node's own latest contribution: what everybody must hold. */
function expected(nodes: Node[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const x of nodes) {
    const f = x.daemon.context.field;
    for (const c of f.contributions()) if (c.origin === x.id) out.set(`${c.origin}\u0000${c.key}`, c.version);
  }
  return out;
}

function complete(nodes: Node[]): number {
  const want = expected(nodes);
  let ok = 0;
  for (const x of nodes) {
    const f = x.daemon.context.field;
    let all = true;
    for (const [slot, v] of want) {
      const [origin, key] = slot.split('\u0000') as [string, string];
      if (f.get(origin, key)?.version !== v) {
        all = false;
        break;
      }
    }
    if (all) ok++;
  }
  return ok;
}
