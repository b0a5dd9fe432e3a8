import type { Command } from 'commander';
import { CcfField } from '../../ccf/field.js';
import { defaultConfig } from '../../config/load.js';
import { H3lixError } from '../../errors.js';
import { inspectDataDir } from '../../store/inspect.js';
import { systemClock } from '../../util/clock.js';
import { ExitCode } from '../exit-codes.js';
import { writeLine, type CliContext } from '../context.js';

/** `h3lix ccf inspect --data-dir DIR [--json]`: read-only view of a stored field. */
export function registerCcfCommands(program: Command, ctx: CliContext): void {
  const ccf = program.command('ccf').description('work with the Collective Context Field');
  ccf
    .command('inspect')
    .description('show the keys, origins, versions and digest of a stored field (read-only; safe while the daemon runs)')
    .requiredOption('-d, --data-dir <dir>', 'the node data directory (node.dataDir)')
    .option('--json', 'print one JSON object')
    .action((opts: { dataDir: string; json?: boolean }) => {
      const ins = inspectDataDir(opts.dataDir);
      if (!ins.hasDatabase) throw new H3lixError('STORE_IO', `${opts.dataDir} holds no h3lix store (no h3lix.db): nothing to inspect`);
      const field = new CcfField({ nodeId: ins.nodeId ?? 'inspect', clock: systemClock, config: defaultConfig().ccf, quantization: 'float16' });
      field.restore(ins.contributions, ins.localVersion);
      const digest = field.digest();
      if (opts.json) {
        writeLine(
          ctx.stdout,
          JSON.stringify({
            dataDir: ins.dataDir,
            nodeId: ins.nodeId,
            digest,
            contributions: field.size(),
            localVersion: ins.localVersion,
            versionVector: ins.versionVector,
            keys: ins.keys,
            outbox: ins.outbox,
          }),
        );
      } else {
        writeLine(ctx.stdout, `data dir  ${ins.dataDir}`);
        writeLine(ctx.stdout, `node      ${ins.nodeId ?? '(no identity)'}`);
        writeLine(ctx.stdout, `digest    ${digest}`);
        writeLine(ctx.stdout, `held      ${field.size()} contributions, ${ins.keys.length} keys, ${Object.keys(ins.versionVector).length} origins; local version ${ins.localVersion}`);
        writeLine(ctx.stdout, `outbox    ${ins.outbox.messages} messages, ${ins.outbox.bytes} bytes`);
        for (const k of [...ins.keys].sort((a, b) => (a.key < b.key ? -1 : 1))) {
          writeLine(ctx.stdout, `key ${k.key} (dim ${k.dim})`);
          for (const o of k.origins) writeLine(ctx.stdout, `  ${o.origin}  v${o.version}  count ${o.count.toFixed(2)}  hlc ${new Date(o.hlc.wall).toISOString()}+${o.hlc.logical}`);
        }
      }
      ctx.setExitCode(ExitCode.OK);
    });
}
