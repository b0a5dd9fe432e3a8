/**
 * `h3lix eval --daemons` (docs/evaluation.md, "the daemon path"): the same experiment as the in-process
 * evaluation, through real daemons. One embedded aedes broker on loopback; one `createDaemon` per node
 * with the default features (store, transport, durable outbox, CCF sync, the learning feature with the
 * ONNX encoder in its inference worker). Each round, every node's training rows arrive as labelled
 * observations on `obs/<node>`; then every node's `signals` task runs (the privacy path of the
 * runtime) and the round ends when every field holds the same digest. After the last round the test
 * rows are sent unlabelled and scored from the predictions on `pred/<node>`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { validateConfig } from '../config/load.js';
import { H3lixError } from '../errors.js';
import { rs } from '../instance/eval/baselines.js';
import { AccuracyCounter } from '../instance/eval/metrics.js';
import { prepareFleetEval } from '../instance/eval/simulate.js';
import type { FleetEvalOptions, Scores } from '../instance/eval/types.js';
import { writeModelDir } from '../instance/model/model-writer.js';
import { EmbeddedBroker } from '../sync/embedded-broker.js';
import { createDaemon, type Daemon } from './daemon.js';
import { defaultFeatures, type FeatureHandles } from './features.js';

/** Options: the in-process evaluation's, plus how long one phase may wait. */
export interface DaemonEvalOptions extends FleetEvalOptions {
  /** Longest wait for one phase (observations absorbed, fields converged, predictions back), ms. Default 60000. */
  phaseTimeoutMs?: number;
}

/** What the daemon path measured. */
export interface DaemonEvalResult {
  ccf: Scores;
  /** Predictions that came back, of the test rows sent. */
  predictions: number;
  testRows: number;
  /** The state digest every daemon's field agreed on after the last round. */
  digest: string;
  seconds: number;
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new H3lixError('REQUEST_TIMEOUT', `eval --daemons: ${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Run the evaluation through real daemons. Cleans up its temporary directory and processes. */
export async function runDaemonEval(opts: DaemonEvalOptions): Promise<DaemonEvalResult> {
  const progress = opts.onProgress ?? (() => undefined);
  const t0 = Date.now();
  const timeout = opts.phaseTimeoutMs ?? 60_000;
  const prep = prepareFleetEval({ ...opts, onProgress: undefined });
  const { split, enc, novel } = prep;
  const root = mkdtempSync(join(tmpdir(), 'h3lix-eval-daemons-'));
  const broker = new EmbeddedBroker({ port: 0 });
  const daemons: Daemon[] = [];
  let client: mqtt.MqttClient | undefined;
  try {
    const modelDir = join(root, 'model');
    writeModelDir(modelDir, enc, { name: 'eval-encoder', version: '1.0.0', trainingData: `h3lix eval --daemons: ${prep.source}`, goldenInputs: prep.bootX.slice(0, 4), prototypes: opts.plausibilityGate !== false });
    await broker.start();
    const fleet = 'evald';
    const handles: FeatureHandles[] = [];
    for (let i = 0; i < split.nodes.length; i++) {
      const config = validateConfig({
        node: { dataDir: join(root, `node-${i}`), fleet, board: 'generic-x86' },
        broker: { embedded: { enabled: false }, url: broker.url, reconnectMs: 200 },
        sync: { debounceMs: 20, digestIntervalMs: 2000 },
        signals: { ...opts.signals, clipNorm: prep.clipNorm, publishIntervalSeconds: 86_400 },
        ccf: { ...opts.ccf, clipNorm: Math.max(opts.ccf.clipNorm, prep.clipNorm) },
        instance: { modelDir },
        log: { level: 'silent' },
      });
      const h: FeatureHandles = {};
      const d = createDaemon({ config, features: defaultFeatures(config, { handles: h }), drainTimeoutMs: 1000 });
      await d.start();
      daemons.push(d);
      handles.push(h);
    }
    progress(`daemons: ${daemons.length} daemons on ${broker.url}`);
    const ids = daemons.map((d) => d.context.nodeId);
    const c = await mqtt.connectAsync(broker.url, { clientId: 'h3lix-eval-driver', protocolVersion: 4 });
    client = c;
    const preds = new Map<string, string | undefined>();
    c.on('message', (_topic, payload) => {
      const p = JSON.parse(payload.toString('utf8')) as { id?: string; label?: string };
      if (typeof p.id === 'string' && p.id.startsWith('t')) preds.set(p.id, p.label);
    });
    await c.subscribeAsync(`h3lix/v1/${fleet}/pred/+`, { qos: 1 });
    const absorbed = (i: number): number => [...handles[i]!.learning!.stack.accumulator.local().values()].reduce((s, x) => s + x.count, 0);
    const expected = split.nodes.map(() => 0);
    for (let round = 0; round < opts.rounds; round++) {
      for (let i = 0; i < split.nodes.length; i++) {
        for (const r of split.nodes[i]!.trainByRound[round]!) {
          await c.publishAsync(`h3lix/v1/${fleet}/obs/${ids[i]}`, JSON.stringify({ id: `f${r}`, features: Array.from(opts.X[r]!), label: opts.y[r] }), { qos: 1 });
          expected[i]!++;
        }
      }
      await waitFor(() => expected.every((n, i) => absorbed(i) >= n), timeout, `round ${round + 1}: every labelled observation absorbed`);
      for (const h of handles) await h.energy!.scheduler.runNow('signals');
      const want = daemons.map((d) => d.context.field.localVersion());
      const converged = (): boolean => {
        const first = daemons[0]!.context.field.digest();
        return daemons.every((d) => d.context.field.digest() === first && ids.every((id, j) => (d.context.field.versionVector()[id] ?? 0) >= want[j]!));
      };
      await waitFor(converged, timeout, `round ${round + 1}: every field converged`);
      progress(`daemons: round ${round + 1}/${opts.rounds}: ${expected.reduce((a, b) => a + b, 0)} observations, fields agree (${daemons[0]!.context.field.size()} contributions)`);
    }
    let sent = 0;
    for (let i = 0; i < split.nodes.length; i++) {
      for (const r of split.nodes[i]!.test) {
        await c.publishAsync(`h3lix/v1/${fleet}/obs/${ids[i]}`, JSON.stringify({ id: `t${i}-${r}`, features: Array.from(opts.X[r]!) }), { qos: 1 });
        sent++;
      }
    }
    await waitFor(() => preds.size >= sent, timeout, `${sent} predictions`);
    const counter = new AccuracyCounter();
    split.nodes.forEach((share, i) => {
      const held = new Set(share.classes);
      for (const r of share.test) counter.add(preds.get(`t${i}-${r}`) === opts.y[r], !held.has(opts.y[r]!), novel.has(opts.y[r]!));
    });
    return { ccf: rs(counter.result()), predictions: preds.size, testRows: sent, digest: daemons[0]!.context.field.digest(), seconds: Math.round((Date.now() - t0) / 100) / 10 };
  } finally {
    await client?.endAsync(true).catch(() => undefined);
    for (const d of daemons) await d.stop('eval done').catch(() => undefined);
    await broker.stop().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  }
}
