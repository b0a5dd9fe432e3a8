import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { validateConfig } from '../config/load.js';
import { createRng } from '../util/prng.js';
import type { Logger } from '../util/logger.js';
import { silentLogger } from '../util/logger.js';
import { createDaemon, type Daemon } from './daemon.js';
import { plugOnly, type InboundFilter } from './core-plug.js';

/** How a group of the demo's daemons is made: the same for every group of one run. */
export interface DemoGroupSpec {
  /** Global index of this group's first node: data directories are `node-<index>`. */
  first: number;
  count: number;
  root: string;
  fleet: string;
  url: string;
  protocolVersion: 4 | 5;
  chaos: boolean;
  /** Seed of this group's reordering. */
  seed: number;
}

/** One contribution the demo's script asks a node to make. */
export interface DemoContribution {
  node: number;
  key: string;
  vector: number[];
  weight: number;
}

/** A group's state, summed or listed over its nodes. */
export interface DemoGroupSnapshot {
  digests: string[];
  /** `origin\0key` → version of each node's own latest contribution (what everybody must hold). */
  own: [string, number][];
  /** Nodes holding every slot of the `expected` list the snapshot was asked with. */
  complete: number;
  offline: string[];
  published: number;
  bytes: number;
  applied: number;
  answers: number;
  wants: number;
  originVerifies: number;
  reordered: number;
  rejected: Record<string, number>;
  /** Longest event-loop stall of the thread the group runs on, ms. */
  eventLoopMaxDelayMs: number;
}

/** What the demo needs of a group of daemons, in this thread or another (`demo-group-thread.ts`). */
export interface DemoGroupApi {
  start(): Promise<string[]>;
  contribute(c: DemoContribution): void;
  setOnline(nodes: number[], online: boolean): void;
  snapshot(expected: [string, number][]): Promise<DemoGroupSnapshot>;
  stop(): Promise<void>;
}

/** Daemons of the demo running in the current thread. `node` numbers are local (0..count-1). */
export class DemoGroup implements DemoGroupApi {
  private readonly daemons: Daemon[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly loop = monitorEventLoopDelay({ resolution: 20 });
  private reordered = 0;

  constructor(
    private readonly spec: DemoGroupSpec,
    private readonly logger: Logger = silentLogger(),
  ) {}

  async start(): Promise<string[]> {
    this.loop.enable();
    const s = this.spec;
    const rng = createRng(s.seed);
    // Reordering: some deltas reach a node late (after newer ones from the same sender).
    const reorder: InboundFilter = (topic, payload, deliver) => {
      if (s.chaos && topic.includes('/ccf/delta/') && rng.next() < 0.2) {
        this.reordered++;
        const t = setTimeout(() => {
          this.timers.delete(t);
          deliver(topic, payload);
        }, 50 + rng.int(400));
        this.timers.add(t);
      } else deliver(topic, payload);
    };
    for (let i = 0; i < s.count; i++) {
      const config = validateConfig({
        node: { dataDir: join(s.root, `node-${s.first + i}`), fleet: s.fleet },
        broker: { embedded: { enabled: false }, url: s.url, reconnectMs: 200, protocolVersion: s.protocolVersion },
        sync: { debounceMs: 100, digestIntervalMs: 3000 },
        log: { level: 'silent' },
      });
      const daemon = createDaemon({ config, logger: this.logger, features: [plugOnly({ name: 'demo-reorder', inbound: reorder })], jitterMs: 300, drainTimeoutMs: 1000, random: () => rng.next() });
      await daemon.start();
      this.daemons.push(daemon);
    }
    return this.daemons.map((d) => d.context.nodeId);
  }

  contribute(c: DemoContribution): void {
    this.daemons[c.node]?.context.field.contributeLocal(c.key, Float32Array.from(c.vector), c.weight);
  }

  setOnline(nodes: number[], online: boolean): void {
    for (const i of nodes) {
      const t = this.daemons[i]?.context.transport;
      if (online) t?.resume();
      else t?.suspend();
    }
  }

  snapshot(expected: [string, number][]): Promise<DemoGroupSnapshot> {
    const sum = (f: (d: Daemon) => number) => this.daemons.reduce((a, d) => a + f(d), 0);
    const own: [string, number][] = [];
    const rejected: Record<string, number> = {};
    let complete = 0;
    for (const d of this.daemons) {
      const f = d.context.field;
      for (const c of f.contributions()) if (c.origin === d.context.nodeId) own.push([`${c.origin}\u0000${c.key}`, c.version]);
      if (expected.every(([slot, v]) => f.get(...(slot.split('\u0000') as [string, string]))?.version === v)) complete++;
      for (const [code, k] of Object.entries(d.context.sync.counters.rejected)) rejected[code] = (rejected[code] ?? 0) + (k ?? 0);
    }
    return Promise.resolve({
      digests: this.daemons.map((d) => d.context.field.digest()),
      own,
      complete,
      offline: this.daemons.filter((d) => !d.context.transport.connected).map((d) => d.context.nodeId),
      published: sum((d) => d.context.pump.stats.published),
      bytes: sum((d) => d.context.pump.stats.bytes),
      applied: sum((d) => d.context.sync.counters.applied),
      answers: sum((d) => d.context.sync.antiEntropy.answers),
      wants: sum((d) => d.context.sync.antiEntropy.wants),
      originVerifies: sum((d) => d.context.sync.originProofs.stats.verified),
      reordered: this.reordered,
      rejected,
      eventLoopMaxDelayMs: Math.round(this.loop.max / 1e6),
    });
  }

  async stop(): Promise<void> {
    this.loop.disable();
    for (const t of this.timers) clearTimeout(t);
    await Promise.all(this.daemons.map((d) => d.stop('demo finished').catch(() => undefined)));
  }
}
