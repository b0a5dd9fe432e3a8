/**
 * Turn a PVGIS typical-meteorological-year CSV (hourly `time(UTC),T2m,RH,G(h),...`, JRC PVGIS, built
 * from 2005-2023 satellite records, each month taken from one real year) into an `h3lix simulate energy
 * --trace` CSV: PV watts of a horizontal panel = panelWatts × G(h)/1000 × 0.8 (the simulator's system
 * derate). The months come from different years, so the hours are re-stamped consecutively onto one
 * calendar year (YEAR-01-01T00:00Z + hour index): a recorded year, played as recorded, with no gaps.
 *
 *   npx tsx bench/traces/pvgis-tmy-to-trace.ts PVGIS.csv PANEL_WATTS YEAR > trace.csv
 */
import { readFileSync } from 'node:fs';

const [src, watts = '50', year = '2025'] = process.argv.slice(2);
if (!src) throw new Error('usage: pvgis-tmy-to-trace.ts PVGIS.csv [PANEL_WATTS] [YEAR]');
const lines = readFileSync(src, 'utf8').split(/\r?\n/);
const head = lines.findIndex((l) => l.startsWith('time(UTC),'));
if (head < 0) throw new Error(`${src}: no "time(UTC)," header`);
const g = lines[head]!.split(',').indexOf('G(h)');
const start = Date.UTC(Number(year), 0, 1);
const out = ['# PV trace from PVGIS TMY (c) European Union 2001-2025 (JRC PVGIS, reuse with acknowledgement),', `# ${src.split('/').pop()}: ${Number(watts)} W horizontal panel x G(h)/1000 x 0.8; hours re-stamped onto ${year}`, 'time,pv_watts'];
let h = 0;
for (const l of lines.slice(head + 1)) {
  if (!/^\d{8}:\d{4},/.test(l)) break;
  const ghi = Math.max(0, Number(l.split(',')[g]));
  out.push(`${new Date(start + h * 3_600_000).toISOString()},${((Number(watts) * ghi) / 1000 * 0.8).toFixed(3)}`);
  h++;
}
process.stdout.write(`${out.join('\n')}\n`);
process.stderr.write(`${h} hours\n`);
