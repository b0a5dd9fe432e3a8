/**
 * Child process of bench/fleet-tree.bench.ts: a share of the bench's real daemons (`createDaemon` +
 * `defaultFeatures`, open mode, learning off, embedded broker off), each connected to the Mosquitto
 * the parent names for it. Driven over IPC (`process.send`), one request at a time:
 *   `start` → daemons started, `{ ids }`;  `go` → every daemon contributes `keys` vectors;
 *   `snap` → per daemon: field digest, contributions held, payload bytes sent (outbox pump), connected;
 *   `stop` → daemons stopped, then the process exits. It also exits when the parent goes away.
 * Run by the bench: node --import tsx bench/fleet-tree-child.ts
 */
import { join } from 'node:path';
import { validateConfig } from '../src/config/load.js';
import { createDaemon, type Daemon } from '../src/daemon/daemon.js';
import { defaultFeatures } from '../src/daemon/features.js';

/** One daemon the parent asks for: its global index and the broker it talks to. */
export interface FleetTreeNodeSpec {
  index: number;
  url: string;
}

/** A request from the parent. */
export type FleetTreeRequest =
  | { op: 'start'; root: string; fleet: string; nodes: FleetTreeNodeSpec[]; debounceMs: number; digestIntervalMs: number }
  | { op: 'go'; keys: number; dim: number }
  | { op: 'snap' }
  | { op: 'stop' };

/** One daemon's state in a `snap` answer. */
export interface FleetTreeNodeState {
  digest: string;
  contributions: number;
  bytes: number;
  published: number;
  connected: boolean;
}

/** The child's answer to a request (`op` echoes the request). */
export type FleetTreeReply =
  | { op: 'start'; ids: string[] }
  | { op: 'go' }
  | { op: 'snap'; nodes: FleetTreeNodeState[]; rssMb: number }
  | { op: 'stop' }
  | { op: 'error'; message: string };

/** The vector daemon `index` contributes for key `k`: deterministic, different per node and key. */
export function fleetTreeVector(index: number, k: number, dim: number): Float32Array {
  return Float32Array.from({ length: dim }, (_, i) => Math.sin(index * 7.1 + k * 3.3 + i * 1.3));
}

const daemons: { d: Daemon; index: number }[] = [];

async function handle(req: FleetTreeRequest): Promise<FleetTreeReply> {
  switch (req.op) {
    case 'start':
      for (const n of req.nodes) {
        const config = validateConfig({
          node: { dataDir: join(req.root, `node-${n.index}`), fleet: req.fleet },
          broker: { embedded: { enabled: false }, url: n.url, reconnectMs: 500 },
          instance: { enabled: false },
          sync: { debounceMs: req.debounceMs, digestIntervalMs: req.digestIntervalMs },
          log: { level: 'silent' },
        });
        const d = createDaemon({ config, features: defaultFeatures(config), jitterMs: 300, drainTimeoutMs: 1000 });
        await d.start();
        daemons.push({ d, index: n.index });
      }
      return { op: 'start', ids: daemons.map((x) => x.d.context.nodeId) };
    case 'go':
      for (const { d, index } of daemons) for (let k = 0; k < req.keys; k++) d.context.field.contributeLocal(`k${k}`, fleetTreeVector(index, k, req.dim), 1);
      return { op: 'go' };
    case 'snap':
      return {
        op: 'snap',
        nodes: daemons.map(({ d }) => ({ digest: d.context.field.digest(), contributions: d.context.field.contributions().length, bytes: d.context.pump.stats.bytes, published: d.context.pump.stats.published, connected: d.context.transport.connected })),
        rssMb: process.memoryUsage().rss / 1024 / 1024,
      };
    case 'stop':
      await Promise.all(daemons.map(({ d }) => d.stop('bench finished').catch(() => undefined)));
      return { op: 'stop' };
  }
}

process.on('disconnect', () => process.exit(0));
process.on('message', (req: FleetTreeRequest) => {
  handle(req).then(
    (reply) => {
      process.send!(reply);
      if (req.op === 'stop') process.disconnect();
    },
    (err: unknown) => process.send!({ op: 'error', message: err instanceof Error ? err.message : String(err) } satisfies FleetTreeReply),
  );
});
