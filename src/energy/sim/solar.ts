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

/**
 * A PV trace from CSV: a header row with a time column (`time`, `timestamp`, `hour` or `minute`) and a
 * power column (`pvPower`, `pv_watts`, `pv` or `watts`). Time is ISO-8601 / epoch ms (`time`,
 * `timestamp`) or hours / minutes since midnight (`hour`, `minute`). The trace is read as a daily profile
 * (time of day → W, linear interpolation) and repeats every day.
 */
export function pvFromTraceCsv(path: string): (wallMs: number) => number {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new H3lixError('DATA_INVALID', `cannot read trace ${path}: ${(err as Error).message}`, { cause: err });
  }
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const header = (lines.shift() ?? '').split(',').map((h) => h.trim().toLowerCase());
  const ti = header.findIndex((h) => ['time', 'timestamp', 'hour', 'minute'].includes(h));
  const pi = header.findIndex((h) => ['pvpower', 'pv_watts', 'pv', 'watts'].includes(h));
  if (ti < 0 || pi < 0) throw new H3lixError('DATA_INVALID', `${path}: header needs a time column (time|timestamp|hour|minute) and a power column (pvPower|pv_watts|pv|watts), got "${header.join(',')}"`);
  const kind = header[ti]!;
  const points: Array<[number, number]> = [];
  lines.forEach((line, i) => {
    const cells = line.split(',');
    const rawT = (cells[ti] ?? '').trim();
    const w = Number(cells[pi]);
    let minuteOfDay: number;
    if (kind === 'hour') minuteOfDay = Number(rawT) * 60;
    else if (kind === 'minute') minuteOfDay = Number(rawT);
    else {
      const ms = /^\d+$/.test(rawT) ? Number(rawT) : Date.parse(rawT);
      minuteOfDay = Number.isFinite(ms) ? ((ms % 86_400_000) + 86_400_000) % 86_400_000 / 60_000 : NaN;
    }
    if (!Number.isFinite(minuteOfDay) || !Number.isFinite(w) || w < 0) {
      throw new H3lixError('DATA_INVALID', `${path}: line ${i + 2}: bad row "${line}" (need a time and a non-negative power)`);
    }
    points.push([((minuteOfDay % 1440) + 1440) % 1440, w]);
  });
  if (points.length < 2) throw new H3lixError('DATA_INVALID', `${path}: need at least 2 rows`);
  points.sort((a, b) => a[0] - b[0]);
  return (wallMs: number) => {
    const m = (((wallMs % 86_400_000) + 86_400_000) % 86_400_000) / 60_000;
    if (m <= points[0]![0]) return points[0]![1];
    for (let i = 1; i < points.length; i++) {
      const [m1, w1] = points[i]!;
      const [m0, w0] = points[i - 1]!;
      if (m <= m1) return w0 + ((m - m0) / (m1 - m0)) * (w1 - w0);
    }
    return points[points.length - 1]![1];
  };
}
