/**
 * Child process of test/helpers/daemon-procs.ts (bench/fleet-tree.bench.ts, test/daemon/fleet-tree.test.ts):
 * a share of many real daemons (`createDaemon` + `defaultFeatures`, open mode, learning off, embedded
 * broker off), each connected to the Mosquitto the parent names for it. Driven over IPC
 * (`process.send`), one request at a time:
 *   `start` → daemons started, `{ ids }`;  `go` → every daemon contributes `keys` vectors;
 *   `snap` → per daemon: field digest, origins and contributions held, payload bytes sent (outbox pump),
 *   connected, when its field last changed; and the longest event-loop stall since the last `snap`; `stop` → daemons stopped, then the process exits. It also exits when the parent goes away.
 * Run by daemon-procs.ts: node --import tsx test/helpers/daemon-proc-child.ts
 */
import { join } from 'node:path';
import { validateConfig } from '../../src/config/load.js';
import { createDaemon, type Daemon } from '../../src/daemon/daemon.js';
import { defaultFeatures } from '../../src/daemon/features.js';

/** One daemon the parent asks for: its global index and the broker it talks to. */
export interface DaemonProcNodeSpec {
  index: number;
  url: string;
}

/** A request from the parent. */
export type DaemonProcRequest =
  | { op: 'start'; root: string; fleet: string; nodes: DaemonProcNodeSpec[]; debounceMs: number; digestIntervalMs: number }
  | { op: 'go'; keys: number; dim: number }
  | { op: 'snap'; origins?: boolean }
  | { op: 'stop' };

/** One daemon's state in a `snap` answer. */
export interface DaemonProcNodeState {
  index: number;
  id: string;
  digest: string;
  /** The origins held, when the `snap` asked for them. */
  origins?: string[];
  contributions: number;
  bytes: number;
  published: number;
  connected: boolean;
  /** Wall-clock ms (Date.now) of the field's last change: when this daemon reached its digest. */
  changedAt: number;
}

/** The child's answer to a request (`op` echoes the request). */
export type DaemonProcReply =
  | { op: 'start'; ids: string[] }
  | { op: 'go' }
  | { op: 'snap'; nodes: DaemonProcNodeState[]; rssMb: number; loopMaxMs: number }
  | { op: 'stop' }
  | { op: 'error'; message: string };

/** The vector daemon `index` contributes for key `k`: deterministic, different per node and key. */
export function daemonProcVector(index: number, k: number, dim: number): Float32Array {
  return Float32Array.from({ length: dim }, (_, i) => Math.sin(index * 7.1 + k * 3.3 + i * 1.3));
}

const daemons: { d: Daemon; index: number; changedAt: number }[] = [];
// the longest lateness of a 50 ms interval since the last `snap`: how long the event loop stalled
const TICK_MS = 50;
let lastTick = performance.now();
let maxLagMs = 0;
setInterval(() => {
  const now = performance.now();
  maxLagMs = Math.max(maxLagMs, now - lastTick - TICK_MS);
  lastTick = now;
}, TICK_MS).unref();

async function handle(req: DaemonProcRequest): Promise<DaemonProcReply> {
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
        const entry = { d, index: n.index, changedAt: Date.now() };
        d.context.field.onChange(() => (entry.changedAt = Date.now()));
        daemons.push(entry);
      }
      return { op: 'start', ids: daemons.map((x) => x.d.context.nodeId) };
    case 'go':
      for (const { d, index } of daemons) for (let k = 0; k < req.keys; k++) d.context.field.contributeLocal(`k${k}`, daemonProcVector(index, k, req.dim), 1);
      return { op: 'go' };
    case 'snap': {
      const loopMaxMs = Math.max(maxLagMs, performance.now() - lastTick - TICK_MS);
      maxLagMs = 0;
      return {
        op: 'snap',
        nodes: daemons.map(({ d, index, changedAt }) => ({ index, changedAt, id: d.context.nodeId, digest: d.context.field.digest(), ...(req.origins ? { origins: d.context.field.origins() } : {}), contributions: d.context.field.contributions().length, bytes: d.context.pump.stats.bytes, published: d.context.pump.stats.published, connected: d.context.transport.connected })),
        rssMb: process.memoryUsage().rss / 1024 / 1024,
        loopMaxMs,
      };
    }
    case 'stop':
      await Promise.all(daemons.map(({ d }) => d.stop('bench finished').catch(() => undefined)));
      return { op: 'stop' };
  }
}

process.on('disconnect', () => process.exit(0));
process.on('message', (req: DaemonProcRequest) => {
  handle(req).then(
    (reply) => {
      process.send!(reply);
      if (req.op === 'stop') process.disconnect();
    },
    (err: unknown) => process.send!({ op: 'error', message: err instanceof Error ? err.message : String(err) } satisfies DaemonProcReply),
  );
});
