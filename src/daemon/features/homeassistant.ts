/**
 * The Home Assistant feature (docs/status.md): MQTT discovery of this board's sensors, their JSON
 * state, availability wired to the node's birth/death, republished (jittered) whenever Home Assistant
 * announces `<prefix>/status` = `online` and on every reconnect (a restarted broker lost the retained
 * configs), stale entities removed. Uses its own client (the daemon's transport has a fixed topic set).
 */
import type { MqttClient } from 'mqtt';
import { componentDiscovery, componentTopic, deviceDiscovery, deviceTopic, type DiscoveryInput, type DiscoveryMessage } from '../../homeassistant/discovery.js';
import { EnergyCounter } from '../../homeassistant/energy-counter.js';
import { boardSensors } from '../../homeassistant/sensors.js';
import { haState } from '../../homeassistant/state.js';
import { closeAuxClient, openAuxClient } from '../../status/aux-client.js';
import type { TimerHandle } from '../../util/clock.js';
import { moduleLogger, type Logger } from '../../util/logger.js';
import type { DaemonContext, Feature, FeatureFactory } from '../feature.js';
import type { FeatureHandles } from './handles.js';

/** What was last published (kv), so a later start can remove what is gone. */
interface Published {
  mode: 'device' | 'component';
  ids: string[];
}
const PUBLISHED_KEY = 'homeassistant.published';

/** Options of {@link homeassistantFeatureFactory}: `random` jitter source (default Math.random), `onStarted`. */
export interface HomeassistantFeatureOptions {
  random?: () => number;
  onStarted?: (f: DaemonHomeassistantFeature) => void;
}

export function homeassistantFeatureFactory(handles: FeatureHandles, opts: HomeassistantFeatureOptions = {}): FeatureFactory {
  return (ctx) => new DaemonHomeassistantFeature(ctx, handles, opts);
}

export class DaemonHomeassistantFeature implements Feature {
  readonly name = 'homeassistant';
  private client: MqttClient | undefined;
  private counter: EnergyCounter | undefined;
  private stateTimer: TimerHandle | undefined;
  private republishTimer: TimerHandle | undefined;
  private offs: Array<() => void> = [];
  private removed: string[] = [];
  private clear: string[] = [];
  private running = false;
  private readonly log: Logger;
  /** Config publications (each a full set) and state publications, for tests and logs. */
  readonly stats = { configSets: 0, states: 0, republishRequests: 0 };

  constructor(
    private readonly ctx: DaemonContext,
    private readonly handles: FeatureHandles,
    private readonly opts: HomeassistantFeatureOptions = {},
  ) {
    this.log = moduleLogger(ctx.logger, 'homeassistant');
  }

  get stateTopic(): string {
    return `${this.ctx.topics.root}ha/${this.ctx.nodeId}`;
  }

