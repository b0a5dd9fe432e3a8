import type { Command } from 'commander';
import { loadConfigFile } from '../../config/load.js';
import { ExitCode } from '../exit-codes.js';
import { isLoopbackHost } from '../../util/loopback.js';
import { writeLine, type CliContext } from '../context.js';

/** `h3lix config check --config PATH [--print]`: validate a config file. */
export function registerConfigCommands(program: Command, ctx: CliContext): void {
  const config = program.command('config').description('work with h3lix.yaml configuration files');
  config
    .command('check')
    .description('validate a config file against the schema (defaults and H3LIX_* env overrides applied)')
    .requiredOption('-c, --config <path>', 'config file to check')
    .option('--print', 'print the effective configuration as JSON')
    .action((opts: { config: string; print?: boolean }) => {
      const cfg = loadConfigFile(opts.config, ctx.env);
      if (opts.print) writeLine(ctx.stdout, JSON.stringify(cfg, null, 2));
      const e = cfg.broker.embedded;
      if (e.enabled && !e.tls.enabled && !isLoopbackHost(e.host)) writeLine(ctx.stderr, `warning: broker.embedded listens plain mqtt:// on ${e.host} (allowInsecure: true): tokens and traffic cross the network in clear; prefer broker.embedded.tls`);
      writeLine(ctx.stdout, `${opts.config}: ok (node ${cfg.node.id}, fleet ${cfg.node.fleet}, board ${cfg.node.board})`);
      ctx.setExitCode(ExitCode.OK);
    });
}
