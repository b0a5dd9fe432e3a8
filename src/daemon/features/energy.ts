/**
 * The energy feature of the daemon (DESIGN section 6, docs/daemon.md): firmware-bridge source →
 * EnergyFeature (estimator, policy, scheduler) → retained signed `energy/<node>` envelope, the energy
 * mode in the birth, the CCF sync cadence scaled per mode, and the scheduler shared with later
 * features through {@link FeatureHandles}.
 */
import { existsSync } from 'node:fs';
import { encode as cborEncode } from 'cbor-x';
import type { H3lixConfig } from '../../config/schema.js';
import { EnergyFeature, loadBoardProfile, type BoardProfile, type EnergyMode, type EnergyReading, type PublishedEnergy } from '../../energy/index.js';
import { describeError } from '../../errors.js';
import { SqliteEnergyHistoryStore } from '../../store/energy-history.js';
import { moduleLogger, type Logger } from '../../util/logger.js';
import { openEnergySource } from '../../../firmware-bridge/src/source/open.js';
import type { EnergySource } from '../../../firmware-bridge/src/source/energy-source.js';
import { parseSourceUri, sourceUriFromProfile } from '../../../firmware-bridge/src/source/uri.js';
import { McuPowerClient } from '../../../firmware-bridge/src/mcu/power-client.js';
import { SleepControl } from '../../energy/sleep-control.js';
import type { DaemonContext, Feature, FeatureFactory } from '../feature.js';
import type { FeatureHandles } from './handles.js';

/**
 * Where readings come from: `energySource.uri` when set (opened whatever happens, reconnecting), else
 * the board profile's serial device, but only if that path exists now (a desktop without a battery
 * monitor must not retry a missing /dev/ttyUSB0 forever). Undefined = no source.
 */
export function resolveEnergySourceUri(config: H3lixConfig, profile: BoardProfile, exists: (path: string) => boolean = existsSync): string | undefined {
  if (config.energySource.uri) return config.energySource.uri;
  const uri = sourceUriFromProfile(profile.serial, config.energySource.modbusVariant);
  const spec = parseSourceUri(uri);
  if (spec.transport.kind === 'serial' && !exists(spec.transport.path)) return undefined;
  return uri;
}

/** The factory `defaultFeatures` uses; fills `handles.energy` on start. */
export function energyFeatureFactory(handles: FeatureHandles): FeatureFactory {
  return (ctx) => new DaemonEnergyFeature(ctx, handles);
}

/**
 * One `Feature` around `EnergyFeature`. Without a source the scheduler runs a fixed schedule (every
 * task at its base interval, no mode or budget gate): there is no mode but the nominal 'normal' and no
 * budget to check, and an adaptive scheduler would deny every deferrable task for want of a budget.
 */
export class DaemonEnergyFeature implements Feature {
  readonly name = 'energy';
  private energy: EnergyFeature | undefined;
  private source: EnergySource | undefined;
  /** Planned sleep through the companion MCU (`mcu:` sources only). */
  sleep: SleepControl | undefined;
  private offs: Array<() => void> = [];
  private readonly log: Logger;

  constructor(
    private readonly ctx: DaemonContext,
    private readonly handles: FeatureHandles,
  ) {
    this.log = moduleLogger(ctx.logger, 'energy');
  }

