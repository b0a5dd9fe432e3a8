import type { Command } from 'commander';
import { loadConfigFile } from '../../config/load.js';
import type { H3lixConfig } from '../../config/schema.js';
import { createDaemon, type Daemon } from '../../daemon/daemon.js';
import { defaultFeatures } from '../../daemon/features.js';
import { fleetMode } from '../../daemon/features/fleet.js';
import type { FeatureHandles } from '../../daemon/features/handles.js';
import { systemdFeatures } from '../../daemon/features/systemd.js';
import { healthFeature } from '../../daemon/features/health.js';
import { H3lixError } from '../../errors.js';
import { readBoardImage } from '../../fleet/board-files.js';
import { loadBoardProfile } from '../../energy/board-profile.js';
import { hasUsableCertificate, prepareFleetNode, prepareFleetTrust, provisionsAgainstEmbedded, type FleetNode, type FleetTrust } from '../../fleet/fleet-node.js';
import { loadOrCreateIdentity, type NodeIdentity } from '../../store/identity.js';
import { EmbeddedBroker } from '../../sync/embedded-broker.js';
import { embeddedBrokerOptions } from '../../sync/embedded-config.js';
import { systemClock, type Clock } from '../../util/clock.js';
import { createLogger, moduleLogger, type Logger } from '../../util/logger.js';
import { ExitCode } from '../exit-codes.js';
import { writeLine, type CliContext } from '../context.js';

/** Options of `h3lix run`. */
interface RunOptions {
  config: string;
  board?: string;
}

/**
 * The `h3lix run` composition: in fleet mode (`fleet.enabled`) provision first (or load the stored
 * certificate) and wire the FleetNode into the daemon; then the default features (+ the fleet feature).
 * Gateway boot (docs/fleet.md "Gateway board", rule in `provisionsAgainstEmbedded`): a board whose
 * fleet broker is its own embedded aedes and that has no usable certificate yet starts that broker
 * FIRST with the fleet hooks, provisions against it (the operator runs `h3lix fleet serve --broker
 * mqtt://<board>:<port>`), and hands the running broker to the daemon (`DaemonOptions.broker`); a
 * provisioning failure stops it before rethrowing. An already provisioned board takes the normal path.
 * Exported so tests build exactly what `h3lix run` builds. Throws PROVISION_TIMEOUT /
 * PROVISION_REJECTED from provisioning. The daemon is created, not started.
 */
export async function buildRunDaemon(o: { config: H3lixConfig; logger: Logger; clock?: Clock; drainTimeoutMs?: number; jitterMs?: number }): Promise<{ daemon: Daemon; fleetNode: FleetNode | undefined }> {
  const clock = o.clock ?? systemClock;
  const early = o.config.fleet.enabled ? await gatewayBoot(o.config, clock, o.logger) : undefined;
  let fleetNode: FleetNode | undefined;
  try {
    fleetNode = o.config.fleet.enabled ? await prepareFleetNode({ config: o.config, clock, logger: o.logger, ...(early ? { trust: early.trust, identity: early.identity, brokerUrl: early.broker.url } : {}) }) : undefined;
  } catch (err) {
    await early?.broker.stop();
    throw err;
  }
  const handles: FeatureHandles = {};
  const daemon = createDaemon({
    config: o.config,
    logger: o.logger,
    clock,
    // fleet mode is features with a core plug (features/fleet.ts); systemd goes last: READY=1 once everything else started.
    features: [...defaultFeatures(o.config, { handles }), ...(fleetNode ? fleetMode(fleetNode, o.config, { handles, ...(early ? { gatewayBroker: early.broker } : {}) }) : []), healthFeature(), ...systemdFeatures()],
    ...(o.drainTimeoutMs !== undefined ? { drainTimeoutMs: o.drainTimeoutMs } : {}),
    ...(o.jitterMs !== undefined ? { jitterMs: o.jitterMs } : {}),
  });
  return { daemon, fleetNode };
}

