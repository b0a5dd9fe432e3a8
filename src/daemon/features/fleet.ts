import type { H3lixConfig } from '../../config/schema.js';
import { H3lixError } from '../../errors.js';
import type { FleetNode } from '../../fleet/fleet-node.js';
import { moduleLogger } from '../../util/logger.js';
import type { EmbeddedBroker } from '../../sync/embedded-broker.js';
import { withPlug, type CorePlug } from '../core-plug.js';
import type { FeatureHandles } from './handles.js';
import { mcuFlashCommandFeature } from './mcu-flash-command.js';
import { updateFeature } from './update.js';
import type { Feature, FeatureFactory } from '../feature.js';

/** What `CcfSync` offers for the `set-sync-cadence` command (the energy helper's `setCadence`). */
interface CadenceSetter {
  setCadence?: (multiplier: number) => void;
  cadenceMultiplier?: () => number;
}

/**
 * What fleet mode plugs into the daemon core (docs/fleet.md "Wiring"): certified senders only
 * (`keys`), the fleet inbound filter, the fleet topics, token credentials and the node certificate
 * re-read on every reconnect (`login`), revoked origins excluded from the field, and the fleet's aedes
 * hooks when this node runs the embedded broker (or the broker gateway boot already started with
 * them). The broker URL is the embedded broker's when it runs here and `broker.url` is unset, else
 * `fleetNode.brokerUrl` (`broker.url`, else the board image's).
 */
export function fleetPlug(fn: FleetNode, config: H3lixConfig, gatewayBroker?: EmbeddedBroker): CorePlug {
  const embeddedHere = config.broker.embedded.enabled && config.broker.url === undefined;
  return {
    name: 'fleet',
    keys: () => fn.resolver,
    inbound: fn.inboundFilter,
    subscriptions: fn.subscriptions,
    login: {
      ...(embeddedHere ? {} : { url: fn.brokerUrl }),
      credentials: (clientId) => fn.brokerCredentials(clientId),
      tls: () => fn.brokerTls(),
    },
    excludeOrigin: (origin) => fn.isRevoked(origin),
    ...(gatewayBroker ? { broker: gatewayBroker } : config.broker.embedded.enabled ? { brokerAuth: fn.brokerHooks } : {}),
  };
}

/**
 * Fleet mode as daemon features (what `h3lix run` adds when `fleet.enabled`): the fleet feature,
 * carrying the core plug above; the `mcu-flash` command; the `update` command when `update.enabled`.
 */
export function fleetMode(fn: FleetNode, config: H3lixConfig, o: { handles: FeatureHandles; gatewayBroker?: EmbeddedBroker }): FeatureFactory[] {
  return [withPlug(fleetFeature(fn), fleetPlug(fn, config, o.gatewayBroker)), mcuFlashCommandFeature(fn, o.handles), ...(config.update.enabled ? [updateFeature(fn, config)] : [])];
}

/**
 * The fleet feature (DESIGN section 8): publishes the certificate in the birth, routes command
 * replies and renewed certificates through the transport, runs the certificate renewer, and registers
 * the daemon-level commands `set-sync-cadence` and `trigger-evolution` (`ping` and
 * `renew-certificate` are built into the FleetNode).
 */
export function fleetFeature(fn: FleetNode): FeatureFactory {
  return (ctx): Feature => {
    const log = moduleLogger(ctx.logger, 'fleet-feature');
    const offs: Array<() => void> = [];
    return {
      name: 'fleet',
      start: async () => {
        ctx.presence.certificate = Buffer.from(fn.provisioned.certBytes).toString('base64');
        ctx.refreshBirth();
        fn.replyWith = (t, p) => ctx.transport.publish(t, p, { qos: 1, retain: false });
        fn.publishCertificate = (t, c) => ctx.transport.publish(t, c, { qos: 1, retain: true });
        offs.push(fn.commands.register('set-sync-cadence', (args) => setSyncCadence(ctx.sync as unknown as CadenceSetter, args, log)));
        offs.push(
          fn.commands.register('trigger-evolution', (args) => {
            const listeners = ctx.events.listenerCount('evolutionRequested');
            if (listeners === 0) throw new H3lixError('COMMAND_REFUSED', 'trigger-evolution unsupported: no learning feature runs on this node');
            const reason = typeof args.reason === 'string' ? args.reason.slice(0, 200) : 'fleet command';
            ctx.events.emit('evolutionRequested', reason);
            return { triggered: true, listeners };
          }),
        );
        await fn.renewer.start();
      },
      stop: async () => {
        for (const off of offs.splice(0)) off();
        fn.replyWith = undefined;
        fn.publishCertificate = undefined;
        await fn.renewer.stop();
      },
    };
  };
}

/** `set-sync-cadence {multiplier}`: scale the sync debounces and digest interval (0 < m ≤ 100). */
function setSyncCadence(sync: CadenceSetter, args: Record<string, unknown>, log: ReturnType<typeof moduleLogger>): Record<string, unknown> {
  if (typeof sync.setCadence !== 'function') {
    log.warn('set-sync-cadence: this build of CcfSync has no cadence setter');
    throw new H3lixError('COMMAND_REFUSED', 'set-sync-cadence unsupported by this node');
  }
  const m = args.multiplier;
  if (typeof m !== 'number' || !Number.isFinite(m) || m <= 0 || m > 100) throw new H3lixError('DATA_INVALID', `set-sync-cadence: args.multiplier must be a number in (0, 100], got ${JSON.stringify(m)}`);
  sync.setCadence(m);
  log.info({ multiplier: m }, 'sync cadence set by fleet command');
  return { multiplier: sync.cadenceMultiplier?.() ?? m };
}
