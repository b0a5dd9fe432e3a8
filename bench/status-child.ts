/**
 * Child process of bench/status.bench.ts: one daemon (learning off, 7 days of energy history) with
 * the status feature `on` or `off`. With it on, the page is loaded 20 times and two event streams
 * stay open while the daemon pushes; then RSS is measured after a forced GC and printed as JSON.
 * Run: node --expose-gc --import tsx bench/status-child.ts on|idle|off (idle: feature on, no client)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../src/config/load.js';
import { createDaemon } from '../src/daemon/daemon.js';
import { defaultFeatures, type FeatureHandles } from '../src/daemon/features.js';
import { statusFeatureFactory, type DaemonStatusFeature } from '../src/daemon/features/status.js';
import { openStore } from '../src/store/db.js';
import { SqliteEnergyHistoryStore } from '../src/store/energy-history.js';

const mode = process.argv[2];
const on = mode === 'on' || mode === 'idle';
const dir = mkdtempSync(join(tmpdir(), 'h3lix-status-bench-'));
const dataDir = join(dir, 'data');
const end = Date.now();
const s = openStore({ dataDir });
const points = [];
for (let i = 10_080; i >= 0; i--) {
  const time = end - i * 60_000;
  const sun = Math.max(0, Math.sin((((time / 3_600_000) % 24) - 6) / 12 * Math.PI));
  points.push({ time, soc: 0.4 + 0.4 * sun, batteryVoltage: 12.5, batteryCurrent: sun, pvPower: 30 * sun, loadPower: 5, mode: 'normal' as const });
}
new SqliteEnergyHistoryStore({ store: s, maxPoints: 20_000 }).append(points);
s.close();

const config = validateConfig({
  node: { dataDir, fleet: 'bench' },
  broker: { embedded: { enabled: true, host: '127.0.0.1', port: 0 } },
  instance: { enabled: false },
  energy: { historyMaxPoints: 20_000 },
  status: { enabled: false, port: 0, pushIntervalMs: 100 },
  log: { level: 'silent' },
});
const handles: FeatureHandles = {};
let feature: DaemonStatusFeature | undefined;
const features = [...defaultFeatures(config, { handles }), ...(on ? [statusFeatureFactory(handles, { onStarted: (f) => (feature = f) })] : [])];
const daemon = createDaemon({ config: { ...config, status: { ...config.status, enabled: on } }, features });
await daemon.start();

function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false }, (res) => {
      let n = 0;
      res.on('data', (d: Buffer) => (n += d.length));
      res.on('end', () => resolve(n));
    })
      .on('error', reject)
      .end();
  });
}

const streams: Array<{ destroy(): void }> = [];
if (mode === 'on' && feature?.statusServer) {
  const base = `http://127.0.0.1:${feature.statusServer.port}`;
  for (let i = 0; i < 20; i++) for (const p of ['/', '/app.js', '/app.css', '/api/history', '/api/status', '/metrics']) await get(base + p);
  for (let i = 0; i < 2; i++) {
    const req = request(base + '/events', { agent: false }, (res) => res.resume());
    req.end();
    streams.push(req);
  }
}
// the same readings in every mode, so only the status feature differs
for (let i = 0; i < 20; i++) {
  handles.energy!.feature.ingest({ time: Date.now(), source: 'bench', batteryVoltage: 12.6, batteryCurrent: 0.5, soc: 0.6 + i / 1000, pvPower: 10 });
  await new Promise((r) => setTimeout(r, 100));
}
(globalThis as { gc?: () => void }).gc?.();
await new Promise((r) => setTimeout(r, 200));
(globalThis as { gc?: () => void }).gc?.();
const mem = process.memoryUsage();
const rss = mem.rss;
for (const r of streams) r.destroy();
await daemon.stop();
rmSync(dir, { recursive: true, force: true });
process.stdout.write(JSON.stringify({ on, mode, rss, heapUsed: mem.heapUsed, heapTotal: mem.heapTotal, external: mem.external }) + '\n');
