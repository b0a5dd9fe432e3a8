/**
 * Real daemons at scale over a bridged Mosquitto tree (issue 10 item 4, docs/sync.md "Real daemons
 * over a Mosquitto tree"). Run: `npx tsx bench/run.ts fleet-tree`
 *
 * Layout "tree": one fleet (root) Mosquitto and S site Mosquittos, each site bridged to the root with
 * the plain lines `h3lix fleet bridge` writes (`mosquittoBridgeConf`: the whole fleet tree both ways),
 * so every daemon ends holding every origin. N real daemons (`createDaemon` + `defaultFeatures`, open
 * mode, learning off, embedded broker off) in P child processes (test/helpers/daemon-procs.ts); daemon i
 * talks to site i mod S. Once all are connected, each contributes KEYS vectors; the clock starts then.
 * Converged = every daemon holds all N x KEYS contributions and all N show the same field digest; the
 * time is when the last daemon's field last changed (children's wall clocks), since a poll over IPC
 * can wait seconds behind busy event loops.
 * Baseline, same run, same processes and contributions: all N daemons on ONE flat Mosquitto.
 *
 * Reported: time to converge, payload bytes each daemon sent from the contributions to convergence
 * (outbox pump: deltas, digests, wants, answers; mean per node), wire bytes through the root broker
 * (the bridges' traffic) and over all brokers (Mosquitto `$SYS/broker/bytes/*`, `sys_interval 1`: read
 * at the second update after the clock starts and after convergence, so they cover up to ~2 s more),
 * and the 1-minute load average before and after.
 *
 * Knobs: H3LIX_BENCH_FLEET_NODES (200), _PROCS (4), _SITES (4), _TIMEOUT_S (240), _KEYS (2), _DIM (16),
 * _DIGEST_MS (sync.digestIntervalMs, 10000), _DEBOUNCE_MS (sync.debounceMs, 250): the shipped config
 * defaults; _LAYOUTS ("tree,flat"); _CPU_PROF (a directory: V8 CPU profiles of the daemon processes).
 * Progress on stderr. Every child and Mosquitto is killed on exit and on error; temp dirs are removed.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { scratchDir } from '../src/daemon/demo-cluster.js';
import { mosquittoBridgeConf } from '../src/fleet/bridge.js';
import { DaemonProcs, tally, type DaemonProc } from '../test/helpers/daemon-procs.js';
import { startMosquittoTree, MOSQUITTO_BIN, type MosquittoHandle } from '../test/helpers/mosquitto.js';
import type { BenchRow } from './row.js';

const env = (name: string, dflt: number): number => Number(process.env[`H3LIX_BENCH_FLEET_${name}`] ?? dflt);
const N = env('NODES', 200);
const P = env('PROCS', 4);
const S = env('SITES', 4);
const TIMEOUT_MS = env('TIMEOUT_S', 240) * 1000;
const KEYS = env('KEYS', 2);
const DIM = env('DIM', 16);
const DIGEST_MS = env('DIGEST_MS', 10_000);
const DEBOUNCE_MS = env('DEBOUNCE_MS', 250);
const LAYOUTS = (process.env.H3LIX_BENCH_FLEET_LAYOUTS ?? 'tree,flat').split(',');
const POLL_MS = 250;
/** H3LIX_BENCH_FLEET_CPU_PROF=<dir>: the daemon processes write V8 CPU profiles there (node --cpu-prof). */
const CPU_PROF = process.env.H3LIX_BENCH_FLEET_CPU_PROF;

const load1 = (): number => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
const log = (msg: string): void => void process.stderr.write(`bench fleet-tree: ${msg}\n`);

/** Everything a run started, killed and removed by {@link cleanup} (also on exit and on signals). */
interface Resources {
  children: DaemonProc[];
  procs?: DaemonProcs;
  brokers: MosquittoHandle[];
  monitors: mqtt.MqttClient[];
  dirs: string[];
}

