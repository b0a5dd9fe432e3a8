import { readFileSync } from 'node:fs';
import { H3lixError } from '../../errors.js';
import { gaussian, mulberry32 } from '../../util/prng.js';

const RAD = Math.PI / 180;

/**
 * Clear-sky global horizontal irradiance, W/m², at a latitude and UTC instant (solar time = UTC, i.e.
 * longitude 0). Declination: Cooper (1969) δ = 23.45°·sin(360°·(284+n)/365); zenith from the hour
 * angle; irradiance: Haurwitz (1945) GHI = 1098·cos z·exp(−0.059 / cos z).
 */
export function clearSkyGhi(latitudeDeg: number, wallMs: number): number {
  const d = new Date(wallMs);
  const start = Date.UTC(d.getUTCFullYear(), 0, 0);
  const n = Math.floor((wallMs - start) / 86_400_000);
  const decl = 23.45 * Math.sin(RAD * ((360 * (284 + n)) / 365)) * RAD;
  const hours = d.getUTCHours() + d.getUTCMinutes() / 60 + d.getUTCSeconds() / 3600;
  const omega = 15 * (hours - 12) * RAD;
  const lat = latitudeDeg * RAD;
  const cosZ = Math.sin(lat) * Math.sin(decl) + Math.cos(lat) * Math.cos(decl) * Math.cos(omega);
  if (cosZ <= 0.01) return 0;
  return 1098 * cosZ * Math.exp(-0.059 / cosZ);
}

/** Options of the PV model. */
export interface PvModelOptions {
  /** Panel STC rating, W. */
  panelWatts: number;
  latitudeDeg: number;
  /** Wall time the simulation starts, ms (day 1 begins here). */
  startMs: number;
  /** 1-based day numbers that are heavily clouded. */
  cloudyDays: readonly number[];
  seed: number;
  /** Whole-system derate (soiling, temperature, MPPT/wiring losses), 0..1. Default 0.8. */
  derate?: number;
  /** Transmission of a heavily clouded day, 0..1. Default 0.12. */
  cloudTransmission?: number;
}

/**
 * PV power: panelWatts × GHI/1000 × derate × cloud factor (horizontal panel, conservative). The cloud
 * factor is an hourly random walk: clear days 0.85-1.0, heavily clouded days around `cloudTransmission`.
 */
export function pvModel(o: PvModelOptions): (wallMs: number) => number {
  const rand = mulberry32(o.seed ^ 0x5eed);
  const cache = new Map<number, number>();
  const factor = (hourIndex: number): number => {
    let f = cache.get(hourIndex);
    if (f === undefined) {
      const day = Math.floor(hourIndex / 24) + 1;
      const cloudy = o.cloudyDays.includes(day);
      const base = cloudy ? (o.cloudTransmission ?? 0.12) : 0.93;
      const spread = cloudy ? 0.04 : 0.05;
      f = Math.min(1, Math.max(0.02, base + spread * gaussian(rand)));
      cache.set(hourIndex, f);
    }
    return f;
  };
  const derate = o.derate ?? 0.8;
  return (wallMs: number) => {
    const hourIndex = Math.floor((wallMs - o.startMs) / 3_600_000);
    return o.panelWatts * (clearSkyGhi(o.latitudeDeg, wallMs) / 1000) * derate * factor(hourIndex);
  };
}

/** A PV trace: watts at a wall time, and, for a recorded trace, the span it covers. */
export interface PvTrace {
  pv: (wallMs: number) => number;
  /** Recorded (ISO-8601 / epoch-ms) traces: first and last sample, ms. Time-of-day traces: undefined (they repeat daily). */
  span?: { startMs: number; endMs: number };
}

/**
 * A PV trace from CSV: a header row with a time column (`time`, `timestamp`, `hour` or `minute`) and a
 * power column (`pvPower`, `pv_watts`, `pv` or `watts`).
 * - `time`/`timestamp` in ISO-8601 or epoch ms: a recorded trace, played as recorded (linear between
 *   samples). Times must increase, and a step longer than 3× the median step (and than 15 min) is a gap:
 *   an error naming the line, never silently bridged.
 * - `hour`/`minute` since midnight: a daily profile that repeats every day.
 */
