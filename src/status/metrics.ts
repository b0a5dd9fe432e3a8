/**
 * Prometheus text exposition format 0.0.4 (`/metrics`), every name prefixed `h3lix_`. Hand-written
 * (no client library: a board pays RSS for every dependency). Rules followed from the format spec:
 * one `# HELP` and `# TYPE` per family, label values escaped (`\\`, `"`, `\n`), counters end `_total`,
 * base units in names (`_volts`, `_amperes`, `_watts`, `_bytes`, `_ratio`).
 */
import { ENERGY_MODES } from '../energy/modes.js';
import type { HistogramData } from '../util/histogram.js';
import type { StatusSummary } from './summary.js';

export { LatencyHistogram, type HistogramData } from '../util/histogram.js';

type Labels = Record<string, string>;
interface Sample {
  labels?: Labels;
  value: number;
  suffix?: string;
}

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const fmt = (v: number): string => (Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v));

/** Builds one exposition. */
export class MetricsWriter {
  private readonly lines: string[] = [];

  family(name: string, type: 'gauge' | 'counter' | 'histogram', help: string, samples: readonly Sample[]): this {
    if (samples.length === 0) return this;
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
    for (const s of samples) {
      const labels = s.labels && Object.keys(s.labels).length ? `{${Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}` : '';
      this.lines.push(`${name}${s.suffix ?? ''}${labels} ${fmt(s.value)}`);
    }
    return this;
  }

  gauge(name: string, help: string, value: number | null | undefined, labels?: Labels): this {
    return value === null || value === undefined ? this : this.family(name, 'gauge', help, [{ value, ...(labels ? { labels } : {}) }]);
  }

  histogram(name: string, help: string, h: HistogramData): this {
    const samples: Sample[] = h.buckets.map((le, i) => ({ suffix: '_bucket', labels: { le: fmt(le) }, value: h.counts[i]! }));
    samples.push({ suffix: '_bucket', labels: { le: '+Inf' }, value: h.count }, { suffix: '_sum', value: h.sum }, { suffix: '_count', value: h.count });
    return this.family(name, 'histogram', help, samples);
  }

  text(): string {
    return this.lines.join('\n') + '\n';
  }
}

/** Extra live values the summary does not carry. */
export interface MetricsExtras {
  streams?: number;
  httpRequests?: Record<string, number>;
  inferenceLatency?: HistogramData;
  pageLatency?: HistogramData;
}

