/**
 * Status page benchmarks (docs/status.md), against a real daemon on loopback:
 * - page load: the page, its script and style, the 7-day history and the first event-stream status,
 *   median of 20 loads, against a `/healthz` round trip in the same run (target: ≤ 1000 ms absolute,
 *   the goal on a board; measured here on the dev machine);
 * - bytes transferred for one load (target ≤ 200 KB);
 * - RSS added by serving: a daemon with the status feature (20 page loads, 2 open streams, live
 *   pushes) against the same daemon without it, each in its own child process (target ≤ 5 MB).
 * Run: `npx tsx bench/run.ts status`
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateConfig } from '../src/config/load.js';
import { createDaemon } from '../src/daemon/daemon.js';
import { defaultFeatures, type FeatureHandles } from '../src/daemon/features.js';
import { statusFeatureFactory, type DaemonStatusFeature } from '../src/daemon/features/status.js';
import { percentile, type BenchRow } from './row.js';
import { get, seedWeek } from './status-util.js';

const here = dirname(fileURLToPath(import.meta.url));


/** Open the event stream and resolve with the bytes up to the end of the first `status` event. */
function firstStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
        const i = text.indexOf('event: status\n');
        if (i >= 0 && text.indexOf('\n\n', i) > 0) {
          req.destroy();
          resolve(Buffer.byteLength(text));
        }
      });
    });
    req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e)));
    req.end();
  });
}

/** Median RSS and heap of 3 child processes (RSS of one process varies by several MB between runs). */
function child(mode: 'on' | 'off'): { rss: number; heapUsed: number } {
  const runs = [0, 1, 2].map(() => {
    const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(here, 'status-child.ts'), mode], { encoding: 'utf8' });
    return JSON.parse(out.trim().split('\n').at(-1)!) as { rss: number; heapUsed: number };
  });
  const med = (xs: number[]): number => xs.sort((a, b) => a - b)[1]!;
  return { rss: med(runs.map((r) => r.rss)), heapUsed: med(runs.map((r) => r.heapUsed)) };
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'h3lix-status-bench-'));
  const dataDir = join(dir, 'data');
  const points = seedWeek(dataDir);
  const config = validateConfig({ node: { dataDir, fleet: 'bench' }, broker: { embedded: { enabled: true, host: '127.0.0.1', port: 0 } }, instance: { enabled: false }, energy: { historyMaxPoints: 20_000 }, status: { enabled: true, port: 0 }, log: { level: 'silent' } });
  const handles: FeatureHandles = {};
  let feature: DaemonStatusFeature | undefined;
  const daemon = createDaemon({ config, features: [...defaultFeatures({ ...config, status: { ...config.status, enabled: false } }, { handles }), statusFeatureFactory(handles, { onStarted: (f) => (feature = f) })] });
  await daemon.start();
  try {
    handles.energy!.feature.ingest({ time: Date.now(), source: 'bench', batteryVoltage: 12.6, batteryCurrent: 0.5, soc: 0.6, pvPower: 10 });
    const base = `http://127.0.0.1:${feature!.statusServer!.port}`;
    const loads: number[] = [];
    const pings: number[] = [];
    let bytes = 0;
    for (let i = 0; i < 22; i++) {
      const t0 = performance.now();
      const sizes = await Promise.all([get(base + '/'), get(base + '/app.js'), get(base + '/app.css'), get(base + '/api/history'), firstStatus(base + '/events')]);
      const ms = performance.now() - t0;
      const p0 = performance.now();
      await get(base + '/healthz');
      const pms = performance.now() - p0;
      if (i >= 2) {
        loads.push(ms);
        pings.push(pms);
      }
      bytes = sizes.reduce((a, b) => a + b, 0);
    }
    const med = percentile(loads.sort((a, b) => a - b), 50);
    const ping = percentile(pings.sort((a, b) => a - b), 50);
    rows.push({ metric: 'page load (page, script, style, 7-day history, first live event), median of 20', value: med, unit: 'ms', baseline: ping, baselineName: '/healthz round trip', ratio: med / ping, target: '<= 1000 ms', ok: med <= 1000 });
    rows.push({ metric: `bytes for one page load (${points.length} history points downsampled)`, value: bytes / 1024, unit: 'KiB', target: '<= 195 KiB (200 KB)', ok: bytes <= 200_000 });
  } finally {
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const off = child('off');
  const on = child('on');
  const MB = 1024 * 1024;
  const added = (on.rss - off.rss) / MB;
  rows.push({ metric: 'RSS added by the status feature (20 loads, 2 streams, live pushes), median of 3 processes', value: added, unit: 'MB', baseline: off.rss / MB, baselineName: 'daemon without it', ratio: on.rss / off.rss, target: '<= 5 MB added', ok: added <= 5 });
  const heap = (on.heapUsed - off.heapUsed) / MB;
  rows.push({ metric: 'V8 heap in use added by the status feature, after GC', value: heap, unit: 'MB', baseline: off.heapUsed / MB, baselineName: 'daemon without it', ratio: on.heapUsed / off.heapUsed, target: '<= 5 MB added', ok: heap <= 5 });
  return rows;
}
