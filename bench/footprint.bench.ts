/**
 * Footprint of `h3lix run` (issue 11 item 5): start-to-ready (spawn until the "ready" log line, which
 * comes once every feature started, the moment the systemd feature sends READY=1) and resident memory
 * (VmRSS from /proc after the daemon settled), with the personal instance (ONNX model in its worker)
 * and without it. Baseline, same run: a bare `node` that starts and idles. Runs the compiled CLI
 * (`npm run build` first), as a board does. Run alone: `npx tsx bench/run.ts footprint`.
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BOARD_NODE_FLAGS } from '../src/bundle/node-flags.js';
import type { BenchRow } from './row.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SETTLE_MS = 3000;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Spawn, wait for `readyRe` on stderr/stdout, let it settle, read RSS, stop it. */
async function measure(args: string[], readyRe: RegExp, nodeFlags: readonly string[] = []): Promise<{ readyMs: number; rss: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [...nodeFlags, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const onData = (d: Buffer): void => void (out += d.toString());
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  try {
    const readyMs = await new Promise<number>((resolve, reject) => {
      const check = (): void => {
        if (readyRe.test(out)) resolve(performance.now() - t0);
      };
      child.stdout.on('data', check);
      child.stderr.on('data', check);
      child.once('exit', (code) => reject(new Error(`exited ${code} before ready: ${out.slice(-500)}`)));
    });
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    return { readyMs, rss: rssMb(child.pid!) };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

function config(dir: string, instance: boolean): string {
  const path = join(dir, `h3lix-${instance ? 'model' : 'idle'}.yaml`);
  writeFileSync(path, [
    'node:',
    `  dataDir: ${join(dir, instance ? 'model' : 'idle')}`,
    '  fleet: bench',
    'broker:',
    '  embedded: { enabled: true, host: 127.0.0.1, port: 0 }',
    'instance:',
    `  enabled: ${instance}`,
    `  modelDir: ${join(root, 'models', 'sensor-encoder')}`,
    'log: { level: info }',
    '',
  ].join('\n'));
  return path;
}

export async function run(): Promise<BenchRow[]> {
  if (!existsSync(join(root, 'dist', 'src', 'cli', 'main.js'))) execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'h3lix-footprint-'));
  const bare = await measure(['-e', 'console.log("up"); setInterval(() => {}, 1000)'], /up/);
  // As a board runs it: the bundle's launcher passes BOARD_NODE_FLAGS; and without them, for comparison.
  const run = (instance: boolean, flags: readonly string[]) => measure([join(root, 'bin', 'h3lix.js'), 'run', '--config', config(dir, instance)], /"msg":"ready"/, flags);
  const idle = await run(false, BOARD_NODE_FLAGS);
  const model = await run(true, BOARD_NODE_FLAGS);
  const idlePlain = await run(false, []);
  const modelPlain = await run(true, []);
  const row = (metric: string, value: number, unit: string, limit: number): BenchRow => ({
    metric,
    value,
    unit,
    baseline: unit === 'MB' ? bare.rss : bare.readyMs,
    baselineName: 'bare node',
    ratio: value / (unit === 'MB' ? bare.rss : bare.readyMs),
    target: `<= ${limit} ${unit}`,
    ok: value <= limit,
  });
  return [
    row(`h3lix run RSS, model loaded (instance on), ${BOARD_NODE_FLAGS.join(' ')}`, model.rss, 'MB', 120),
    row(`h3lix run RSS, idle (instance off), ${BOARD_NODE_FLAGS.join(' ')}`, idle.rss, 'MB', 80),
    row('h3lix run RSS, model loaded, default V8 flags', modelPlain.rss, 'MB', 120),
    row('h3lix run RSS, idle, default V8 flags', idlePlain.rss, 'MB', 80),
    row('h3lix run start to ready, instance on', model.readyMs, 'ms', 1500),
    row('h3lix run start to ready, instance off', idle.readyMs, 'ms', 1500),
  ];
}
