/**
 * The learning feature of the daemon (DESIGN sections 4-6, docs/daemon.md, docs/signals.md "Wiring"):
 * inference worker + learning stack (privacy accountant persisted in the kv store, accumulator,
 * publisher, conditioner, local history) + the personal instance (obs → pred on the broker), with the
 * periodic work registered on the energy scheduler:
 * - `signals`: release noised signals into the CCF field every `signals.publishIntervalSeconds`,
 *   only in normal/surplus (not deferrable: a gated release is dropped, the next comes on cadence).
 * - `local-evolution`: retrain the local head every `instance.evolutionIntervalSeconds` × the
 *   `learning` cadence, normal/surplus, budget-checked, under the update lock; the new head is
 *   installed into the conditioner inside that run, so predictions switch to it (source 'head')
 *   while the lock is held and never mid-observation.
 * Model swaps (`handles.learning.swapModel`) take the same update lock and drop the local head (it
 * was trained in the old encoder's embedding space; the next evolution round trains a new one).
 */
import type { MqttClient } from 'mqtt';
import { H3lixError, describeError } from '../../errors.js';
import { inferenceServiceFromConfig, type InferenceService } from '../../instance/inference/index.js';
import { PersonalInstance } from '../../instance/personal-instance.js';
import { gatedField, readModelPrototypes } from '../../instance/conditioning/gated-field.js';
import { PlausibilityGate } from '../../instance/conditioning/plausibility.js';
import { createLearningStack, kvPrivacyPersistence, type LearningStack } from '../../signals/index.js';
import { LatencyHistogram } from '../../util/histogram.js';
import { moduleLogger, type Logger } from '../../util/logger.js';
import type { DaemonContext, Feature, FeatureFactory } from '../feature.js';
import type { FeatureHandles } from './handles.js';
import { connectAsNode } from '../login-client.js';

/** How long start() waits for the instance's broker subscription before going on in the background, ms. */
const SUBSCRIBE_GRACE_MS = 5000;

/** The factory `defaultFeatures` uses; needs the energy feature started before it (same handles). */
export function learningFeatureFactory(handles: FeatureHandles): FeatureFactory {
  return (ctx) => new DaemonLearningFeature(ctx, handles);
}

export class DaemonLearningFeature implements Feature {
  readonly name = 'learning';
  private svc: InferenceService | undefined;
  private stack: LearningStack | undefined;
  private instance: PersonalInstance | undefined;
  private client: MqttClient | undefined;
  private unhook: (() => void) | undefined;
  private offs: Array<() => void> = [];
  private running = false;
  /** Observation → prediction latency of the personal instance (`h3lix_inference_latency_seconds`). */
  private readonly latency = new LatencyHistogram();
  private readonly log: Logger;

  constructor(
    private readonly ctx: DaemonContext,
    private readonly handles: FeatureHandles,
  ) {
    this.log = moduleLogger(ctx.logger, 'learning');
  }

  async start(): Promise<void> {
    try {
      await this.startInner();
    } catch (err) {
      await this.stop(); // the daemon only stops features whose start() resolved
      throw err;
    }
  }

  private async startInner(): Promise<void> {
    const { ctx } = this;
    const energy = this.handles.energy;
    if (!energy) throw new H3lixError('INTERNAL', 'learning feature needs the energy feature started before it (defaultFeatures order)');
    const scheduler = energy.scheduler;
    const config = ctx.config;

    const svc = inferenceServiceFromConfig(config.instance, moduleLogger(ctx.logger, 'inference'), ctx.clock);
    this.svc = svc; // set first: a failed start still stops it
    await svc.start();
    this.running = true;
    // The plausibility gate (docs/evaluation.md) when the model ships its encoder's prototypes.
    const prototypes = readModelPrototypes(config.instance.modelDir);
    const late: { stack?: LearningStack } = {}; // the gate reads the accumulator the stack creates
    const field = prototypes
      ? gatedField({ field: ctx.field, gate: new PlausibilityGate({ prototypes, minAnchorCount: config.signals.minCount, noiseStd: config.signals.noiseMultiplier * config.signals.clipNorm }), local: () => late.stack?.accumulator.local() ?? new Map(), clipNorm: config.ccf.clipNorm, self: ctx.nodeId, clock: ctx.clock })
      : ctx.field;
    if (prototypes) this.log.info({ classes: prototypes.size }, 'plausibility gate on: the model ships its prototypes');
    const stack = createLearningStack({
      signals: config.signals,
      field,
      clock: ctx.clock,
      persistence: kvPrivacyPersistence(ctx.kv),
      logger: moduleLogger(ctx.logger, 'signals'),
      busyWatts: energy.profile.power.busyWatts,
      onHead: (h) => this.log.info({ classes: h.classes.length }, 'local head retrained'),
    });
    this.stack = stack;
    late.stack = stack;
    // stack.start() would also start the publisher's own timer; the scheduler owns that cadence here.
    this.unhook = ctx.field.onChange(() => stack.conditioner.invalidate());

    const instance = this.startInstance(stack, svc);

    scheduler.register({
      name: 'signals',
      intervalMs: config.signals.publishIntervalSeconds * 1000,
      minMode: 'normal',
      deferrable: false,
      ready: () => !stack.publisher.budgetSpent(),
      run: () => {
        if (this.running) stack.publisher.publishNow();
        return Promise.resolve();
      },
    });
    scheduler.register({
      name: stack.evolution.name,
      intervalMs: config.instance.evolutionIntervalSeconds * 1000,
      cadence: 'learning',
      minMode: 'normal',
      updateLock: true,
      deadlineMs: 24 * 3_600_000,
      costEstimateJ: stack.evolution.costEstimateJ,
      ready: () => stack.history.size() > 0,
      run: async (t) => {
        if (!this.running) return;
        const r = await stack.evolution.run();
        t.reportCpuMs(r.seconds * 1000);
        // still inside the scheduler's update lock (updateLock: true): swap the head predictions use
        const head = stack.evolution.head();
        if (r.trained && head && this.running) stack.conditioner.installHead(head);
      },
    });

    this.offs.push(
      ctx.events.on('evolutionRequested', (reason) => {
        this.log.info({ reason }, 'evolution requested');
        void scheduler.runNow(stack.evolution.name).then(
          (ran) => this.log.info({ ran, gate: ran ? undefined : scheduler.check(stack.evolution.name).reason }, 'requested evolution round'),
          (err: unknown) => this.log.warn({ err: describeError(err) }, 'requested evolution failed'),
        );
      }),
    );
    this.handles.learning = {
      inference: svc,
      stack,
      instance,
      inferenceLatency: this.latency,
      swapModel: (dir) =>
        scheduler.withUpdateLock('model-swap', async () => {
          const manifest = await svc.swap(dir);
          stack.conditioner.installHead(undefined);
          return manifest;
        }),
    };
    await this.awaitSubscribed(instance, ctx.login.url);
  }

