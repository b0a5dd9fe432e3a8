/** A real daemon (embedded aedes on port 0, temp SQLite data dir) with the status feature, for the status tests. */
import { validateConfig } from '../../src/config/load.js';
import type { H3lixConfig } from '../../src/config/schema.js';
import { createDaemon, type Daemon } from '../../src/daemon/daemon.js';
import { defaultFeatures, type FeatureHandles } from '../../src/daemon/features.js';
import { statusFeatureFactory, type DaemonStatusFeature } from '../../src/daemon/features/status.js';
import type { EnergyHistoryPoint } from '../../src/energy/history.js';
import type { EnergyMode } from '../../src/energy/modes.js';
import { openStore } from '../../src/store/db.js';
import { SqliteEnergyHistoryStore } from '../../src/store/energy-history.js';
import type { Logger } from '../../src/util/logger.js';

/** `days` of history at one point per `stepMin`, ending at `end`: solar days, SOC follows the sun, two cloudy days (conserve). */
export function syntheticHistory(end: number, days = 7, stepMin = 10): EnergyHistoryPoint[] {
  const out: EnergyHistoryPoint[] = [];
  const n = Math.floor((days * 1440) / stepMin);
  for (let i = n; i >= 0; i--) {
    const time = end - i * stepMin * 60_000;
    const hour = (time / 3_600_000) % 24;
    const sun = Math.max(0, Math.sin(((hour - 6) / 12) * Math.PI));
    const day = Math.floor((n - i) / (1440 / stepMin));
    const cloudy = day === 2 || day === 3;
    const pv = sun * (cloudy ? 8 : 30);
    const soc = Math.min(0.98, 0.45 + 0.35 * sun - (cloudy ? 0.22 : 0) + 0.03 * Math.sin(i / 7));
    const mode: EnergyMode = soc < 0.3 ? 'conserve' : soc > 0.85 && pv > 10 ? 'surplus' : 'normal';
    out.push({ time, soc, batteryVoltage: 12 + soc * 1.2, batteryCurrent: (pv - 5) / 12.5, pvPower: pv, loadPower: 5, mode });
  }
  return out;
}

/** Write `points` into `<dataDir>/h3lix.db` as the daemon's energy feature would have. */
export function seedHistory(dataDir: string, points: EnergyHistoryPoint[]): void {
  const s = openStore({ dataDir });
  try {
    new SqliteEnergyHistoryStore({ store: s, maxPoints: 20_000 }).append(points);
  } finally {
    s.close();
  }
}

export interface StatusRig {
  daemon: Daemon;
  handles: FeatureHandles;
  config: H3lixConfig;
  status: DaemonStatusFeature;
  /** `http://127.0.0.1:<port>` */
  base: string;
  stop(): Promise<unknown>;
}

/**
 * Start a daemon with the default features (energy; learning off: no inference worker) and the
 * status feature on a free loopback port. `status` and `extra` are merged into the config.
 */
export async function startStatusDaemon(dataDir: string, fleet: string, status: Record<string, unknown> = {}, extra: Record<string, unknown> = {}, logger?: Logger): Promise<StatusRig> {
  const config = validateConfig({
    node: { dataDir, fleet, board: 'rpi-4' },
    broker: { embedded: { enabled: true, host: '127.0.0.1', port: 0 }, reconnectMs: 100 },
    sync: { debounceMs: 20, digestIntervalMs: 1000 },
    instance: { enabled: false },
    energy: { historyMaxPoints: 20_000 },
    status: { enabled: true, port: 0, pushIntervalMs: 200, ...status },
    log: { level: 'silent' },
    ...extra,
  });
  const handles: FeatureHandles = {};
  let feature: DaemonStatusFeature | undefined;
  // defaultFeatures without status (its wiring is tested through `h3lix run`), then status with a hook
  const base = defaultFeatures({ ...config, status: { ...config.status, enabled: false } }, { handles });
  const daemon = createDaemon({ config, features: [...base, statusFeatureFactory(handles, { onStarted: (f) => (feature = f) })], drainTimeoutMs: 200, ...(logger ? { logger } : {}) });
  await daemon.start();
  const s = feature;
  const port = s?.statusServer?.port;
  return { daemon, handles, config, status: s!, base: port ? `http://127.0.0.1:${port}` : '', stop: () => daemon.stop() };
}

