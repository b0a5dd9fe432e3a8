import { readFileSync } from 'node:fs';
import { H3lixError } from '../../../src/errors.js';

/** One row of a PV trace. */
export interface TracePoint {
  /** Seconds since the first row. */
  seconds: number;
  pvWatts: number;
  loadWatts?: number;
}

/**
 * Parse a PV trace CSV. A header row names the columns: `time` (seconds, or `HH:MM[:SS]`),
 * `pv_w` (required), `load_w` (optional). Blank lines and lines starting with `#` are skipped.
 * Times must increase. Every problem is a `DATA_INVALID` error naming file, line and column.
 */
export function parseTraceCsv(text: string, name = 'trace'): TracePoint[] {
  const lines = text.split(/\r?\n/);
  let header: string[] | undefined;
  const points: TracePoint[] = [];
  let first: number | undefined;
  const fail = (line: number, msg: string): never => {
    throw new H3lixError('DATA_INVALID', `${name}:${line}: ${msg}`);
  };
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const cells = raw.split(',').map((c) => c.trim());
    if (!header) {
      header = cells.map((c) => c.toLowerCase());
      for (const need of ['time', 'pv_w']) if (!header.includes(need)) fail(i + 1, `header must name a "${need}" column (got: ${cells.join(', ')})`);
      continue;
    }
    if (cells.length !== header.length) fail(i + 1, `${cells.length} columns, header has ${header.length}`);
    const cell = (col: string) => cells[header!.indexOf(col)];
    const time = parseTime(cell('time')!);
    if (time === undefined) fail(i + 1, `column time: "${cell('time')}" is neither seconds nor HH:MM[:SS]`);
    const pv = Number(cell('pv_w'));
    if (cell('pv_w') === '' || !Number.isFinite(pv) || pv < 0) fail(i + 1, `column pv_w: "${cell('pv_w')}" is not a non-negative number`);
    const point: TracePoint = { seconds: 0, pvWatts: pv };
    if (header.includes('load_w')) {
      const load = Number(cell('load_w'));
      if (cell('load_w') === '' || !Number.isFinite(load) || load < 0) fail(i + 1, `column load_w: "${cell('load_w')}" is not a non-negative number`);
      point.loadWatts = load;
    }
    first ??= time!;
    point.seconds = time! - first;
    const prev = points[points.length - 1];
    if (prev && point.seconds <= prev.seconds) fail(i + 1, `time ${cell('time')} does not increase`);
    points.push(point);
  }
  if (!header) throw new H3lixError('DATA_INVALID', `${name}: empty (expected a header "time,pv_w[,load_w]" and rows)`);
  if (points.length < 2) throw new H3lixError('DATA_INVALID', `${name}: needs at least 2 data rows, found ${points.length}`);
  return points;
}

export function loadTraceCsv(path: string): TracePoint[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new H3lixError('DATA_INVALID', `cannot read trace ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseTraceCsv(text, path);
}

function parseTime(s: string): number | undefined {
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(s);
  if (!m || Number(m[2]) > 59 || Number(m[3] ?? 0) > 59) return undefined;
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3] ?? 0);
}
