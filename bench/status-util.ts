/** Helpers shared by bench/status.bench.ts and its child process. */
import { request } from 'node:http';
import type { EnergyHistoryPoint } from '../src/energy/history.js';
import { openStore } from '../src/store/db.js';
import { SqliteEnergyHistoryStore } from '../src/store/energy-history.js';

/** GET `url`; resolves with the body size in bytes. */
export function get(url: string): Promise<number> {
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

/** Seven days at one point a minute (10 081 points, the default `energy.historyMaxPoints` + 1), written to `<dataDir>/h3lix.db`. */
export function seedWeek(dataDir: string, end = Date.now()): EnergyHistoryPoint[] {
  const points: EnergyHistoryPoint[] = [];
  for (let i = 10_080; i >= 0; i--) {
    const time = end - i * 60_000;
    const sun = Math.max(0, Math.sin(((((time / 3_600_000) % 24) - 6) / 12) * Math.PI));
    points.push({ time, soc: 0.4 + 0.4 * sun, batteryVoltage: 12.5, batteryCurrent: sun, pvPower: 30 * sun, loadPower: 5, mode: i % 3000 < 400 ? 'conserve' : 'normal' });
  }
  const s = openStore({ dataDir });
  try {
    new SqliteEnergyHistoryStore({ store: s, maxPoints: 20_000 }).append(points);
  } finally {
    s.close();
  }
  return points;
}
