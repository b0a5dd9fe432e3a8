import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import type { Command } from 'commander';
import { defaultConfig, loadConfigFile } from '../../config/load.js';
import type { H3lixConfig } from '../../config/schema.js';
import { H3lixError } from '../../errors.js';
import { dataDirStatus } from '../../status/data-dir-source.js';
import { formatStatus, modeShares } from '../../status/format.js';
import type { ChartHistory } from '../../status/history.js';
import type { StatusSummary } from '../../status/summary.js';
import { tokenFilePath } from '../../status/token.js';
import { ExitCode } from '../exit-codes.js';
import { writeLine, type CliContext } from '../context.js';

interface StatusOptions {
  dataDir?: string;
  config?: string;
  json?: boolean;
  live: boolean;
}

/** GET a JSON document from the running daemon's status server (loopback, bounded); never writes. */
function fetchJson<T>(url: string, token: string | undefined, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers: token ? { authorization: `Bearer ${token}` } : {}, timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
        if (body.length > 4 * 1024 * 1024) req.destroy(new Error('answer too large'));
      });
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
        try {
          resolve(JSON.parse(body) as T);
        } catch {
          reject(new Error('answer is not JSON'));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Ask the running daemon (when the config enables its status server); undefined with the reason otherwise. */
async function fromDaemon(config: H3lixConfig): Promise<{ summary: StatusSummary; history: ChartHistory; url: string } | { why: string }> {
  const s = config.status;
  if (!s.enabled || s.port === 0) return { why: 'status server not enabled in the config' };
  const host = s.host === '0.0.0.0' ? '127.0.0.1' : s.host === '::' ? '::1' : s.host;
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${s.port}`;
  const file = tokenFilePath(config.node.dataDir, s.tokenFile);
  const token = existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined; // read, never created here
  try {
    const [summary, history] = await Promise.all([fetchJson<StatusSummary>(`${base}/api/status`, token, 1500), fetchJson<ChartHistory>(`${base}/api/history`, token, 1500)]);
    return { summary, history, url: base };
  } catch (err) {
    return { why: `daemon not reachable at ${base} (${(err as Error).message})` };
  }
}

/**
 * `h3lix status [--data-dir DIR] [--config PATH] [--json] [--no-live]`: the status page's summary in
 * a terminal. Read-only and safe while the daemon runs: it asks the running daemon's status server
 * when the config enables one, else reads the data directory (SQLite opened read-only).
 */
export function registerStatusCommands(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description('print the node summary (energy, 7-day history, field, peers, privacy budget, outbox); read-only, safe while the daemon runs')
    .option('-d, --data-dir <dir>', 'the node data directory (default: node.dataDir of --config, else ./data)')
    .option('-c, --config <path>', 'config file (YAML): data dir, and the status server to ask for live values')
    .option('--no-live', 'do not ask the running daemon; read the data directory only')
    .option('--json', 'print one JSON object')
    .action(async (opts: StatusOptions) => {
      const config = opts.config ? loadConfigFile(opts.config, ctx.env) : defaultConfig();
      if (opts.dataDir) config.node.dataDir = opts.dataDir;
      if (!existsSync(config.node.dataDir)) throw new H3lixError('STORE_IO', `no data directory at ${config.node.dataDir}: pass --data-dir (the node.dataDir of the daemon) or --config`);
      const live = opts.live ? await fromDaemon(config) : { why: '--no-live' };
      let summary: StatusSummary;
      let history: ChartHistory;
      let source: string;
      if ('summary' in live) {
        ({ summary, history } = live);
        source = `live from the daemon at ${live.url}`;
      } else {
        ({ summary, history } = dataDirStatus(config));
        source = `read from ${config.node.dataDir} (${live.why})`;
      }
      if (opts.json) {
        const { points: _points, ...h } = history;
        writeLine(ctx.stdout, JSON.stringify({ source, summary, history: { ...h, modeShares: modeShares(history) } }));
      } else {
        for (const line of formatStatus(summary, history, source)) writeLine(ctx.stdout, line);
      }
      ctx.setExitCode(ExitCode.OK);
    });
}
