import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DaemonProcNodeSpec, DaemonProcNodeState, DaemonProcReply, DaemonProcRequest } from './daemon-proc-child.js';

export type { DaemonProcNodeSpec, DaemonProcNodeState } from './daemon-proc-child.js';

const childEntry = fileURLToPath(new URL('./daemon-proc-child.ts', import.meta.url));

/** One child process of daemons (daemon-proc-child.ts), driven one request at a time over IPC. */
export class DaemonProc {
  private waiting: { resolve: (r: DaemonProcReply) => void; reject: (e: Error) => void } | undefined;

  constructor(readonly proc: ChildProcess) {
    proc.on('message', (r: DaemonProcReply) => {
      const w = this.waiting;
      this.waiting = undefined;
      if (r.op === 'error') w?.reject(new Error(`daemon process: ${r.message}`));
      else w?.resolve(r);
    });
    proc.once('exit', (code) => this.waiting?.reject(new Error(`daemon process exited (${code})`)));
  }

  /** Send one request and resolve with its answer; rejects on an error answer, exit or timeout. */
  call<O extends DaemonProcRequest['op']>(req: DaemonProcRequest & { op: O }, timeoutMs = 120_000): Promise<DaemonProcReply & { op: O }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`daemon process: no answer to ${req.op} in ${timeoutMs} ms`)), timeoutMs);
      this.waiting = {
        resolve: (r) => (clearTimeout(timer), resolve(r as DaemonProcReply & { op: O })),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
      this.proc.send(req);
    });
  }
}

/** What {@link DaemonProcs.start} needs. */
export interface DaemonProcsOptions {
  /** Number of child processes; the nodes are split into contiguous shares. */
  procs: number;
  nodes: DaemonProcNodeSpec[];
  /** Data directories are `<root>/node-<index>`. */
  root: string;
  fleet: string;
  debounceMs: number;
  digestIntervalMs: number;
  /** Extra Node flags for the children (e.g. `--cpu-prof`). */
  nodeFlags?: string[];
  /** Called with each child right after it is forked (so a caller can kill it on any failure). */
  onFork?: (p: DaemonProc) => void;
}

/** A snapshot over every process: per-daemon states in node order, and the processes' RSS summed. */
export interface DaemonProcsSnapshot {
  nodes: DaemonProcNodeState[];
  rssMb: number;
  /** Longest event-loop stall of any process since the previous snapshot, ms. */
  loopMaxMs: number;
}

/**
 * Many real daemons spread over child processes (bench/fleet-tree.bench.ts, test/daemon/fleet-tree.test.ts).
 * `stop()` stops them gracefully and kills what does not exit; `kill()` is the synchronous last resort.
 */
export class DaemonProcs {
  private constructor(readonly procs: DaemonProc[]) {}

  static async start(o: DaemonProcsOptions): Promise<DaemonProcs> {
    const per = Math.ceil(o.nodes.length / o.procs);
    const shares: DaemonProcNodeSpec[][] = [];
    for (let i = 0; i < o.nodes.length; i += per) shares.push(o.nodes.slice(i, i + per));
    const procs = shares.map(() => {
      const p = new DaemonProc(fork(childEntry, [], { execArgv: ['--import', 'tsx', ...(o.nodeFlags ?? [])], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
      o.onFork?.(p);
      return p;
    });
    await Promise.all(procs.map((p, i) => p.call({ op: 'start', root: o.root, fleet: o.fleet, nodes: shares[i]!, debounceMs: o.debounceMs, digestIntervalMs: o.digestIntervalMs }, 300_000)));
    return new DaemonProcs(procs);
  }

  async snap(origins = false): Promise<DaemonProcsSnapshot> {
    const got = await Promise.all(this.procs.map((p) => p.call({ op: 'snap', origins })));
    return { nodes: got.flatMap((g) => g.nodes), rssMb: got.reduce((a, g) => a + g.rssMb, 0), loopMaxMs: Math.max(...got.map((g) => g.loopMaxMs)) };
  }

  /** Every daemon contributes `keys` vectors (daemonProcVector) now. */
  async go(keys: number, dim: number): Promise<void> {
    await Promise.all(this.procs.map((p) => p.call({ op: 'go', keys, dim })));
  }

  /** Poll until every daemon is connected to its broker, or throw after `ms`. */
  async connected(ms: number, pollMs = 250): Promise<DaemonProcsSnapshot> {
    const by = Date.now() + ms;
    for (;;) {
      const s = await this.snap();
      const off = s.nodes.filter((n) => !n.connected).length;
      if (off === 0) return s;
      if (Date.now() > by) throw new Error(`${off} of ${s.nodes.length} daemons not connected after ${ms} ms`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.procs.map((p) => (p.proc.exitCode === null ? p.call({ op: 'stop' }, 20_000).catch(() => undefined) : undefined)));
    await Promise.all(
      this.procs.map((p) =>
        p.proc.exitCode === null && p.proc.signalCode === null
          ? new Promise<void>((res) => {
              const t = setTimeout(() => (p.proc.kill('SIGKILL'), res()), 5000);
              p.proc.once('exit', () => (clearTimeout(t), res()));
            })
          : undefined,
      ),
    );
  }

  kill(): void {
    for (const p of this.procs) if (p.proc.exitCode === null) p.proc.kill('SIGKILL');
  }
}

/**
 * Convergence of a snapshot: `complete` = daemons holding all `expected` contributions with the most
 * common such digest; `digests` = distinct digests over all daemons. Converged when complete is every
 * daemon and there is one digest.
 */
export function tally(nodes: DaemonProcNodeState[], expected: number): { complete: number; digests: number } {
  const counts = new Map<string, number>();
  for (const n of nodes) if (n.contributions === expected) counts.set(n.digest, (counts.get(n.digest) ?? 0) + 1);
  return { complete: Math.max(0, ...counts.values()), digests: new Set(nodes.map((n) => n.digest)).size };
}
