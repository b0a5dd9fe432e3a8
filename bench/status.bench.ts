/**
 * Status page benchmarks (docs/status.md), against a real daemon on loopback:
 * - page load: the page, its script and style, the 7-day history and the first event-stream status,
 *   median of 20 loads, against a `/healthz` round trip in the same run (target: ≤ 1000 ms absolute,
 *   the goal on a board; measured here on the dev machine);
 * - bytes transferred for one load (target ≤ 200 KB);
 * - RSS added by serving, measured inside one daemon process (bench/status-child.ts): before and
 *   after the status feature served 50 page loads and 4 live event streams, with a sham phase of
 *   the same length before it as the noise floor (target ≤ 5 MB); with Node's default young
 *   generation and with `--max-semi-space-size=1` (the RSS is mostly young-generation pages).
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

interface Sample {
  rss: number;
  heapUsed: number;
}
interface ChildResult {
  loads: number;
  streams: number;
  b0: Sample;
  b1: Sample;
  on: Sample;
}

/**
 * Three child processes (status-child.ts), each measuring in ONE daemon process: RSS before and
 * after a sham phase (drift), then after the status feature served the page. Medians of the three.
 */
function children(nodeFlags: string[]): { added: number; drift: number; base: number; heapAdded: number; heapBase: number; loads: number; streams: number } {
  const runs = [0, 1, 2].map(() => {
    const out = execFileSync(process.execPath, ['--expose-gc', ...nodeFlags, '--import', 'tsx', join(here, 'status-child.ts')], { encoding: 'utf8' });
    return JSON.parse(out.trim().split('\n').at(-1)!) as ChildResult;
  });
  const med = (xs: number[]): number => xs.sort((a, b) => a - b)[1]!;
  return {
    added: med(runs.map((r) => r.on.rss - r.b1.rss)),
    drift: med(runs.map((r) => r.b1.rss - r.b0.rss)),
    base: med(runs.map((r) => r.b1.rss)),
    heapAdded: med(runs.map((r) => r.on.heapUsed - r.b1.heapUsed)),
    heapBase: med(runs.map((r) => r.b1.heapUsed)),
    loads: runs[0]!.loads,
    streams: runs[0]!.streams,
  };
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
  const MB = 1024 * 1024;
  for (const [flags, name] of [[[], 'Node defaults'], [['--max-semi-space-size=1'], 'node --max-semi-space-size=1']] as const) {
    const c = children([...flags]);
    const what = `${c.loads} loads, ${c.streams} streams, live pushes; ${name}`;
    rows.push({ metric: `RSS added by serving the page, same process (${what}), median of 3`, value: c.added / MB, unit: 'MB', baseline: c.base / MB, baselineName: 'the same daemon before', ratio: (c.base + c.added) / c.base, target: '<= 5 MB added', ok: c.added <= 5 * MB });
    rows.push({ metric: `RSS drift of the daemon alone over one phase (noise floor; ${name})`, value: c.drift / MB, unit: 'MB', baseline: c.base / MB, baselineName: 'daemon', ratio: (c.base + c.drift) / c.base });
    rows.push({ metric: `V8 heap in use added by serving, after GC (${name})`, value: c.heapAdded / MB, unit: 'MB', baseline: c.heapBase / MB, baselineName: 'the same daemon before', ratio: (c.heapBase + c.heapAdded) / c.heapBase, target: '<= 5 MB added', ok: c.heapAdded <= 5 * MB });
  }
  return rows;
}