/**
 * Gateway first boot: the fleet's broker is this board's embedded aedes and there is no usable
 * certificate yet, so start that broker now with the fleet hooks (claim clients and the provisioner
 * can log in). Returns undefined on every other board (the normal path).
 */
async function gatewayBoot(config: H3lixConfig, clock: Clock, logger: Logger): Promise<{ broker: EmbeddedBroker; trust: FleetTrust; identity: NodeIdentity } | undefined> {
  const image = readBoardImage(config.fleet.imageDir);
  if (!provisionsAgainstEmbedded(config, image)) return undefined;
  const log = moduleLogger(logger, 'fleet');
  const identity = loadOrCreateIdentity(config.node.dataDir, { logger: log });
  if (hasUsableCertificate(config, image, identity.nodeId, clock.now())) return undefined;
  const trust = prepareFleetTrust({ config, clock, logger, image });
  const { host } = config.broker.embedded;
  const broker = new EmbeddedBroker(embeddedBrokerOptions(config, { logger: moduleLogger(logger, 'broker'), hooks: trust.brokerHooks }));
  await broker.start();
  log.info({ host, port: broker.port, image: image.fleet.brokerUrl }, `gateway boot: embedded broker started before provisioning; run \`h3lix fleet serve --broker ${broker.url.split(':')[0]}://<this board>:${broker.port}\` on the operator machine`);
  return { broker, trust, identity };
}

/**
 * `h3lix run --config PATH [--board NAME]`: the daemon. Runs until SIGTERM or SIGINT, then flushes the
 * outbox as far as it can (bounded), persists, publishes its death on `state/<node>` and exits 0.
 * Fleet mode: provisioning that times out or is rejected exits with that error's code (69 / 1).
 */
export function registerRunCommands(program: Command, ctx: CliContext): void {
  program
    .command('run')
    .description('run the h3lix daemon (embedded broker, CCF sync, durable outbox; fleet mode provisions first) until SIGTERM/SIGINT')
    .requiredOption('-c, --config <path>', 'config file (YAML)')
    .option('-b, --board <name>', 'board profile name (overrides node.board)')
    .action(async (opts: RunOptions) => {
      const config = loadConfigFile(opts.config, ctx.env);
      if (opts.board) config.node.board = opts.board;
      // An unknown board fails here, before any identity or database is created (issue 9 section 8).
      loadBoardProfile(config.node.board);
      const logger = createLogger(config.log.level);
      let built: Awaited<ReturnType<typeof buildRunDaemon>>;
      try {
        built = await buildRunDaemon({ config, logger });
      } catch (err) {
        if (err instanceof H3lixError && (err.code === 'PROVISION_TIMEOUT' || err.code === 'PROVISION_REJECTED')) {
          writeLine(ctx.stderr, `h3lix run: fleet provisioning failed, not starting (image ${config.fleet.imageDir}, broker ${config.broker.url ?? 'from the board image'})`);
        }
        throw err;
      }
      const { daemon, fleetNode } = built;
      let signalled: (sig: string) => void = () => undefined;
      const stopSignal = new Promise<string>((resolve) => (signalled = resolve));
      const onSignal = (sig: NodeJS.Signals) => signalled(sig);
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
      try {
        await daemon.start();
        const c = daemon.context;
        c.events.on('shutdownRequested', (reason) => signalled(`requested: ${reason}`));
        logger.info({ node: c.nodeId, fleet: c.fleet, broker: c.broker ? c.broker.url : (fleetNode?.brokerUrl ?? config.broker.url), board: config.node.board, fleetMode: fleetNode !== undefined }, 'ready');
        const sig = await stopSignal;
        const { outboxLeft } = await daemon.stop(sig);
        if (outboxLeft > 0) logger.warn({ outboxLeft }, 'outbox not empty at shutdown; kept on disk for the next start');
        ctx.setExitCode(ExitCode.OK);
      } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
    });
}