  async start(): Promise<void> {
    const { ctx } = this;
    const cfg = ctx.config.homeassistant;
    if (ctx.config.fleet.enabled) {
      // The fleet ACL (src/fleet/acl-policy.ts) lets a node publish only under its own fleet topics:
      // `<prefix>/...` and `ha/<node>` are refused (aedes closes the connection, which would then
      // reconnect forever), and on Mosquitto a second connection displaces the daemon's.
      this.log.error({ prefix: cfg.prefix }, `Home Assistant discovery not started: fleet mode, and the fleet ACL grants a node neither ${cfg.prefix}/# nor ${ctx.topics.root}ha/<node> (docs/status.md "Fleet mode"); bridge the fleet broker to Home Assistant's instead`);
      this.opts.onStarted?.(this);
      return;
    }
    this.running = true;
    this.counter = new EnergyCounter(ctx.kv);
    const prev = this.loadPublished();
    const ids = this.input().sensors.map((s) => s.id);
    if (prev) {
      this.removed = prev.ids.filter((id) => !ids.includes(id));
      // the discovery layout changed: clear what the other layout left retained
      if (prev.mode !== cfg.discovery) this.clear = prev.mode === 'device' ? [deviceTopic(cfg.prefix, ctx.nodeId)] : prev.ids.map((id) => componentTopic(cfg.prefix, ctx.nodeId, id));
    }
    this.client = openAuxClient(ctx, {
      suffix: 'ha',
      subscriptions: [`${cfg.prefix}/status`],
      onMessage: (topic, payload) => this.onMessage(topic, payload),
      onConnect: () => this.publishAll('connect'),
      logger: this.log,
    });
    this.offs.push(ctx.events.on('energyMode', () => this.publishState()));
    this.armState();
    this.log.info({ prefix: cfg.prefix, discovery: cfg.discovery, state: this.stateTopic, sensors: ids.length, removing: this.removed }, 'Home Assistant discovery enabled');
    this.opts.onStarted?.(this);
    await Promise.resolve();
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const off of this.offs.splice(0)) off();
    if (this.stateTimer) this.ctx.clock.clearTimeout(this.stateTimer);
    if (this.republishTimer) this.ctx.clock.clearTimeout(this.republishTimer);
    this.stateTimer = this.republishTimer = undefined;
    this.counter?.save();
    await closeAuxClient(this.client);
    this.client = undefined;
  }

  /** The discovery messages for the current configuration (exported for `h3lix status` and tests). */
  messages(): DiscoveryMessage[] {
    const i = this.input();
    const cfg = this.ctx.config.homeassistant;
    const main = cfg.discovery === 'device' ? [deviceDiscovery(i)] : componentDiscovery(i);
    return [...this.clear.map((topic) => ({ topic, payload: '' })), ...main];
  }

  private input(): DiscoveryInput {
    const { ctx } = this;
    const cfg = ctx.config.homeassistant;
    return {
      prefix: cfg.prefix,
      nodeId: ctx.nodeId,
      board: ctx.config.node.board,
      deviceName: cfg.deviceName ?? `h3lix ${ctx.nodeId}`,
      stateTopic: this.stateTopic,
      availabilityTopic: ctx.topics.state(ctx.nodeId),
      expireAfter: cfg.expireAfterSeconds,
      sensors: boardSensors({ learning: this.handles.learning !== undefined }),
      removed: this.removed,
    };
  }

  private onMessage(topic: string, payload: Buffer): void {
    const cfg = this.ctx.config.homeassistant;
    if (topic !== `${cfg.prefix}/status` || payload.toString('utf8').trim() !== 'online') return;
    this.stats.republishRequests += 1;
    if (this.republishTimer) return; // one republish per burst of births
    // [HA MQTT docs, "birth and last will"]: wait a random moment so a fleet does not answer at once
    const delay = Math.floor((this.opts.random ?? Math.random)() * cfg.republishJitterMs);
    this.republishTimer = this.ctx.clock.setTimeout(() => {
      this.republishTimer = undefined;
      this.publishAll('homeassistant online');
    }, delay);
  }

  private publishAll(why: string): void {
    const client = this.client;
    if (!client || !this.running) return;
    const msgs = this.messages();
    let pending = msgs.length;
    let failed = false;
    for (const m of msgs) {
      client.publish(m.topic, m.payload, { qos: 1, retain: true }, (err) => {
        if (err) failed = true;
        if (--pending === 0 && !failed) this.published();
      });
    }
    this.stats.configSets += 1;
    this.log.debug({ why, messages: msgs.length }, 'Home Assistant discovery published');
    this.publishState();
  }

  /** Configs acknowledged: remember what exists now; removals and clears are done. */
  private published(): void {
    const cfg = this.ctx.config.homeassistant;
    const ids = this.input().sensors.map((s) => s.id);
    this.ctx.kv.set(PUBLISHED_KEY, JSON.stringify({ mode: cfg.discovery, ids } satisfies Published));
    this.removed = [];
    this.clear = [];
  }

  private loadPublished(): Published | undefined {
    try {
      const v = JSON.parse(this.ctx.kv.getString(PUBLISHED_KEY) ?? 'null') as Published | null;
      return v && (v.mode === 'device' || v.mode === 'component') && Array.isArray(v.ids) ? { mode: v.mode, ids: v.ids.filter((x) => typeof x === 'string') } : undefined;
    } catch {
      return undefined;
    }
  }

  private publishState(): void {
    const client = this.client;
    if (!client?.connected || !this.counter) return;
    const snap = this.handles.energy?.feature.snapshot()?.toPublished();
    const totals = snap ? this.counter.sample(snap.time, snap.pvPower, snap.loadPower) : this.counter.current;
    const acc = this.handles.learning?.stack.accountant.snapshot();
    const state = haState({ energy: snap, totals, outbox: this.ctx.outbox.size().messages, fieldContributions: this.ctx.field.size(), privacyEpsilon: acc?.epsilon });
    client.publish(this.stateTopic, JSON.stringify(state), { qos: 0, retain: false });
    this.stats.states += 1;
  }

  private armState(): void {
    this.stateTimer = this.ctx.clock.setTimeout(() => {
      if (!this.running) return;
      this.publishState();
      this.counter?.save();
      this.armState();
    }, this.ctx.config.homeassistant.stateIntervalSeconds * 1000);
    this.stateTimer.unref?.();
  }
}
