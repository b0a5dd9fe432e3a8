/**
 * `h3lix status` without a daemon: the same summary read from a data directory, read-only (the
 * SQLite store opened `readonly`, no migration, no write; identity.json read, never created), so it
 * is safe while the daemon runs. What only the running daemon knows (peers' presence, sync counters,
 * the MQTT connection) is null or empty here.
 */
import { CcfField } from '../ccf/field.js';
import type { H3lixConfig } from '../config/schema.js';
import type { EnergyHistoryPoint } from '../energy/history.js';
import { PrivacyAccountant } from '../signals/accountant.js';
import { kvPrivacyPersistence, PRIVACY_LEDGER_KEY } from '../signals/kv-ledger.js';
import { openStore } from '../store/db.js';
import { SqliteEnergyHistoryStore } from '../store/energy-history.js';
import { inspectDataDir } from '../store/inspect.js';
import { KvStore } from '../store/seq-store.js';
import { systemClock } from '../util/clock.js';
import { chartHistory, type ChartHistory } from './history.js';
import { summarizeField, type EnergySummary, type PrivacySummary, type StatusSummary } from './summary.js';

export interface DataDirStatus {
  summary: StatusSummary;
  history: ChartHistory;
}

/** Read the summary of `config.node.dataDir`. Throws STORE_CORRUPT / STORE_IO as the daemon would. */
export function dataDirStatus(config: H3lixConfig, now = Date.now()): DataDirStatus {
  const dataDir = config.node.dataDir;
  const ins = inspectDataDir(dataDir);
  const field = new CcfField({ nodeId: ins.nodeId ?? 'status', clock: systemClock, config: config.ccf, quantization: config.sync.quantization });
  field.restore(ins.contributions, ins.localVersion);
  let points: EnergyHistoryPoint[] = [];
  let privacy: PrivacySummary | null = null;
  if (ins.hasDatabase && ins.schemaVersion >= 1) {
    const store = openStore({ dataDir, readonly: true });
    try {
      if (store.schemaVersion >= 2) points = new SqliteEnergyHistoryStore({ store }).load(Number.NEGATIVE_INFINITY);
      const kv = new KvStore({ store });
      if (kv.getString(PRIVACY_LEDGER_KEY) !== undefined) {
        const acc = new PrivacyAccountant({ epsilon: config.signals.epsilon, delta: config.signals.delta, persistence: kvPrivacyPersistence({ getString: (k) => kv.getString(k), set: () => undefined }) }).snapshot();
        privacy = { epsilonSpent: Number(acc.epsilon.toFixed(4)), epsilonBudget: acc.budgetEpsilon, delta: acc.budgetDelta, releases: acc.releases };
      }
    } finally {
      store.close();
    }
  }
  const last = points.at(-1);
  let modeSince: number | null = null;
  if (last) {
    modeSince = last.time;
    for (let i = points.length - 1; i >= 0 && points[i]!.mode === last.mode; i--) modeSince = points[i]!.time;
  }
  const energy: EnergySummary | null = last
    ? { time: last.time, mode: last.mode, modeSince, soc: last.soc, batteryVoltage: last.batteryVoltage, batteryCurrent: last.batteryCurrent, pvPower: last.pvPower, loadPower: last.loadPower, budgetWh: null, forecastWh: null, source: 'energy history' }
    : null;
  const summary: StatusSummary = {
    v: 1,
    node: ins.nodeId,
    fleet: config.node.fleet,
    board: config.node.board,
    time: now,
    from: 'data-dir',
    mqtt: null,
    energy,
    field: summarizeField(ins.contributions, field.digest()),
    peers: [],
    privacy,
    outbox: { messages: ins.outbox.messages, bytes: ins.outbox.bytes },
    sync: null,
    learning: null,
    power: null,
  };
  return { summary, history: chartHistory(points, config.status.historyDays, config.status.chartPoints) };
}
