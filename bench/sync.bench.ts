/**
 * Sync benchmarks (docs/sync.md). Run: `npx tsx bench/run.ts sync`
 * 1. End-to-end delta latency (local contributeLocal → peer field changed), p50/p99, over the embedded
 *    aedes broker and through Mosquitto; baseline: raw mqtt.js publish → receive of the same payload size
 *    on the same broker in the same run.
 * 2. 50 nodes, a partition of 10 heals: anti-entropy rounds to identical digests (target <= 3) and bytes
 *    sent per node, against a naive full-state push (every node sends its whole field once).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { validateConfig } from '../src/config/load.js';
import { createDaemon, type Daemon } from '../src/daemon/daemon.js';
import { scratchDir } from '../src/daemon/demo-cluster.js';
import { EmbeddedBroker } from '../src/sync/embedded-broker.js';
import { encodeSyncDelta } from '../src/sync/delta-wire.js';
import { startMosquitto } from '../test/helpers/mosquitto.js';
import { percentile, type BenchRow } from './row.js';

const DIM = 64;
const SAMPLES = 200;
const JITTER = 400;

function vec(seed: number): Float32Array {
  return Float32Array.from({ length: DIM }, (_, i) => Math.sin(seed * 1.7 + i));
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

async function node(root: string, name: string, url: string, fleet: string, debounceMs: number): Promise<Daemon> {
  const config = validateConfig({
    node: { dataDir: join(root, name), fleet },
    broker: { embedded: { enabled: false }, url, reconnectMs: 200 },
    sync: { debounceMs, digestIntervalMs: 60_000 },
    log: { level: 'silent' },
  });
  const d = createDaemon({ config, jitterMs: JITTER, drainTimeoutMs: 500 });
  await d.start();
  return d;
}

async function latency(url: string, label: string, root: string): Promise<BenchRow[]> {
  const fleet = `lat${Date.now().toString(36)}`;
  const a = await node(root, `${label}-a`, url, fleet, 0);
  const b = await node(root, `${label}-b`, url, fleet, 0);
  try {
    await until(() => a.context.transport.connected && b.context.transport.connected, 5000);
    await new Promise((r) => setTimeout(r, 300)); // births exchanged
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < SAMPLES; i++) {
      const key = `k${i % 8}`;
      const t0 = performance.now();
      const before = a.context.sync.counters.bytesEnqueued;
      let t1 = 0;
      const arrived = new Promise<void>((resolve) => {
        const off = b.context.field.onChange((changed) => {
          if (changed.some((x) => x.key === key && x.origin === a.context.nodeId)) {
            t1 = performance.now();
            off();
            resolve();
          }
        });
      });
      a.context.field.contributeLocal(key, vec(i), 10);
      await Promise.race([arrived, new Promise((r) => setTimeout(r, 5000))]);
      if (!t1) throw new Error('delta did not arrive within 5 s');
      times.push(t1 - t0);
      bytes = a.context.sync.counters.bytesEnqueued - before;
    }
    const payload = new Uint8Array(Math.max(bytes, encodeSyncDelta({ cover: {}, contributions: [] }, 'int8').length));
    const raw = await rawRoundTrip(url, payload.length);
    times.sort((x, y) => x - y);
    raw.sort((x, y) => x - y);
    const rows: BenchRow[] = [];
    for (const p of [50, 99]) {
      const v = percentile(times, p);
      const base = percentile(raw, p);
      rows.push({ metric: `delta latency p${p} (${label}, ${DIM}-dim, signed delta envelope ~${payload.length} B)`, value: v, unit: 'ms', baseline: base, baselineName: `raw mqtt.js publish→receive p${p}`, ratio: v / base });
    }
    return rows;
  } finally {
    await a.stop();
    await b.stop();
  }
}

/** Raw mqtt.js QoS 1 publish → receive of `size` bytes on the same broker, sequential. */
async function rawRoundTrip(url: string, size: number): Promise<number[]> {
  const pub = await mqtt.connectAsync(url);
  const sub = await mqtt.connectAsync(url);
  const topic = `bench/raw/${Date.now()}`;
  let got: (() => void) | undefined;
  sub.on('message', () => got?.());
  await sub.subscribeAsync(topic, { qos: 1 });
  const payload = Buffer.alloc(size, 7);
  const out: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      got = resolve;
      pub.publish(topic, payload, { qos: 1 });
    });
    out.push(performance.now() - t0);
  }
  await pub.endAsync(true);
  await sub.endAsync(true);
  return out;
}

