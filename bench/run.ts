/**
 * `npm run bench`: runs every `bench/*.bench.ts` module (or those named on the command line),
 * prints one table and writes bench/results/latest.json. Each row carries the baseline measured in
 * the same run, so numbers are ratios on this machine, not absolute promises.
 */
import { readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import type { BenchRow } from './row.js';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();

const rows: BenchRow[] = [];
for (const file of files) {
  process.stderr.write(`bench: ${file} ...\n`);
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { run: () => Promise<BenchRow[]> };
  const started = performance.now();
  const got = await mod.run();
  for (const r of got) rows.push({ ...r, suite: file.replace('.bench.ts', '') });
  process.stderr.write(`bench: ${file} done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

const fmt = (v: number | string | undefined): string => (v === undefined ? '' : typeof v === 'number' ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3)) : v);
const header = ['suite', 'metric', 'ours', 'baseline', 'ratio', 'unit', 'target', 'ok'];
const table = rows.map((r) => [r.suite ?? '', r.metric, fmt(r.value), r.baselineName ? `${fmt(r.baseline)} (${r.baselineName})` : fmt(r.baseline), r.ratio === undefined ? '' : r.ratio.toFixed(3), r.unit, r.target ?? '', r.ok === undefined ? '' : r.ok ? 'yes' : 'NO']);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => String(row[i]).length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => String(c).padEnd(widths[i]!)).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const row of table) console.log(line(row as string[]));
mkdirSync(join(here, 'results'), { recursive: true });
const out = join(here, 'results', only.length ? `partial-${only.join('-')}.json` : 'latest.json');
writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model, rows }, null, 2) + '\n');
console.log(`\nwrote ${out}`);
