/**
 * Real daemons at scale over a bridged Mosquitto tree (issue 10 item 4, docs/sync.md "Real daemons
 * over a Mosquitto tree"). Run: `npx tsx bench/run.ts fleet-tree`
 *
 * Layout "tree": one fleet (root) Mosquitto and S site Mosquittos, each site bridged to the root with
 * the plain lines `h3lix fleet bridge` writes (`mosquittoBridgeConf`: the whole fleet tree both ways),
 * so every daemon ends holding every origin. N real daemons (`createDaemon` + `defaultFeatures`, open
 * mode, learning off, embedded broker off) in P child processes (bench/fleet-tree-child.ts); daemon i
 * talks to site i mod S. Once all are connected, each contributes KEYS vectors; the clock starts then.
 * Converged = every daemon holds all N x KEYS contributions and all N show the same field digest.
 * Baseline, same run, same processes and contributions: all N daemons on ONE flat Mosquitto.
 *
 * Reported: time to converge, payload bytes each daemon sent from the contributions to convergence
 * (outbox pump: deltas, digests, wants, answers; mean per node), wire bytes through the root broker
 * (the bridges' traffic) and over all brokers (Mosquitto `$SYS/broker/bytes/*`, `sys_interval 1`: read
 * at the second update after the clock starts and after convergence, so they cover up to ~2 s more),
 * and the 1-minute load average before and after.
 *
 * Knobs: H3LIX_BENCH_FLEET_NODES (200), _PROCS (4), _SITES (4), _TIMEOUT_S (240), _KEYS (2), _DIM (16),
 * _DIGEST_MS (sync.digestIntervalMs, 3000), _DEBOUNCE_MS (sync.debounceMs, 100), _LAYOUTS ("tree,flat").
 * Progress on stderr. Every child and Mosquitto is killed on exit and on error; temp dirs are removed.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { scratchDir } from '../src/daemon/demo-cluster.js';
import { mosquittoBridgeConf } from '../src/fleet/bridge.js';
import { startMosquitto, MOSQUITTO_BIN, type MosquittoHandle } from '../test/helpers/mosquitto.js';
import type { FleetTreeNodeState, FleetTreeReply, FleetTreeRequest } from './fleet-tree-child.js';
import type { BenchRow } from './row.js';

const env = (name: string, dflt: number): number => Number(process.env[`H3LIX_BENCH_FLEET_${name}`] ?? dflt);
const N = env('NODES', 200);
const P = env('PROCS', 4);
const S = env('SITES', 4);
const TIMEOUT_MS = env('TIMEOUT_S', 240) * 1000;
const KEYS = env('KEYS', 2);
const DIM = env('DIM', 16);
const DIGEST_MS = env('DIGEST_MS', 3000);
const DEBOUNCE_MS = env('DEBOUNCE_MS', 100);
const LAYOUTS = (process.env.H3LIX_BENCH_FLEET_LAYOUTS ?? 'tree,flat').split(',');
const POLL_MS = 250;
const childEntry = fileURLToPath(new URL('./fleet-tree-child.ts', import.meta.url));

const load1 = (): number => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
const log = (msg: string): void => void process.stderr.write(`bench fleet-tree: ${msg}\n`);

/** One child process of daemons, driven one request at a time over IPC. */
class Child {
  private waiting: { resolve: (r: FleetTreeReply) => void; reject: (e: Error) => void } | undefined;

  constructor(readonly proc: ChildProcess) {
    proc.on('message', (r: FleetTreeReply) => {
      const w = this.waiting;
      this.waiting = undefined;
      if (r.op === 'error') w?.reject(new Error(`fleet-tree child: ${r.message}`));
      else w?.resolve(r);
    });
    proc.once('exit', (code) => this.waiting?.reject(new Error(`fleet-tree child exited (${code})`)));
  }

