/**
 * Child process of bench/status.bench.ts: ONE daemon (learning off, 7 days of energy history) whose
 * RSS is sampled in phases of the same length, each with the same live readings, so the only
 * difference between the last two is the status feature:
 *   warm-up → `b0` → sham phase (status off) → `b1` → status feature started on the running daemon,
 *   `LOADS` page loads (page, script, style, history, status, metrics) and `STREAMS` open event
 *   streams receiving the live pushes → `on`.
 * `on − b1` is what serving adds; `b1 − b0` is the drift of the daemon alone over one phase (the
 * noise floor). RSS and V8 heap after a forced GC, printed as one JSON line.
 * Run: node --expose-gc --import tsx bench/status-child.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapSpaceStatistics } from 'node:v8';
import { validateConfig } from '../src/config/load.js';
import { createDaemon } from '../src/daemon/daemon.js';
import { defaultFeatures, type FeatureHandles } from '../src/daemon/features.js';
import { DaemonStatusFeature } from '../src/daemon/features/status.js';
import { get, seedWeek } from './status-util.js';

const LOADS = Number(process.env.H3LIX_BENCH_LOADS ?? 50);
const STREAMS = Number(process.env.H3LIX_BENCH_STREAMS ?? 4);
const dir = mkdtempSync(join(tmpdir(), 'h3lix-status-bench-'));
const dataDir = join(dir, 'data');
seedWeek(dataDir);
const config = validateConfig({
  node: { dataDir, fleet: 'bench' },
  broker: { embedded: { enabled: true, host: '127.0.0.1', port: 0 } },
  instance: { enabled: false },
  energy: { historyMaxPoints: 20_000 },
  status: { enabled: true, port: 0, pushIntervalMs: 100 },
  log: { level: 'silent' },
});
const handles: FeatureHandles = {};
// the daemon starts without the status feature; it is started on the same daemon later
const daemon = createDaemon({ config, features: defaultFeatures({ ...config, status: { ...config.status, enabled: false } }, { handles }) });
await daemon.start();

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
let reading = 0;
/** The same 20 live readings in every phase (100 ms apart), so only the status feature differs. */
async function phase(): Promise<void> {
  for (let i = 0; i < 20; i++) {
    handles.energy!.feature.ingest({ time: Date.now(), source: 'bench', batteryVoltage: 12.6, batteryCurrent: 0.5, soc: 0.6 + (reading++ % 100) / 1000, pvPower: 10 });
    await new Promise((r) => setTimeout(r, 100));
  }
}
async function sample(): Promise<{ rss: number; heapUsed: number; heapTotal: number; external: number; youngPhysical: number }> {
  gc();
  await new Promise((r) => setTimeout(r, 200));
  gc();
  const m = process.memoryUsage();
  const young = getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, youngPhysical: young?.physical_space_size ?? 0 };
}

await phase(); // warm-up: the first readings, timers, caches
const b0 = await sample();
await phase(); // sham: the same phase without the status feature
const b1 = await sample();

const status = new DaemonStatusFeature(daemon.context, handles);
await status.start();
const base = `http://127.0.0.1:${status.statusServer!.port}`;
for (let i = 0; i < LOADS; i++) for (const p of ['/', '/app.js', '/app.css', '/api/history', '/api/status', '/metrics']) await get(base + p);
const streams = Array.from({ length: STREAMS }, () => {
  const req = request(base + '/events', { agent: false }, (res) => res.resume());
  req.end();
  return req;
});
await phase(); // live pushes to the open streams
const on = await sample();

for (const r of streams) r.destroy();
await status.stop();
await daemon.stop();
rmSync(dir, { recursive: true, force: true });
process.stdout.write(JSON.stringify({ loads: LOADS, streams: STREAMS, b0, b1, on }) + '\n');