/** Every metric of one node. */
export function renderMetrics(s: StatusSummary, x: MetricsExtras = {}): string {
  const w = new MetricsWriter();
  const node = { node: s.node ?? 'unknown' };
  w.gauge('h3lix_info', 'Node identity (value 1).', 1, { ...node, fleet: s.fleet, board: s.board });
  const e = s.energy;
  if (e) {
    w.gauge('h3lix_battery_soc_ratio', 'Battery state of charge, 0..1.', e.soc)
      .gauge('h3lix_battery_voltage_volts', 'Battery voltage.', e.batteryVoltage)
      .gauge('h3lix_battery_current_amperes', 'Battery current (positive = charging).', e.batteryCurrent)
      .gauge('h3lix_pv_power_watts', 'Solar panel power.', e.pvPower)
      .gauge('h3lix_load_power_watts', 'Load power.', e.loadPower)
      .gauge('h3lix_energy_budget_watthours', 'Energy budget for deferrable work (negative = deficit).', e.budgetWh)
      .gauge('h3lix_energy_reading_timestamp_seconds', 'Wall time of the latest energy reading.', e.time / 1000)
      .family('h3lix_energy_mode', 'gauge', 'Energy mode: 1 for the current one.', ENERGY_MODES.map((m) => ({ labels: { mode: m }, value: m === e.mode ? 1 : 0 })));
  }
  w.gauge('h3lix_outbox_messages', 'Messages waiting in the durable outbox.', s.outbox.messages)
    .gauge('h3lix_outbox_bytes', 'Payload bytes waiting in the durable outbox.', s.outbox.bytes)
    .gauge('h3lix_field_contributions', 'Contributions held in the Collective Context Field.', s.field.contributions)
    .gauge('h3lix_field_keys', 'Keys in the field.', s.field.keyCount)
    .gauge('h3lix_field_origins', 'Origins in the field.', s.field.originCount)
    .family('h3lix_peers', 'gauge', 'Peers seen on state/<node>, by their last presence (birth = online, death = offline).', [
      { labels: { state: 'online' }, value: s.peers.filter((p) => p.online).length },
      { labels: { state: 'offline' }, value: s.peers.filter((p) => !p.online).length },
    ]);
  if (s.sync) {
    const sy = s.sync;
    w.family('h3lix_sync_messages_total', 'counter', 'Sync messages by outcome.', [
      { labels: { outcome: 'received' }, value: sy.received },
      { labels: { outcome: 'accepted' }, value: sy.accepted },
    ])
      .family('h3lix_sync_rejected_total', 'counter', 'Inbound messages rejected, by error code.', Object.entries(sy.rejected).sort().map(([code, n]) => ({ labels: { code }, value: n })))
      .family('h3lix_sync_applied_total', 'counter', 'Contributions that changed the field.', [{ value: sy.applied }])
      .family('h3lix_sync_bytes_total', 'counter', 'Sync bytes by direction.', [
        { labels: { direction: 'received' }, value: sy.bytesReceived },
        { labels: { direction: 'enqueued' }, value: sy.bytesEnqueued },
        ...(sy.bytesPublished !== null ? [{ labels: { direction: 'published' }, value: sy.bytesPublished }] : []),
      ])
      .family('h3lix_sync_sent_total', 'counter', 'Sync messages sent, by kind.', [
        { labels: { kind: 'delta' }, value: sy.deltasSent },
        { labels: { kind: 'digest' }, value: sy.digestsSent },
      ]);
  }
  if (s.privacy) {
    w.gauge('h3lix_privacy_epsilon_spent', 'Privacy budget spent (epsilon).', s.privacy.epsilonSpent)
      .gauge('h3lix_privacy_epsilon_budget', 'Privacy budget (epsilon).', s.privacy.epsilonBudget)
      .family('h3lix_privacy_releases_total', 'counter', 'Signal releases charged to the budget.', [{ value: s.privacy.releases }]);
  }
  if (s.learning) {
    w.family('h3lix_instance_observations_total', 'counter', 'Observations handled by the personal instance, by outcome.', [
      { labels: { outcome: 'predicted' }, value: s.learning.predicted },
      { labels: { outcome: 'feedback' }, value: s.learning.feedback },
      { labels: { outcome: 'rejected' }, value: s.learning.rejected },
    ]);
    const a = s.learning.accuracy;
    if (a) {
      w.family('h3lix_feedback_predictions_total', 'counter', 'Labelled observations by how the prediction made before the label was used compared with it.', [
        { labels: { outcome: 'correct' }, value: a.correct },
        { labels: { outcome: 'wrong' }, value: a.wrong },
        { labels: { outcome: 'unpredicted' }, value: a.unpredicted },
      ])
        .gauge('h3lix_feedback_accuracy_ratio', `Accuracy on feedback over the last labelled observations (at most h3lix_feedback_window_observations).`, a.accuracy)
        .gauge('h3lix_feedback_window_observations', 'Labelled observations the windowed accuracy covers now.', a.windowTotal);
    }
  }
  const p = s.power;
  if (p?.managed) {
    w.gauge('h3lix_power_sleep_planned', 'The current plan on the companion MCU says sleep (1) or stay awake (0).', p.plan ? (p.plan.sleep ? 1 : 0) : null)
      .gauge('h3lix_power_wake_timestamp_seconds', 'Planned wake time at the latest, when the plan says sleep.', p.plan?.wakeAt != null ? p.plan.wakeAt / 1000 : null)
      .gauge('h3lix_power_floor_timestamp_seconds', 'When the forecast SOC reaches the sleep floor, when the plan says awake.', p.plan?.floorAt != null ? p.plan.floorAt / 1000 : null);
    if (p.lastWake) w.gauge('h3lix_power_last_wake_info', 'The last wake the companion MCU reported (value 1).', 1, { reason: p.lastWake.reason });
  }
  if (x.inferenceLatency) w.histogram('h3lix_inference_latency_seconds', 'Observation to prediction latency.', x.inferenceLatency);
  if (x.streams !== undefined) w.gauge('h3lix_status_streams', 'Open status page event streams.', x.streams);
  if (x.httpRequests) w.family('h3lix_status_requests_total', 'counter', 'Status server requests, by response status.', Object.entries(x.httpRequests).sort().map(([status, n]) => ({ labels: { status }, value: n })));
  if (x.pageLatency) w.histogram('h3lix_status_response_seconds', 'Status server response time.', x.pageLatency);
  return w.text();
}
