import type { Command } from 'commander';
import { defaultConfig, loadConfigFile } from '../../config/load.js';
import { waitHealthy } from '../../daemon/health-file.js';
import { systemClock } from '../../util/clock.js';
import { ExitCode } from '../exit-codes.js';
import { parsePositiveInt, writeLine, type CliContext } from '../context.js';

/**
 * `h3lix health [--data-dir DIR | --config PATH] [--wait S] [--json]`: is the daemon of this data
 * directory running, connected to its broker and holding its field? Reads `health.json` (no broker
 * login, no status server); exit 0 when healthy, 1 otherwise, with the reason.
 */
export function registerHealthCommands(program: Command, ctx: CliContext): void {
  program
    .command('health')
    .description('exit 0 when the daemon of a data dir runs with its broker connected and its field loaded (health.json); an update health check')
    .option('-d, --data-dir <dir>', 'the node data directory (default: node.dataDir of --config, else ./data)')
    .option('-c, --config <path>', 'config file (YAML), for its node.dataDir')
    .option('--wait <seconds>', 'wait up to this long for a healthy report', parsePositiveInt('--wait', 0, 3600), 0)
    .option('--json', 'print one JSON object')
    .action(async (opts: { dataDir?: string; config?: string; wait: number; json?: boolean }) => {
      const config = opts.config ? loadConfigFile(opts.config, ctx.env) : defaultConfig();
      const dataDir = opts.dataDir ?? config.node.dataDir;
      const v = await waitHealthy(dataDir, opts.wait * 1000, systemClock);
      if (opts.json) writeLine(ctx.stdout, JSON.stringify({ dataDir, ...v }));
      else writeLine(ctx.stdout, `${v.healthy ? 'healthy' : 'not healthy'}: ${v.reason}`);
      ctx.setExitCode(v.healthy ? ExitCode.OK : ExitCode.FAILED);
    });
}
