/**
 * Child process of bench/status.bench.ts: one daemon (learning off, 7 days of energy history) with
 * the status feature `on` or `off`. With it on, the page is loaded 20 times and two event streams
 * stay open while the daemon pushes; then RSS is measured after a forced GC and printed as JSON.
 * Run: node --expose-gc --import tsx bench/status-child.ts on|idle|off (idle: feature on, no client)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { get, seedWeek } from './status-util.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../src/config/load.js';
import { createDaemon } from '../src/daemon/daemon.js';
import { defaultFeatures, type FeatureHandles } from '../src/daemon/features.js';
import { statusFeatureFactory, type DaemonStatusFeature } from '../src/daemon/features/status.js';

const mode = process.argv[2];
const on = mode === 'on' || mode === 'idle';
const dir = mkdtempSync(join(tmpdir(), 'h3lix-status-bench-'));
const dataDir = join(dir, 'data');
seedWeek(dataDir);

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