export function pvFromTraceCsv(path: string): PvTrace {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new H3lixError('DATA_INVALID', `cannot read trace ${path}: ${(err as Error).message}`, { cause: err });
  }
  const rows = text.split(/\r?\n/).map((l, i) => ({ line: l.trim(), no: i + 1 })).filter((r) => r.line && !r.line.startsWith('#'));
  const headerRow = rows.shift();
  const header = (headerRow?.line ?? '').split(',').map((h) => h.trim().toLowerCase());
  const ti = header.findIndex((h) => ['time', 'timestamp', 'hour', 'minute'].includes(h));
  const pi = header.findIndex((h) => ['pvpower', 'pv_watts', 'pv', 'watts'].includes(h));
  if (ti < 0 || pi < 0) throw new H3lixError('DATA_INVALID', `${path}: header needs a time column (time|timestamp|hour|minute) and a power column (pvPower|pv_watts|pv|watts), got "${header.join(',')}"`);
  const kind = header[ti]!;
  const recorded = kind === 'time' || kind === 'timestamp';
  const points: Array<[number, number]> = [];
  const lineNo: number[] = [];
  for (const { line, no } of rows) {
    const cells = line.split(',');
    const rawT = (cells[ti] ?? '').trim();
    const w = Number(cells[pi]);
    let t: number;
    if (kind === 'hour') t = Number(rawT) * 60;
    else if (kind === 'minute') t = Number(rawT);
    else t = /^\d+$/.test(rawT) ? Number(rawT) : /^\d{4}-\d{2}-\d{2}/.test(rawT) ? Date.parse(rawT) : NaN;
    if (!Number.isFinite(t) || !Number.isFinite(w) || w < 0 || (cells[pi] ?? '').trim() === '') {
      throw new H3lixError('DATA_INVALID', `${path}: line ${no}: bad row "${line}" (need a time${recorded ? ' (ISO-8601 or epoch ms)' : ''} and a non-negative power)`);
    }
    points.push([recorded ? t : ((t % 1440) + 1440) % 1440, w]);
    lineNo.push(no);
  }
  if (points.length < 2) throw new H3lixError('DATA_INVALID', `${path}: need at least 2 rows`);
  if (!recorded) {
    points.sort((a, b) => a[0] - b[0]);
    return { pv: (wallMs: number) => interpolate(points, (((wallMs % 86_400_000) + 86_400_000) % 86_400_000) / 60_000) };
  }
  const steps: number[] = [];
  for (let i = 1; i < points.length; i++) {
    const d = points[i]![0] - points[i - 1]![0];
    if (d <= 0) throw new H3lixError('DATA_INVALID', `${path}: line ${lineNo[i]}: time ${new Date(points[i]![0]).toISOString()} does not increase (previous ${new Date(points[i - 1]![0]).toISOString()})`);
    steps.push(d);
  }
  const median = [...steps].sort((a, b) => a - b)[Math.floor(steps.length / 2)]!;
  const maxStep = Math.max(3 * median, 15 * 60_000);
  steps.forEach((d, i) => {
    if (d > maxStep) throw new H3lixError('DATA_INVALID', `${path}: line ${lineNo[i + 1]}: gap of ${(d / 3_600_000).toFixed(2)} h after ${new Date(points[i]![0]).toISOString()} (median step ${(median / 60_000).toFixed(1)} min); fill or cut the trace`);
  });
  const startMs = points[0]![0];
  const endMs = points[points.length - 1]![0];
  let cursor = 1;
  return {
    span: { startMs, endMs },
    pv: (wallMs: number) => {
      // simulation time moves forward: keep a cursor (O(1) per step), rewind when asked earlier
      if (cursor > 1 && wallMs < points[cursor - 1]![0]) cursor = 1;
      while (cursor < points.length - 1 && points[cursor]![0] < wallMs) cursor++;
      return interpolatePair(points[cursor - 1]!, points[cursor]!, wallMs);
    },
  };
}

function interpolatePair([t0, w0]: [number, number], [t1, w1]: [number, number], t: number): number {
  if (t <= t0) return w0;
  if (t >= t1) return w1;
  return w0 + ((t - t0) / (t1 - t0)) * (w1 - w0);
}

function interpolate(points: ReadonlyArray<[number, number]>, x: number): number {
  if (x <= points[0]![0]) return points[0]![1];
  for (let i = 1; i < points.length; i++) if (x <= points[i]![0]) return interpolatePair(points[i - 1]!, points[i]!, x);
  return points[points.length - 1]![1];
}
