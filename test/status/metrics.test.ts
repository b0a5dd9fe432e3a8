/**
 * `/metrics` of a real daemon, parsed by an independent Prometheus text-format parser
 * (parse-prometheus-text-format, a port of the Prometheus Python client's parser) and checked line
 * by line against the exposition format; plus the writer's escaping and histogram at unit level.
 */
import t from 'tap';
import { join } from 'node:path';
import mqtt from 'mqtt';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { LatencyHistogram, MetricsWriter } from '../../src/status/metrics.js';
import { until } from '../helpers/until.js';
import { get, raw } from './http.js';
import { startStatusDaemon } from './rig.js';

// name{labels} value — the exposition format's sample line (labels: name="escaped value", comma separated)
const SAMPLE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\["\\n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\["\\n])*")*\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$/;

function value(families: ReturnType<typeof parsePrometheusTextFormat>, name: string, labels: Record<string, string> = {}): number | undefined {
  const f = families.find((x) => x.name === name);
  const m = f?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  return m?.value === undefined ? undefined : Number(m.value);
}

t.test('a daemon exposes h3lix_ metrics: readings, mode, outbox, rejected by code, field, sync bytes, privacy; bad requests do not disturb it', async (t) => {
  const dir = t.testdir();
  const fleet = 'stmet';
  const rig = await startStatusDaemon(join(dir, 'data'), fleet, {}, { instance: { enabled: false } });
  t.teardown(() => rig.stop());
  const ctx = rig.daemon.context;
  rig.handles.energy!.feature.ingest({ time: Date.now(), source: 'test', batteryVoltage: 12.9, batteryCurrent: 1.25, soc: 0.71, pvPower: 22.5 });
  ctx.field.contributeLocal('k1', new Float32Array([1, 2, 3]), 5);
  // a peer sends garbage and a bad presence: counted by code, never thrown
  const peer = await mqtt.connectAsync(ctx.broker!.url, { clientId: 'metrics-peer', protocolVersion: 4 });
  t.teardown(() => peer.endAsync(true));
  await peer.publishAsync(`h3lix/v1/${fleet}/ccf/delta/nbadpeer`, Buffer.from([0xff, 0x00, 0x13]), { qos: 1 });
  await until(() => ctx.sync.rejectedTotal() >= 1, 5000, 'garbage rejected');

  // bad input at the status server meanwhile: huge header, slow client, unknown path
  const huge = await get(rig.base + '/metrics', { headers: { 'x-junk': 'z'.repeat(20_000) } });
  t.equal(huge.status, 431);
  const slow = await raw(rig.status.statusServer!.port, 'GET /metrics HTTP/1.1\r\n');
  t.teardown(() => slow.socket.destroy());
  t.equal((await get(rig.base + '/nope')).status, 404);

  const outboxBefore = ctx.outbox.size().messages;
  const r = await get(rig.base + '/metrics');
  const outboxAfter = ctx.outbox.size().messages;
  t.equal(r.status, 200);
  t.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  const lines = r.body.trimEnd().split('\n');
  const bad = lines.filter((l) => !l.startsWith('# ') && !SAMPLE.test(l));
  t.same(bad, [], 'every sample line is well-formed');
  const names = [...new Set(lines.filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]!))];
  t.ok(names.every((n) => n.startsWith('h3lix_')), `${names.length} families, all prefixed h3lix_`);
  t.equal(names.length, new Set(names).size, 'one TYPE per family');
  const fam = parsePrometheusTextFormat(r.body);
  t.equal(fam.length, names.length, 'the independent parser reads every family');
  t.equal(value(fam, 'h3lix_battery_soc_ratio'), 0.71);
  t.equal(value(fam, 'h3lix_battery_voltage_volts'), 12.9);
  t.equal(value(fam, 'h3lix_battery_current_amperes'), 1.25);
  t.equal(value(fam, 'h3lix_pv_power_watts'), 22.5);
  t.equal(value(fam, 'h3lix_energy_mode', { mode: 'normal' }), 1, 'current mode 1');
  t.equal(value(fam, 'h3lix_energy_mode', { mode: 'survival' }), 0, 'other modes 0');
  t.equal(value(fam, 'h3lix_field_contributions'), 1);
  t.equal(value(fam, 'h3lix_field_keys'), 1);
  // the pump may drain (or the sync enqueue) while the scrape is in flight: the value is one the outbox held
  const ob = value(fam, 'h3lix_outbox_messages') ?? -1;
  t.ok(ob >= Math.min(outboxBefore, outboxAfter) && ob <= Math.max(outboxBefore, outboxAfter), `outbox ${ob} within [${outboxBefore}, ${outboxAfter}]`);
  const codes = fam.find((f) => f.name === 'h3lix_sync_rejected_total')!;
  t.equal(codes.type, 'COUNTER');
  const rejected = Object.fromEntries(codes.metrics.map((m) => [m.labels!.code, Number(m.value)]));
  t.same(rejected, ctx.sync.counters.rejected, `rejected by code: ${JSON.stringify(rejected)}`);
  t.ok(value(fam, 'h3lix_sync_bytes_total', { direction: 'received' })! >= 3, 'sync bytes received');
  t.ok(value(fam, 'h3lix_sync_bytes_total', { direction: 'enqueued' })! >= 0);
  t.equal(value(fam, 'h3lix_status_requests_total', { status: '404' }), 1, 'the unknown path is counted');
  t.ok(value(fam, 'h3lix_status_requests_total', { status: 'client-error' })! >= 1, 'the huge header is counted');
  const hist = fam.find((f) => f.name === 'h3lix_status_response_seconds')!;
  t.equal(hist.type, 'HISTOGRAM');
  t.ok(Number(hist.metrics[0]!.count) >= 1, 'response-time histogram (the 404 so far)');
  t.equal(value(fam, 'h3lix_privacy_epsilon_spent'), undefined, 'no privacy family while learning is off');

  t.equal((await get(rig.base + '/healthz')).status, 200, 'status server unaffected');
  ctx.field.contributeLocal('k2', new Float32Array([3, 2, 1]), 7);
  await until(() => ctx.sync.counters.deltasSent >= 1, 5000, 'the daemon goes on syncing');
});

t.test('MetricsWriter: label escaping, histogram buckets, skipped nulls', async (t) => {
  const h = new LatencyHistogram([0.01, 0.1]);
  for (const s of [0.005, 0.05, 0.5, -1, Number.NaN]) h.observe(s);
  const text = new MetricsWriter()
    .gauge('h3lix_x', 'help with \\ and\nnewline', 1, { path: 'C:\\a"b\nc' })
    .gauge('h3lix_missing', 'absent', null)
    .histogram('h3lix_lat_seconds', 'latency', h)
    .text();
  t.match(text, /h3lix_x\{path="C:\\\\a\\"b\\nc"\} 1/, 'escaped label value');
  t.notMatch(text, /h3lix_missing/, 'null gauge skipped');
  const fam = parsePrometheusTextFormat(text);
  t.equal(fam.find((f) => f.name === 'h3lix_x')!.metrics[0]!.labels!.path, 'C:\\a"b\nc', 'round-trips through the parser');
  const lat = fam.find((f) => f.name === 'h3lix_lat_seconds')!.metrics[0]!;
  t.same(lat.buckets, { '0.01': '1', '0.1': '2', '+Inf': '3' }, 'cumulative buckets; negative and NaN ignored');
  t.equal(Number(lat.count), 3);
  t.equal(Number(lat.sum), 0.555);
});
