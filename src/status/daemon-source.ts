/**
 * The status page's view of a running daemon: reads the live objects (energy feature, field,
 * outbox, sync counters, privacy accountant, personal instance) at each call; keeps nothing.
 */
import type { DaemonContext } from '../daemon/feature.js';
import type { FeatureHandles } from '../daemon/features/handles.js';
import { SqliteEnergyHistoryStore } from '../store/energy-history.js';
import { chartHistory, type ChartHistory } from './history.js';
import type { MetricsExtras } from './metrics.js';
import type { PeerTracker } from './peers.js';
import { powerSummary } from './power.js';
import type { StatusProvider } from './server.js';
import { summarizeField, type EnergySummary, type StatusSummary } from './summary.js';

/** Options of {@link DaemonStatusSource}. */
export interface DaemonStatusSourceOptions {
  ctx: DaemonContext;
  handles: FeatureHandles;
  peers: PeerTracker;
  /** Chart window, days, and most chart points (config `status.historyDays`, `status.chartPoints`). */
  historyDays: number;
  chartPoints: number;
}

export class DaemonStatusSource implements StatusProvider {
  private readonly sqlite: SqliteEnergyHistoryStore;
  /** The last chart, reused while the history has not changed (page loads do not recompute it). */
  private cached: { key: string; chart: ChartHistory } | undefined;

  constructor(private readonly o: DaemonStatusSourceOptions) {
    this.sqlite = new SqliteEnergyHistoryStore({ store: o.ctx.store, maxPoints: o.ctx.config.energy.historyMaxPoints });
  }

  summary(): StatusSummary {
    const { ctx, handles } = this.o;
    const snap = handles.energy?.feature.snapshot()?.toPublished();
    const energy: EnergySummary | null = snap
      ? { time: snap.time, mode: snap.mode, modeSince: snap.modeSince, soc: snap.soc, batteryVoltage: snap.batteryVoltage, batteryCurrent: snap.batteryCurrent, pvPower: snap.pvPower, loadPower: snap.loadPower, budgetWh: snap.budgetWh, forecastWh: snap.forecastWh, source: snap.source }
      : null;
    const acc = handles.learning?.stack.accountant.snapshot();
    const inst = handles.learning?.instance?.stats();
    const c = ctx.sync.counters;
    return {
      v: 1,
      node: ctx.nodeId,
      fleet: ctx.fleet,
      board: ctx.config.node.board,
      time: ctx.clock.now(),
      from: 'daemon',
      mqtt: ctx.transport.status,
      energy,
      field: summarizeField(ctx.field.contributions(), ctx.field.digest()),
      peers: this.o.peers.list(),
      privacy: acc ? { epsilonSpent: Number(acc.epsilon.toFixed(4)), epsilonBudget: acc.budgetEpsilon, delta: acc.budgetDelta, releases: acc.releases } : null,
      outbox: ctx.outbox.size(),
      sync: {
        received: c.received,
        accepted: c.accepted,
        applied: c.applied,
        rejected: Object.fromEntries(Object.entries(c.rejected).filter((e): e is [string, number] => typeof e[1] === 'number')),
        bytesReceived: c.bytesReceived,
        bytesEnqueued: c.bytesEnqueued,
        bytesPublished: ctx.pump.stats.bytes,
        deltasSent: c.deltasSent,
        digestsSent: c.digestsSent,
      },
      learning: inst ? { received: inst.received, predicted: inst.predicted, feedback: inst.feedback, rejected: inst.rejected, accuracy: inst.accuracy } : null,
      power: handles.energy ? powerSummary(handles.energy.sleep?.state(), handles.energy.sourceUri, ctx.clock.now()) : null,
    };
  }

  /** The instance's inference latency histogram, while learning runs. */
  metricsExtras(): MetricsExtras {
    const h = this.o.handles.learning?.inferenceLatency;
    return h ? { inferenceLatency: h } : {};
  }

  /**
   * The running energy feature's history (the SQLite history restored at start plus the readings
   * since, some not flushed yet); without an energy feature, the SQLite history itself.
   */
  history(): ChartHistory {
    const mem = this.o.handles.energy?.feature.history;
    if (mem && mem.size() > 0) {
      // the history changes only on an ingested reading, which also moves the snapshot's time
      const key = `${mem.size()}:${this.o.handles.energy?.feature.snapshot()?.state.time ?? ''}`;
      if (this.cached?.key === key) return this.cached.chart;
      const chart = chartHistory(mem.since(Number.NEGATIVE_INFINITY), this.o.historyDays, this.o.chartPoints);
      this.cached = { key, chart };
      return chart;
    }
    return chartHistory(this.sqlite.load(Number.NEGATIVE_INFINITY), this.o.historyDays, this.o.chartPoints);
  }
}
