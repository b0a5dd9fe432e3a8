/**
 * The learning feature of the daemon (DESIGN sections 4-6, docs/daemon.md, docs/signals.md "Wiring"):
 * inference worker + learning stack (privacy accountant persisted in the kv store, accumulator,
 * publisher, conditioner, local history) + the personal instance (obs → pred on the broker), with the
 * periodic work registered on the energy scheduler:
 * - `signals`: release noised signals into the CCF field every `signals.publishIntervalSeconds`,
 *   only in normal/surplus (not deferrable: a gated release is dropped, the next comes on cadence).
 * - `local-evolution`: retrain the local head every `instance.evolutionIntervalSeconds` × the
 *   `learning` cadence, normal/surplus, budget-checked, under the update lock.
 * Model swaps (`handles.learning.swapModel`) take the same update lock.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { H3lixError, describeError } from '../../errors.js';
import { inferenceServiceFromConfig, type InferenceService } from '../../instance/inference/index.js';
import { PersonalInstance } from '../../instance/personal-instance.js';
import { createLearningStack, kvPrivacyPersistence, type LearningStack } from '../../signals/index.js';
import { moduleLogger, type Logger } from '../../util/logger.js';
import type { DaemonContext, Feature, FeatureFactory } from '../feature.js';
import type { FeatureHandles } from './handles.js';

/** How long start() waits for the instance's broker subscription before going on in the background, ms. */
const SUBSCRIBE_GRACE_MS = 5000;

/** The factory `defaultFeatures` uses; needs the energy feature started before it (same handles). */
export function learningFeatureFactory(handles: FeatureHandles): FeatureFactory {
  return (ctx) => new DaemonLearningFeature(ctx, handles);
}

/**
 * The broker the instance's own client connects to: the daemon's (`broker.url`, else the embedded
 * broker). The daemon's Transport subscribes a fixed topic set and has no subscribe API, so the
 * instance uses a second mqtt.js client with the same credentials.
 */
export function instanceBrokerUrl(ctx: DaemonContext): { url: string; protocolVersion: 4 | 5 } {
  const upstream = ctx.config.broker.url;
  if (upstream) return { url: upstream, protocolVersion: ctx.config.broker.protocolVersion };
  if (ctx.broker) return { url: ctx.broker.url, protocolVersion: 4 }; // aedes speaks 3.1.1 only
  throw new H3lixError('CONFIG_INVALID', 'learning: no broker.url and no embedded broker to connect the personal instance to');
}

export class DaemonLearningFeature implements Feature {
  readonly name = 'learning';
  private svc: InferenceService | undefined;
  private stack: LearningStack | undefined;
  private instance: PersonalInstance | undefined;
  private client: MqttClient | undefined;
  private unhook: (() => void) | undefined;
  private running = false;
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
    await svc.start();
    this.svc = svc;
    this.running = true;
    const stack = createLearningStack({
      signals: config.signals,
      field: ctx.field,
      clock: ctx.clock,
      persistence: kvPrivacyPersistence(ctx.kv),
      logger: moduleLogger(ctx.logger, 'signals'),
      busyWatts: energy.profile.power.busyWatts,
      onHead: (h) => this.log.info({ classes: h.classes.length }, 'local head retrained'),
    });
    this.stack = stack;
    // stack.start() would also start the publisher's own timer; the scheduler owns that cadence here.
    this.unhook = ctx.field.onChange(() => stack.conditioner.invalidate());

    const { url, protocolVersion } = instanceBrokerUrl(ctx);
    const client = mqtt.connect(url, {
      clientId: `h3lix-${ctx.fleet}-${ctx.nodeId}-instance`.slice(0, 128),
      protocolVersion,
      clean: true,
      reconnectPeriod: config.broker.reconnectMs,
      keepalive: config.broker.keepaliveSeconds,
      ...(config.broker.username !== undefined ? { username: config.broker.username } : {}),
      ...(config.broker.password !== undefined ? { password: config.broker.password } : {}),
    });
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
    });
    this.instance = instance;

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
      },
    });

    this.handles.learning = {
      inference: svc,
      stack,
      instance,
      swapModel: (dir) => scheduler.withUpdateLock('model-swap', () => svc.swap(dir)),
    };
    const subscribed = instance.start();
    const grace = new Promise<'late'>((resolve) => {
      const h = ctx.clock.setTimeout(() => resolve('late'), SUBSCRIBE_GRACE_MS);
      void subscribed.finally(() => ctx.clock.clearTimeout(h)).catch(() => undefined);
    });
    const first = await Promise.race([subscribed.then(() => 'ok' as const), grace]).catch((err: unknown) => {
      this.log.warn({ err: describeError(err) }, 'personal instance subscribe failed');
      return 'failed' as const;
    });
    if (first === 'late') {
      this.log.warn({ broker: url }, 'personal instance not subscribed yet; it will subscribe when the broker is reachable');
      subscribed.catch((err: unknown) => this.log.warn({ err: describeError(err) }, 'personal instance subscribe failed'));
    }
    this.log.info({ obs: instance.topics.obs, pred: instance.topics.pred, model: svc.manifest.name }, 'personal instance started');
  }

  async stop(): Promise<void> {
    this.running = false;
    this.handles.learning = undefined;
    await this.instance?.stop().catch((err: unknown) => this.log.warn({ err: describeError(err) }, 'instance stop failed'));
    this.stack?.stop();
    this.unhook?.();
    await this.client?.endAsync(true).catch(() => undefined);
    await this.svc?.stop().catch((err: unknown) => this.log.warn({ err: describeError(err) }, 'inference stop failed'));
    this.instance = undefined;
    this.stack = undefined;
    this.client = undefined;
    this.unhook = undefined;
    this.svc = undefined;
  }
}
