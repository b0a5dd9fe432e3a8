import type { Command } from 'commander';
import { loadConfigFile } from '../../config/load.js';
import { createDaemon } from '../../daemon/daemon.js';
import { defaultFeatures } from '../../daemon/features.js';
import { createLogger } from '../../util/logger.js';
import { ExitCode } from '../exit-codes.js';
import type { CliContext } from '../context.js';

/** Options of `h3lix run`. */
interface RunOptions {
  config: string;
  board?: string;
}

/**
 * `h3lix run --config PATH [--board NAME]`: the daemon. Runs until SIGTERM or SIGINT, then flushes the
 * outbox as far as it can (bounded), persists, publishes its death on `state/<node>` and exits 0.
 */
export function registerRunCommands(program: Command, ctx: CliContext): void {
  program
    .command('run')
    .description('run the h3lix daemon (embedded broker, CCF sync, durable outbox) until SIGTERM/SIGINT')
    .requiredOption('-c, --config <path>', 'config file (YAML)')
    .option('-b, --board <name>', 'board profile name (overrides node.board)')
    .action(async (opts: RunOptions) => {
      const config = loadConfigFile(opts.config, ctx.env);
      if (opts.board) config.node.board = opts.board;
      const logger = createLogger(config.log.level);
      const daemon = createDaemon({ config, logger, features: defaultFeatures(config) });
      let signalled: (sig: string) => void = () => undefined;
      const stopSignal = new Promise<string>((resolve) => (signalled = resolve));
      const onSignal = (sig: NodeJS.Signals) => signalled(sig);
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
      try {
        await daemon.start();
        const c = daemon.context;
        logger.info({ node: c.nodeId, fleet: c.fleet, broker: c.broker ? c.broker.url : config.broker.url, board: config.node.board }, 'ready');
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