  async start(): Promise<void> {
    const { ctx } = this;
    const config = ctx.config;
    const profile = loadBoardProfile(config.node.board);
    const uri = resolveEnergySourceUri(config, profile);
    const source = uri ? openEnergySource(uri, { clock: ctx.clock, logger: ctx.logger }) : undefined;
    if (!source) this.log.info({ board: profile.name, device: profile.serial.path }, 'no energy source; energy gating stays in normal mode');
    const energy = new EnergyFeature({
      clock: ctx.clock,
      logger: this.log,
      profile,
      config: config.energy,
      fixedSchedule: !source,
      // DESIGN section 9: history survives power loss; a restart loads it back (forecaster warm-up)
      historyStore: new SqliteEnergyHistoryStore({ store: ctx.store, maxPoints: config.energy.historyMaxPoints }),
      ...(source ? { readings: (fn: (r: EnergyReading) => void) => source.events.on('reading', fn) } : {}),
      publish: (s) => this.publish(s),
    });
    this.energy = energy;
    this.source = source;
    this.offs.push(energy.policy.events.on('mode', (c) => this.onMode(c.to)));
    this.handles.energy = { feature: energy, scheduler: energy.scheduler, profile, sourceUri: uri, mcu: () => source?.mcu?.() };
    energy.start();
    await energy.historyRestored();
    if (source && uri?.startsWith('mcu:')) this.startSleepControl(source, energy, profile);
    if (source) {
      this.offs.push(source.events.on('status', (s) => this.log.debug({ source: uri, state: s.state, reason: s.reason }, 'energy source status')));
      source.start();
      this.log.info({ source: uri, board: profile.name }, 'energy source opened');
    }
  }

  async stop(): Promise<void> {
    for (const off of this.offs) off();
    this.offs = [];
    await this.sleep?.stop(); // SHUTDOWN_ACK, if a sleep is armed
    this.sleep = undefined;
    await this.source?.stop().catch((err: unknown) => this.log.warn({ err: describeError(err) }, 'energy source stop failed'));
    await this.energy?.stop();
    this.source = undefined;
    this.energy = undefined;
    this.handles.energy = undefined;
  }

  /** Companion MCU: wake reason into the birth at every link open, planned sleeps, heartbeats. */
  private startSleepControl(source: EnergySource, energy: EnergyFeature, profile: BoardProfile): void {
    const { ctx } = this;
    const port = () => {
      const client = source.mcu?.();
      return client ? new McuPowerClient(client) : undefined;
    };
    const sleep = new SleepControl({
      clock: ctx.clock, config: ctx.config.energy.sleep, energy, profile, capacityWh: ctx.config.energy.capacityWh ?? profile.battery.capacityWh, port, logger: this.log,
      onSleep: (reason) => ctx.events.emit('shutdownRequested', `planned sleep: ${reason}`),
      onWake: (wake) => {
        ctx.presence.wake = wake;
        ctx.refreshBirth();
        this.log.info(wake, 'woken by the companion MCU');
      },
    });
    this.sleep = sleep;
    if (this.handles.energy) this.handles.energy.sleep = sleep;
    let noticeOff: (() => void) | undefined;
    this.offs.push(
      source.events.on('status', (s) => {
        if (s.state !== 'open') return;
        // 'open' is emitted just before the session (and its MCU client) is attached
        queueMicrotask(() => {
          noticeOff?.();
          noticeOff = source.mcu?.()?.events.on('notice', (n) => sleep.notice(n.reason));
          void sleep.connected();
        });
      }),
      () => noticeOff?.(),
    );
    sleep.start();
  }

  /** Retained, QoS 0, coalesced (only the newest snapshot waits in the outbox); body is CBOR. */
  private publish(s: PublishedEnergy): void {
    const { ctx } = this;
    if (ctx.presence.energyMode !== s.mode) {
      ctx.presence.energyMode = s.mode;
      ctx.refreshBirth();
    }
    ctx.sendEnvelope({ kind: 'energy', topic: ctx.topics.energy(ctx.nodeId), body: cborEncode(s), qos: 0, retain: true, coalesceKey: 'energy' });
  }

  /** The policy already switched (`policy.mode()` is `mode`): re-time sync, tell the birth and the other features. */
  private onMode(mode: EnergyMode): void {
    const { ctx } = this;
    const scheduler = this.energy?.scheduler;
    if (!scheduler) return;
    const multiplier = scheduler.cadenceFor('sync');
    try {
      ctx.sync.setCadence(multiplier);
    } catch (err) {
      this.log.warn({ err: describeError(err), multiplier }, 'sync cadence not applied');
    }
    ctx.presence.energyMode = mode;
    ctx.refreshBirth();
    ctx.events.emit('energyMode', mode);
    this.log.info({ mode, syncCadence: multiplier }, 'energy mode applied to the daemon');
  }
}