async function heal50(root: string): Promise<BenchRow[]> {
  const N = 50;
  const P = 10;
  const broker = new EmbeddedBroker({ port: 0 });
  await broker.start();
  const fleet = `heal${Date.now().toString(36)}`;
  const nodes: Daemon[] = [];
  try {
    for (let i = 0; i < N; i++) nodes.push(await node(root, `h${i}`, broker.url, fleet, 50));
    const digests = () => new Set(nodes.map((n) => n.context.field.digest())).size;
    await until(() => nodes.every((n) => n.context.transport.connected), 20_000);
    await new Promise((r) => setTimeout(r, 500));
    nodes.forEach((n, i) => {
      n.context.field.contributeLocal(`shared-${i % 5}`, vec(i), 5);
      n.context.field.contributeLocal(`own-${i}`, vec(i + 100), 5);
    });
    if (!(await until(() => digests() === 1, 30_000))) throw new Error('50 nodes did not converge before the partition');
    const part = nodes.slice(0, P);
    for (const n of part) n.context.transport.suspend();
    await until(() => part.every((n) => !n.context.transport.connected), 5000);
    // Both sides keep contributing while apart.
    nodes.forEach((n, i) => n.context.field.contributeLocal(`shared-${i % 5}`, vec(i + 1000), 6));
    // Let each side settle on its own state first: the heal is what is measured.
    const rest = nodes.slice(P);
    await until(() => new Set(rest.map((n) => n.context.field.digest())).size === 1 && rest.every((n) => n.context.outbox.size().messages === 0), 20_000);
    await new Promise((r) => setTimeout(r, 1000));
    const sentBefore = nodes.map((n) => n.context.pump.stats.bytes);
    const aeCount = () => nodes.reduce((a, n) => a + n.context.sync.antiEntropy.answers + n.context.sync.antiEntropy.wants, 0);
    let last = aeCount();
    const sends: number[] = [];
    const t0 = performance.now();
    for (const n of part) n.context.transport.resume();
    let ok = false;
    let lastTrace = 0;
    while (performance.now() - t0 < 30_000) {
      await new Promise((r) => setTimeout(r, 5));
      const c = aeCount();
      if (c > last) for (let k = last; k < c; k++) sends.push(performance.now() - t0);
      last = c;
      if (process.env.H3LIX_BENCH_TRACE && performance.now() - lastTrace > 500) {
        lastTrace = performance.now();
        const tot = (f: (n: Daemon) => number) => nodes.reduce((a, n) => a + f(n), 0);
        process.stderr.write(`${(performance.now() - t0).toFixed(0)}ms distinct ${digests()} conn ${nodes.filter((n) => n.context.transport.connected).length} outbox ${tot((n) => n.context.outbox.size().messages)} deltas ${tot((n) => n.context.sync.counters.deltasSent)} wants ${tot((n) => n.context.sync.counters.wantsSent)} ae ${aeCount()} unk ${tot((n) => n.context.sync.counters.rejected.WIRE_UNKNOWN_SENDER ?? 0)} sizes ${Math.min(...nodes.map((n) => n.context.field.size()))}\n`);
      }
      if (digests() === 1 && nodes.every((n) => n.context.outbox.size().messages === 0)) {
        ok = true;
        break;
      }
    }
    const healMs = performance.now() - t0;
    // A round = one exchange: answers go out within one answer window of the digest that triggered
    // them (the window grows with the fleet: J x min(8, ceil(peers / 10))).
    const window = nodes[0]!.context.sync.answerWindow();
    let rounds = 0;
    let waveStart = -Infinity;
    for (const s of sends) {
      if (s > waveStart + window) {
        rounds++;
        waveStart = s;
      }
    }
    const bytes = nodes.reduce((a, n, i) => a + n.context.pump.stats.bytes - sentBefore[i]!, 0) / N;
    const full = encodeSyncDelta({ cover: {}, contributions: nodes[0]!.context.field.contributions() }, 'int8').length;
    return [
      { metric: `50 nodes, ${P} healed: anti-entropy rounds to identical digests (${ok ? `converged in ${healMs.toFixed(0)} ms` : 'NOT converged'})`, value: rounds, unit: 'rounds', target: '<= 3', ok: ok && rounds <= 3 },
      { metric: '50 nodes, 10 healed: bytes sent per node during the heal (deltas + digests + wants)', value: bytes, unit: 'B', baseline: full, baselineName: 'naive full-state push (one whole field per node, no digests)', ratio: bytes / full },
    ];
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await broker.stop();
  }
}

export async function run(): Promise<BenchRow[]> {
  const root = mkdtempSync(join(scratchDir(), 'h3lix-bench-sync-'));
  const rows: BenchRow[] = [];
  try {
    const broker = new EmbeddedBroker({ port: 0 });
    await broker.start();
    try {
      if (!process.env.H3LIX_BENCH_SKIP_LATENCY) rows.push(...(await latency(broker.url, "embedded aedes", root)));
    } finally {
      await broker.stop();
    }
    const m = process.env.H3LIX_BENCH_SKIP_LATENCY ? undefined : await startMosquitto();
    if (m) {
      try {
        rows.push(...(await latency(m.url, 'mosquitto', root)));
      } finally {
        await m.stop();
      }
    } else process.stderr.write('bench sync: mosquitto not installed, skipping its latency rows\n');
    rows.push(...(await heal50(root)));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return rows;
}