  private startInstance(stack: LearningStack, svc: InferenceService): PersonalInstance {
    const { ctx } = this;
    const config = ctx.config;
    const client = connectAsNode(ctx, 'instance');
    client.on('error', (err) => this.log.debug({ err: err.message }, 'instance mqtt error'));
    this.client = client;
    const instance = new PersonalInstance({
      mqtt: client,
      topicPrefix: ctx.topics.root,
      nodeId: ctx.nodeId,
      embedder: svc,
      conditioner: stack.conditioner,
      accumulator: stack.accumulator,
      history: stack.history,
      clipNorm: config.signals.clipNorm,
      clock: ctx.clock,
      logger: moduleLogger(ctx.logger, 'instance'),
      latency: this.latency,
      feedbackWindow: config.instance.feedbackWindow,
    });
    this.instance = instance;
    return instance;
  }

  /**
   * Subscribe now and again on every (re)connect (a refused or failed first connect gives up the
   * subscription in mqtt.js), and wait (bounded) for the first success so a started daemon answers at
   * once; later is fine too.
   */
  private async awaitSubscribed(instance: PersonalInstance, url: string): Promise<void> {
    const { ctx } = this;
    const client = this.client!;
    let done!: () => void;
    const first = new Promise<'ok'>((resolve) => (done = () => resolve('ok')));
    let warned = false;
    const subscribe = (p: Promise<unknown>) =>
      void p.then(
        (granted) => {
          // SUBACK 0x80: the broker's ACL refused the topic (e.g. a fleet ACL without obs/<node>)
          if (Array.isArray(granted) && granted.some((g) => (g as { qos?: number }).qos === 128)) {
            if (!warned) this.log.warn({ topic: instance.topics.obs }, 'broker refused the personal instance subscription (ACL)');
            warned = true;
            return;
          }
          done();
        },
        (err: unknown) => this.log.debug({ err: describeError(err) }, 'instance subscribe failed; retried on the next connect'),
      );
    client.on('connect', () => subscribe(client.subscribeAsync(instance.topics.obs, { qos: 1 })));
    void instance.start().catch((err: unknown) => this.log.debug({ err: describeError(err) }, 'instance start subscribe failed; retried on the next connect'));
    if (client.connected) subscribe(client.subscribeAsync(instance.topics.obs, { qos: 1 }));
    let timer: ReturnType<typeof ctx.clock.setTimeout> | undefined;
    const grace = new Promise<'late'>((resolve) => (timer = ctx.clock.setTimeout(() => resolve('late'), SUBSCRIBE_GRACE_MS)));
    const outcome = await Promise.race([first, grace]);
    if (timer) ctx.clock.clearTimeout(timer);
    if (outcome === 'late') this.log.warn({ broker: url }, 'personal instance not subscribed yet; it subscribes when the broker accepts its connection');
    this.log.info({ obs: instance.topics.obs, pred: instance.topics.pred, model: this.svc!.manifest.name }, 'personal instance started');
  }

  async stop(): Promise<void> {
    this.running = false;
    this.handles.learning = undefined;
    for (const off of this.offs.splice(0)) off();
    const client = this.client;
    // mqtt.js queues an UNSUBSCRIBE while offline and never settles it: a client that is not
    // connected (broker down, credentials refused) is closed first, so instance.stop() cannot hang.
    if (client && !client.connected) await client.endAsync(true).catch(() => undefined);
    await this.instance?.stop().catch((err: unknown) => this.log.warn({ err: describeError(err) }, 'instance stop failed'));
    this.stack?.stop();
    this.unhook?.();
    await client?.endAsync(true).catch(() => undefined);
    await this.svc?.stop().catch((err: unknown) => this.log.warn({ err: describeError(err) }, 'inference stop failed'));
    this.instance = undefined;
    this.stack = undefined;
    this.client = undefined;
    this.unhook = undefined;
    this.svc = undefined;
  }
}