  call<O extends FleetTreeRequest['op']>(req: FleetTreeRequest & { op: O }, timeoutMs = 120_000): Promise<FleetTreeReply & { op: O }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`fleet-tree child: no answer to ${req.op} in ${timeoutMs} ms`)), timeoutMs);
      this.waiting = {
        resolve: (r) => (clearTimeout(timer), resolve(r as FleetTreeReply & { op: O })),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
      this.proc.send(req);
    });
  }
}

/** Everything a run started, killed and removed by {@link cleanup} (also on exit and on signals). */
interface Resources {
  children: Child[];
  brokers: MosquittoHandle[];
  monitors: mqtt.MqttClient[];
  dirs: string[];
}

function killNow(r: Resources): void {
  for (const c of r.children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
  for (const b of r.brokers) if (b.process.exitCode === null) b.process.kill('SIGKILL');
  for (const d of r.dirs) rmSync(d, { recursive: true, force: true });
}

async function cleanup(r: Resources): Promise<void> {
  for (const m of r.monitors) m.end(true);
  await Promise.all(r.children.map((c) => (c.proc.exitCode === null ? c.call({ op: 'stop' }, 20_000).catch(() => undefined) : undefined)));
  await Promise.all(r.children.map((c) => (c.proc.exitCode === null ? new Promise((res) => (c.proc.once('exit', res), setTimeout(() => (c.proc.kill('SIGKILL'), res(undefined)), 5000))) : undefined)));
  await Promise.all(r.brokers.map((b) => b.stop()));
  for (const b of r.brokers) r.dirs.push(b.dir);
  killNow(r);
}

/** Latest `$SYS/broker/bytes/{sent,received}` of one broker; `updates` counts the `sent` messages. */
interface SysBytes {
  sent: number;
  received: number;
  updates: number;
}

async function sysBytes(r: Resources, b: MosquittoHandle): Promise<SysBytes> {
  const v: SysBytes = { sent: 0, received: 0, updates: 0 };
  const m = await mqtt.connectAsync(b.url, { clientId: `h3lix-bench-sys-${b.port}`, reconnectPeriod: 0 });
  r.monitors.push(m);
  m.on('message', (topic, payload) => {
    if (topic.endsWith('/sent')) {
      v.sent = Number(payload.toString());
      v.updates++;
    } else v.received = Number(payload.toString());
  });
  await m.subscribeAsync(['$SYS/broker/bytes/sent', '$SYS/broker/bytes/received']);
  return v;
}

/** Wait until every broker published its byte counters again (`sys_interval 1`: about 1 s). */
async function freshSys(all: SysBytes[]): Promise<void> {
  const seen = all.map((v) => v.updates);
  const by = performance.now() + 5000;
  while (all.some((v, i) => v.updates < seen[i]! + 2) && performance.now() < by) await new Promise((res) => setTimeout(res, 50));
}

interface Measured {
  layout: string;
  converged: boolean;
  ms: number;
  complete: number;
  digests: number;
  bytesPerNode: number;
  rootBytesPerNode?: number;
  brokerSentPerNode: number;
  startMs: number;
  loadBefore: number;
  loadAfter: number;
  rssMb: number;
}

async function brokers(r: Resources, layout: string, fleet: string): Promise<{ root: MosquittoHandle; sites: MosquittoHandle[] }> {
  const start = async (lines: string[]): Promise<MosquittoHandle> => {
    const b = (await startMosquitto(['sys_interval 1', 'max_queued_messages 100000', ...lines]))!;
    r.brokers.push(b);
    return b;
  };
  const root = await start([]);
  if (layout === 'flat') return { root, sites: [root] };
  const sites: MosquittoHandle[] = [];
  for (let s = 0; s < S; s++) sites.push(await start(mosquittoBridgeConf({ fleet, site: `s${s}`, remoteHost: '127.0.0.1', remotePort: root.port }).filter((l) => l && !l.startsWith('#'))));
  return { root, sites };
}

async function snapAll(children: Child[]): Promise<{ nodes: FleetTreeNodeState[]; rssMb: number }> {
  const got = await Promise.all(children.map((c) => c.call({ op: 'snap' })));
  return { nodes: got.flatMap((g) => g.nodes), rssMb: got.reduce((a, g) => a + g.rssMb, 0) };
}

/** Nodes holding every contribution with the most common digest, and how many digests there are. */
function tally(nodes: FleetTreeNodeState[]): { complete: number; digests: number } {
  const counts = new Map<string, number>();
  for (const n of nodes) if (n.contributions === N * KEYS) counts.set(n.digest, (counts.get(n.digest) ?? 0) + 1);
  return { complete: Math.max(0, ...counts.values()), digests: new Set(nodes.map((n) => n.digest)).size };
}

async function measure(layout: string): Promise<Measured> {
  const fleet = `ft${layout}${Date.now().toString(36)}`;
  const r: Resources = { children: [], brokers: [], monitors: [], dirs: [] };
  const onExit = () => killNow(r);
  const onSignal = () => (killNow(r), process.exit(130));
  process.once('exit', onExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const root = mkdtempSync(join(scratchDir(), 'h3lix-fleet-tree-'));
    r.dirs.push(root);
    const { root: rootBroker, sites } = await brokers(r, layout, fleet);
    const sys = await Promise.all(sites.map((b) => sysBytes(r, b)));
    const rootSys = layout === 'tree' ? await sysBytes(r, rootBroker) : undefined;
    const loadBefore = load1();
    const t0 = performance.now();
    const per = Math.ceil(N / P);
    for (let p = 0; p < P && p * per < N; p++) {
      const proc = fork(childEntry, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      r.children.push(new Child(proc));
    }
    await Promise.all(
      r.children.map((c, p) => {
        const nodes = Array.from({ length: Math.min(per, N - p * per) }, (_, j) => p * per + j).map((index) => ({ index, url: sites[index % sites.length]!.url }));
        return c.call({ op: 'start', root, fleet, nodes, debounceMs: DEBOUNCE_MS, digestIntervalMs: DIGEST_MS }, 300_000);
      }),
    );
    // every daemon connected (births exchanged) before anybody contributes
    const connectBy = performance.now() + 60_000;
    let snap = await snapAll(r.children);
    while (!snap.nodes.every((n) => n.connected)) {
      if (performance.now() > connectBy) throw new Error(`${layout}: ${snap.nodes.filter((n) => !n.connected).length} of ${N} daemons not connected after 60 s`);
      await new Promise((res) => setTimeout(res, POLL_MS));
      snap = await snapAll(r.children);
    }
    const startMs = performance.now() - t0;
    log(`${layout}: ${N} daemons in ${r.children.length} processes connected to ${sites.length} broker(s) in ${(startMs / 1000).toFixed(1)} s (load ${load1()})`);
    await freshSys([...sys, ...(rootSys ? [rootSys] : [])]);
    const bytes0 = snap.nodes.map((n) => n.bytes);
    const sys0 = sys.map((v) => v.sent);
    const root0 = rootSys ? { sent: rootSys.sent, received: rootSys.received } : undefined;
    await Promise.all(r.children.map((c) => c.call({ op: 'go', keys: KEYS, dim: DIM })));
    const g0 = performance.now();
    let lastLog = g0;
    let t = tally(snap.nodes);
    for (;;) {
      snap = await snapAll(r.children);
      t = tally(snap.nodes);
      if ((t.complete === N && t.digests === 1) || performance.now() - g0 > TIMEOUT_MS) break;
      if (performance.now() - lastLog > 5000) {
        lastLog = performance.now();
        log(`${layout}: ${((lastLog - g0) / 1000).toFixed(0)} s: ${t.complete}/${N} complete with the common digest, ${t.digests} distinct digests, load ${load1()}`);
      }
      await new Promise((res) => setTimeout(res, POLL_MS));
    }
    const ms = performance.now() - g0;
    const converged = t.complete === N && t.digests === 1;
    await freshSys([...sys, ...(rootSys ? [rootSys] : [])]); // broker counters: up to ~2 s after convergence
    const sent = snap.nodes.reduce((a, n, i) => a + n.bytes - bytes0[i]!, 0);
    const out: Measured = {
      layout,
      converged,
      ms,
      complete: t.complete,
      digests: t.digests,
      bytesPerNode: sent / N,
      ...(rootSys && root0 ? { rootBytesPerNode: (rootSys.sent - root0.sent + rootSys.received - root0.received) / N } : {}),
      brokerSentPerNode: (sys.reduce((a, v, i) => a + v.sent - sys0[i]!, 0) + (rootSys && root0 ? rootSys.sent - root0.sent : 0)) / N,
      startMs,
      loadBefore,
      loadAfter: load1(),
      rssMb: snap.rssMb,
    };
    log(`${layout}: ${converged ? `converged in ${(ms / 1000).toFixed(1)} s` : `NOT converged after ${(ms / 1000).toFixed(0)} s: ${t.complete}/${N} complete, ${t.digests} digests`}; ${Math.round(out.bytesPerNode)} B/node sent; children RSS ${Math.round(snap.rssMb)} MB`);
    return out;
  } finally {
    await cleanup(r);
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export async function run(): Promise<BenchRow[]> {
  if (!MOSQUITTO_BIN) {
    log('skipped: mosquitto is not installed (Debian mosquitto)');
    return [];
  }
  const res = new Map<string, Measured>();
  for (const layout of LAYOUTS) res.set(layout, await measure(layout));
  const tree = res.get('tree');
  const flat = res.get('flat');
  const rows: BenchRow[] = [];
  const shape = `${N} daemons, ${P} procs, ${KEYS} keys x ${DIM} dims each`;
  const loads = (m: Measured) => `load ${m.loadBefore}->${m.loadAfter}`;
  const what = (m: Measured) => (m.converged ? `converged, ${loads(m)}` : `NOT converged: ${m.complete}/${N} complete, ${m.digests} digests, ${loads(m)}`);
  const main = tree ?? flat!;
  const base = tree && flat ? flat : undefined;
  const mainName = tree ? `tree (1 root + ${S} sites)` : 'flat';
  const baseName = base ? `flat: one Mosquitto (${what(base)})` : undefined;
  const withBase = (value: number, b: number | undefined): Pick<BenchRow, 'value' | 'baseline' | 'baselineName' | 'ratio'> => ({ value, ...(b !== undefined ? { baseline: b, baselineName: baseName, ratio: value / b } : {}) });
  rows.push({ metric: `${mainName}, ${shape}: time to converge (${what(main)})`, ...withBase(main.ms / 1000, base && base.ms / 1000), unit: 's', target: `converged <= ${TIMEOUT_MS / 1000} s`, ok: main.converged });
  rows.push({ metric: `${mainName}: payload bytes sent per daemon, contributions to convergence (mean)`, ...withBase(main.bytesPerNode, base?.bytesPerNode), unit: 'B' });
  rows.push({ metric: `${mainName}: wire bytes sent by the broker(s) per daemon, to convergence + <= 2 s ($SYS)`, ...withBase(main.brokerSentPerNode, base?.brokerSentPerNode), unit: 'B' });
  if (main.rootBytesPerNode !== undefined) rows.push({ metric: `${mainName}: wire bytes through the root broker (bridge traffic, in + out) per daemon`, value: main.rootBytesPerNode, unit: 'B' });
  rows.push({ metric: `${mainName}: daemons started and connected (before the clock)`, ...withBase(main.startMs / 1000, base && base.startMs / 1000), unit: 's' });
  rows.push({ metric: `${mainName}: RSS of the ${P} daemon processes at the end (sum)`, ...withBase(main.rssMb, base?.rssMb), unit: 'MB' });
  return rows;
}
