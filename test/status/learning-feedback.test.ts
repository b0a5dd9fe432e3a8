/**
 * The personal instance seen through the status server of a real daemon (embedded aedes, the real
 * sensor-encoder through onnxruntime-node in the inference worker), driven over MQTT like a device:
 * - `h3lix_inference_latency_seconds` is a Prometheus histogram fed by every observation the
 *   instance infers, and only those (a rejected observation adds nothing; the count equals the
 *   inference service's own request count);
 * - accuracy on feedback counts the prediction made BEFORE the label was used, tallied by the test
 *   from the pred messages on the wire, windowed, and shown in `/api/status`, `/metrics` and
 *   `h3lix status` (text and --json). Negative control: a label the instance has never seen is
 *   counted wrong, although the very next prediction for the same features is that label (a scorer
 *   that looked after learning would count it correct).
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { StatusSummary } from '../../src/status/summary.js';
import { cli } from '../helpers/cli.js';
import { until } from '../helpers/until.js';
import { get } from './http.js';
import { startStatusDaemon } from './rig.js';

const features = (seed: number): number[] => Array.from({ length: 20 }, (_, i) => Math.sin(seed * 3.7 + i * 0.9));
type Families = ReturnType<typeof parsePrometheusTextFormat>;
const scrape = async (base: string): Promise<Families> => parsePrometheusTextFormat((await get(base + '/metrics')).body);
const family = (f: Families, name: string) => f.find((x) => x.name === name);
const sample = (f: Families, name: string, labels: Record<string, string> = {}): number | undefined => {
  const m = family(f, name)?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  return m?.value === undefined ? undefined : Number(m.value);
};

t.test('inference latency histogram and accuracy on feedback, through a real daemon over MQTT', async (t) => {
  const dir = t.testdir();
  const fleet = 'stacc';
  const dataDir = join(dir, 'data');
  const rig = await startStatusDaemon(dataDir, fleet, {}, { instance: { feedbackWindow: 4 } });
  t.teardown(() => rig.stop());
  const ctx = rig.daemon.context;
  const learning = rig.handles.learning!;
  t.ok(learning.instance, 'personal instance running');

  const before = await scrape(rig.base);
  const h0 = family(before, 'h3lix_inference_latency_seconds');
  t.equal(h0?.type, 'HISTOGRAM', 'the histogram is exposed once learning runs');
  t.equal(Number(h0!.metrics[0]!.count), 0, 'no observation yet: count 0');

  const device = await mqtt.connectAsync(ctx.broker!.url, { clientId: 'acc-device', protocolVersion: 4 });
  t.teardown(() => device.endAsync(true));
  const preds: Array<{ id?: string; label?: string | null; error?: string }> = [];
  const predTopic = `h3lix/v1/${fleet}/pred/${ctx.nodeId}`;
  device.on('message', (topic, p) => topic === predTopic && preds.push(JSON.parse(p.toString('utf8')) as (typeof preds)[number]));
  await device.subscribeAsync(predTopic, { qos: 1 });
  const obsTopic = `h3lix/v1/${fleet}/obs/${ctx.nodeId}`;
  // one at a time: each prediction is known before the next observation is sent
  const send = async (id: string, seed: number, label?: string): Promise<(typeof preds)[number]> => {
    await device.publishAsync(obsTopic, JSON.stringify({ id, features: features(seed), ...(label ? { label } : {}) }), { qos: 1 });
    await until(() => preds.some((p) => p.id === id || (id.startsWith('bad') && p.error !== undefined)), 15_000, `the answer to ${id}`);
    return preds.find((p) => p.id === id || (id.startsWith('bad') && p.error !== undefined))!;
  };

  const labelled: Array<[string, number, string]> = [['a1', 1, 'idle'], ['a2', 2, 'pump'], ['a3', 1, 'idle'], ['a4', 2, 'pump'], ['a5', 1, 'idle'], ['n1', 3, 'novel']];
  const tally = { correct: 0, wrong: 0, unpredicted: 0 };
  const hits: number[] = [];
  for (const [id, seed, label] of labelled) {
    const p = await send(id, seed, label);
    const outcome = p.label === null || p.label === undefined ? 'unpredicted' : p.label === label ? 'correct' : 'wrong';
    tally[outcome]++;
    hits.push(outcome === 'correct' ? 1 : 0);
  }
  const novel = preds.find((p) => p.id === 'n1')!;
  t.not(novel.label, 'novel', 'negative control: the new label was not predicted before it was known');
  const after = await send('q1', 3);
  t.equal(after.label, 'novel', 'control: once learned, the same features predict it (a scorer looking after learning would have counted n1 correct)');
  await device.publishAsync(obsTopic, JSON.stringify({ id: 'bad1', features: [1, 2] }), { qos: 1 });
  await until(() => learning.instance!.stats().rejected === 1, 10_000, 'the bad observation rejected');

  const stats = learning.instance!.stats();
  t.equal(stats.predicted, labelled.length + 1);
  const a = stats.accuracy;
  t.same({ correct: a.correct, wrong: a.wrong, unpredicted: a.unpredicted, total: a.total }, { ...tally, total: labelled.length }, `counts equal the tally from the wire ${JSON.stringify(tally)}`);
  t.ok(tally.correct >= 2 && tally.wrong >= 1, `the run exercises both outcomes: ${JSON.stringify(tally)}`);
  const last4 = hits.slice(-4).reduce((x, y) => x + y, 0);
  t.same({ windowTotal: a.windowTotal, windowCorrect: a.windowCorrect }, { windowTotal: 4, windowCorrect: last4 }, 'window: the last 4 labelled observations only');
  t.equal(a.accuracy, last4 / 4);
  t.not(a.accuracy, tally.correct / labelled.length, 'the windowed accuracy differs from the all-time one here (the window is real)');

  // /api/status, /metrics
  const api = JSON.parse((await get(rig.base + '/api/status')).body) as StatusSummary;
  t.same(api.learning?.accuracy, a, '/api/status carries the accuracy');
  const fam = await scrape(rig.base);
  t.equal(sample(fam, 'h3lix_feedback_predictions_total', { outcome: 'correct' }), tally.correct);
  t.equal(sample(fam, 'h3lix_feedback_predictions_total', { outcome: 'wrong' }), tally.wrong);
  t.equal(sample(fam, 'h3lix_feedback_predictions_total', { outcome: 'unpredicted' }), tally.unpredicted);
  t.equal(sample(fam, 'h3lix_feedback_accuracy_ratio'), last4 / 4);
  const h = family(fam, 'h3lix_inference_latency_seconds')!.metrics[0]!;
  const count = Number(h.count);
  t.equal(count, stats.predicted, 'one latency per inferred observation; the rejected one adds none');
  t.equal(count, learning.inference.stats().requests, 'equals the inference service’s own request count (onnxruntime runs)');
  const sum = Number(h.sum);
  t.ok(sum > 0, `sum ${sum} s of real time`);
  // (object keys: integer-like ones such as '1' come first, so order by the bound)
  const les = Object.keys(h.buckets!).sort((x, y) => (x === '+Inf' ? Infinity : Number(x)) - (y === '+Inf' ? Infinity : Number(y)));
  const cum = les.map((le) => Number(h.buckets![le]));
  t.same(les, ['0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '+Inf'], 'the bucket bounds');
  t.equal(cum.at(-1), count, '+Inf bucket = count');
  t.ok(cum.every((c, i) => i === 0 || c >= cum[i - 1]!), `cumulative buckets ${cum.join(',')}`);
  t.ok(sum / count < 2.5, `mean ${(1000 * sum / count).toFixed(2)} ms within the buckets`);

  // h3lix status, live from this daemon (text and --json)
  const cfg = join(dir, 'h3lix.yaml');
  writeFileSync(cfg, ['node:', `  dataDir: ${dataDir}`, `  fleet: ${fleet}`, 'status:', '  enabled: true', '  host: 127.0.0.1', `  port: ${rig.status.statusServer!.port}`, ''].join('\n'));
  const json = await cli(['status', '--config', cfg, '--json']);
  t.equal(json.code, 0, json.stderr);
  const out = JSON.parse(json.stdout.trim().split('\n').at(-1)!) as { summary: StatusSummary };
  t.equal(out.summary.from, 'daemon');
  t.same(out.summary.learning?.accuracy, a, '--json: the same accuracy');
  const text = await cli(['status', '--config', cfg]);
  t.match(text.stdout, new RegExp(`^learning  ${stats.predicted} predictions · ${labelled.length} feedback · 1 rejected · accuracy on feedback ${Math.round((100 * last4) / 4)} % over the last 4 \\(${last4} correct\\); since start ${tally.correct}/${labelled.length} correct, ${tally.wrong} wrong, ${tally.unpredicted} unpredicted$`, 'm'), text.stdout);
});
