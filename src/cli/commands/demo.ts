import type { Command } from 'commander';
import { runDemo } from '../../daemon/demo-cluster.js';
import { ExitCode } from '../exit-codes.js';
import { parsePositiveInt, parsePositiveNumber, UsageError, writeLine, type CliContext } from '../context.js';

interface DemoCliOptions {
  nodes: number;
  broker?: string;
  seconds: number;
  json?: boolean;
  keys: number;
  seed: number;
}

/**
 * `h3lix demo`: N daemons in one process replicate a CCF through a real broker while the demo injects
 * duplicates, reordering and a partition that heals. Exit 0 when every node ends byte-identical.
 */
export function registerDemoCommands(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('run N nodes in one process and show their Collective Context Field converging under duplicates, reordering and a healed partition')
    .option('-n, --nodes <n>', 'number of nodes', parsePositiveInt('--nodes', 2, 200), 5)
    .option('--broker <url>', 'use this MQTT broker (e.g. mqtt://127.0.0.1:1883 for Mosquitto) instead of an embedded aedes')
    .option('-s, --seconds <s>', 'time limit in seconds', parsePositiveNumber('--seconds', 2, 3600), 20)
    .option('-k, --keys <k>', 'local updates per node', parsePositiveInt('--keys', 1, 1000), 6)
    .option('--seed <n>', 'seed for data and chaos', parsePositiveInt('--seed', 0), 1)
    .option('--json', 'print the result as one JSON object (last stdout line)')
    .action(async (opts: DemoCliOptions) => {
      if (opts.broker !== undefined && !/^(mqtts?|tcp|tls|wss?):\/\/.+/.test(opts.broker)) throw new UsageError(`--broker must be a URL like mqtt://host:1883, got "${opts.broker}"`);
      writeLine(ctx.stderr, `h3lix demo: ${opts.nodes} nodes, ${opts.broker ? `broker ${opts.broker}` : 'embedded aedes broker'}, up to ${opts.seconds}s`);
      const r = await runDemo({
        nodes: opts.nodes,
        seconds: opts.seconds,
        keys: opts.keys,
        seed: opts.seed,
        ...(opts.broker ? { brokerUrl: opts.broker } : {}),
        onProgress: (line) => writeLine(ctx.stderr, line),
      });
      if (opts.json) writeLine(ctx.stdout, JSON.stringify(r));
      else {
        const rejected = Object.entries(r.rejected).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
        writeLine(ctx.stdout, r.converged ? `converged: all ${r.nodes} nodes hold the same field (digest ${r.digests[0]!.slice(0, 16)}...) after ${(r.convergedAfterMs! / 1000).toFixed(1)} s` : `NOT converged after ${r.seconds} s: ${r.complete}/${r.nodes} nodes complete`);
        writeLine(ctx.stdout, `  ${r.contributions} contributions; ${r.messages} messages, ${(r.bytesSent / 1024).toFixed(1)} KiB sent; ${r.applied} applied`);
        writeLine(ctx.stdout, `  injected: ${r.injected.duplicates} duplicates, ${r.injected.reordered} reordered deliveries, partition of ${r.injected.partitioned.length} node(s) healed`);
        writeLine(ctx.stdout, `  rejected (counted, harmless): ${rejected}; anti-entropy: ${r.antiEntropy.answers} answers, ${r.antiEntropy.wants} wants`);
      }
      ctx.setExitCode(r.converged ? ExitCode.OK : ExitCode.FAILED);
    });
}