function killNow(r: Resources): void {
  for (const c of r.children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
  for (const b of r.brokers) if (b.process.exitCode === null) b.process.kill('SIGKILL');
  for (const d of [...r.dirs, ...r.brokers.map((b) => b.dir)]) rmSync(d, { recursive: true, force: true });
}

async function cleanup(r: Resources): Promise<void> {
  for (const m of r.monitors) m.end(true);
  await r.procs?.stop();
  await Promise.all(r.brokers.map((b) => b.stop()));
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
  detectedMs: number;
  loopMaxMs: number;
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
    const bridge = (site: number, rootPort: number) => mosquittoBridgeConf({ fleet, site: `s${site}`, remoteHost: '127.0.0.1', remotePort: rootPort }).filter((l) => l && !l.startsWith('#'));
    const { root: rootBroker, sites } = (await startMosquittoTree(layout === 'flat' ? 0 : S, bridge, r.brokers, ['sys_interval 1', 'max_queued_messages 100000']))!;
    const sys = await Promise.all(sites.map((b) => sysBytes(r, b)));
    const rootSys = layout === 'tree' ? await sysBytes(r, rootBroker) : undefined;
    const loadBefore = load1();
    const t0 = performance.now();
    const nodes = Array.from({ length: N }, (_, index) => ({ index, url: sites[index % sites.length]!.url }));
    const procs = (r.procs = await DaemonProcs.start({ procs: P, nodes, root, fleet, debounceMs: DEBOUNCE_MS, digestIntervalMs: DIGEST_MS, ...(CPU_PROF ? { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] } : {}), onFork: (p) => r.children.push(p) }));
    // every daemon connected (births exchanged) before anybody contributes
    let snap = await procs.connected(60_000, POLL_MS);
    const startMs = performance.now() - t0;
    log(`${layout}: ${N} daemons in ${r.children.length} processes connected to ${sites.length} broker(s) in ${(startMs / 1000).toFixed(1)} s (load ${load1()})`);
    await freshSys([...sys, ...(rootSys ? [rootSys] : [])]);
    snap = await procs.snap();
    const bytes0 = snap.nodes.map((n) => n.bytes);
    const sys0 = sys.map((v) => v.sent);
    const root0 = rootSys ? { sent: rootSys.sent, received: rootSys.received } : undefined;
    const goWall = Date.now();
    await procs.go(KEYS, DIM);
    const g0 = performance.now();
    let loopMaxMs = 0;
    let lastLog = g0;
    let t = tally(snap.nodes, N * KEYS);
    for (;;) {
      snap = await procs.snap();
      loopMaxMs = Math.max(loopMaxMs, snap.loopMaxMs);
      t = tally(snap.nodes, N * KEYS);
      if ((t.complete === N && t.digests === 1) || performance.now() - g0 > TIMEOUT_MS) break;
      if (performance.now() - lastLog > 5000) {
        lastLog = performance.now();
        log(`${layout}: ${((lastLog - g0) / 1000).toFixed(0)} s: ${t.complete}/${N} complete with the common digest, ${t.digests} distinct digests, longest event-loop stall ${Math.round(snap.loopMaxMs)} ms, load ${load1()}`);
      }
      await new Promise((res) => setTimeout(res, POLL_MS));
    }
    const detectedMs = performance.now() - g0;
    const converged = t.complete === N && t.digests === 1;
    // converged: when the last daemon's field last changed (the children's wall clocks), not when a
    // poll saw it (a poll waits behind the children's busy event loops)
    const ms = converged ? Math.max(...snap.nodes.map((n) => n.changedAt)) - goWall : detectedMs;
    await freshSys([...sys, ...(rootSys ? [rootSys] : [])]); // broker counters: up to ~2 s after convergence
    const sent = snap.nodes.reduce((a, n, i) => a + n.bytes - bytes0[i]!, 0);
    const out: Measured = {
      layout,
      converged,
      ms,
      detectedMs,
      loopMaxMs,
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
    log(`${layout}: ${converged ? `converged in ${(ms / 1000).toFixed(1)} s (seen by a poll at ${(detectedMs / 1000).toFixed(1)} s)` : `NOT converged after ${(ms / 1000).toFixed(0)} s: ${t.complete}/${N} complete, ${t.digests} digests`}; ${Math.round(out.bytesPerNode)} B/node sent; children RSS ${Math.round(snap.rssMb)} MB; longest event-loop stall ${Math.round(loopMaxMs)} ms`);
    return out;
  } finally {
    await cleanup(r);
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Each layout of H3LIX_BENCH_FLEET_LAYOUTS in turn; rows for the tree with the flat run as baseline. */
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
  const shape = `${N} daemons, ${P} procs, ${KEYS} keys x ${DIM} dims each, debounce ${DEBOUNCE_MS} ms, digest ${DIGEST_MS} ms`;
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
  rows.push({ metric: `${mainName}: longest event-loop stall of a daemon process while converging`, ...withBase(main.loopMaxMs, base?.loopMaxMs), unit: 'ms' });
  rows.push({ metric: `${mainName}: RSS of the ${P} daemon processes at the end (sum)`, ...withBase(main.rssMb, base?.rssMb), unit: 'MB' });
  return rows;
}
