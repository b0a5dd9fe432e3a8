import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian's mosquitto lives (`.ci/run` installs it). */
export const MOSQUITTO_BIN = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p));

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`mosquitto did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface MosquittoHandle {
  url: string;
  port: number;
  process: ChildProcess;
  /** The temporary directory holding its mosquitto.conf (callers that clean up remove it after stop). */
  dir: string;
  /** Collected stderr/stdout of the broker (its log). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Start a real Mosquitto on a free loopback port with extra config lines (ACLs, auth).
 * Returns undefined when mosquitto is not installed, so callers can `t.skip` with a reason.
 */
export async function startMosquitto(extraConfig: string[] = [], port?: number): Promise<MosquittoHandle | undefined> {
  if (!MOSQUITTO_BIN) return undefined;
  const p = port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'h3lix-mosq-'));
  const conf = join(dir, 'mosquitto.conf');
  const hasListener = extraConfig.some((l) => l.startsWith('listener'));
  const lines = [
    ...(hasListener ? [] : [`listener ${p} 127.0.0.1`]),
    'persistence false',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    ...(extraConfig.some((l) => l.startsWith('allow_anonymous')) ? [] : ['allow_anonymous true']),
    ...extraConfig,
  ];
  writeFileSync(conf, lines.join('\n') + '\n');
  const proc = spawn(MOSQUITTO_BIN, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  try {
    await waitForPort(p, 5000);
  } catch (err) {
    proc.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${log}`);
  }
  return {
    url: `mqtt://127.0.0.1:${p}`,
    port: p,
    process: proc,
    dir,
    log: () => log,
    // the config directory goes with the broker (it held only the generated mosquitto.conf)
    stop: () =>
      new Promise<void>((resolve) => {
        const done = () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        };
        if (proc.exitCode !== null) return done();
        proc.once('exit', done);
        proc.kill('SIGTERM');
      }),
  };
}

/** A fleet Mosquitto and its site Mosquittos (the root alone when there are no sites). */
export interface MosquittoTree {
  root: MosquittoHandle;
  /** Where the daemons connect: the site brokers, or `[root]` for a flat layout. */
  sites: MosquittoHandle[];
}

/**
 * Start a root Mosquitto and `sites` site Mosquittos (`sites` 0: flat, the daemons use the root).
 * `bridge(site, rootPort)` gives each site's extra lines (the lines `h3lix fleet bridge` writes; none
 * for unbridged sites). Every started broker is pushed to `started` first, so a caller can stop
 * them even when a later one fails. Undefined when mosquitto is not installed.
 */
export async function startMosquittoTree(sites: number, bridge: (site: number, rootPort: number) => string[], started: MosquittoHandle[], extraConfig: string[] = []): Promise<MosquittoTree | undefined> {
  const start = async (lines: string[]): Promise<MosquittoHandle | undefined> => {
    const b = await startMosquitto([...extraConfig, ...lines]);
    if (b) started.push(b);
    return b;
  };
  const root = await start([]);
  if (!root) return undefined;
  if (sites === 0) return { root, sites: [root] };
  const leaves: MosquittoHandle[] = [];
  for (let s = 0; s < sites; s++) leaves.push((await start(bridge(s, root.port)))!);
  return { root, sites: leaves };
}
