import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { validateConfig } from '../../src/config/load.js';
import type { H3lixConfig } from '../../src/config/schema.js';
import { createDaemon, type Daemon, type DaemonOptions } from '../../src/daemon/daemon.js';
import { until } from '../helpers/until.js';

export { until } from '../helpers/until.js';

/** A config for a test node that connects to `url` (embedded broker off). */
export function nodeConfig(dataDir: string, url: string, fleet: string, extra: Record<string, unknown> = {}): H3lixConfig {
  return validateConfig({
    node: { dataDir, fleet },
    broker: { embedded: { enabled: false }, url, reconnectMs: 100 },
    sync: { debounceMs: 20, digestIntervalMs: 1000 },
    log: { level: 'silent' },
    ...extra,
  });
}

/** Start a daemon on `url`. */
export async function startNode(dataDir: string, url: string, fleet: string, opts: Partial<DaemonOptions> = {}): Promise<Daemon> {
  const d = createDaemon({ config: nodeConfig(dataDir, url, fleet), jitterMs: 100, drainTimeoutMs: 500, ...opts });
  await d.start();
  return d;
}

export function vec(dim: number, seed: number): Float32Array {
  const v = new Float32Array(dim);
  for (let i = 0; i < dim; i++) v[i] = Math.sin(seed * 7.1 + i * 1.3);
  return v;
}

/** True when every daemon holds the same digest. */
export function agree(nodes: Daemon[]): boolean {
  const d = nodes.map((n) => n.context.field.digest());
  return d.every((x) => x === d[0]);
}

/** The CLI entry a child `h3lix` process runs through tsx (no build needed). */
export const cliEntry = fileURLToPath(new URL('./fixtures/cli-entry.ts', import.meta.url));

/**
 * Run `h3lix run --config cfg` as a child process: wait for its "ready" line, run `whileUp`, send
 * SIGTERM and resolve with the exit code and everything it logged. A child left running is killed
 * at teardown.
 */
export async function runDaemonOnce(
  t: { teardown(fn: () => unknown): void },
  cfg: string,
  whileUp: (stderr: () => string) => Promise<void>,
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', cliEntry, 'run', '--config', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await until(() => /"msg":"ready"/.test(stderr), 60_000, 'ready');
  await whileUp(() => stderr);
  child.kill('SIGTERM');
  return { code: await exited, stderr };
}
