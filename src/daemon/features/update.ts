import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { checkInstallable } from '../../bundle/slots.js';
import { stageBundle } from '../../bundle/stage.js';
import { hostTarget } from '../../bundle/targets.js';
import { scanBundle } from '../../bundle/verify.js';
import type { H3lixConfig } from '../../config/schema.js';
import { describeError, H3lixError } from '../../errors.js';
import type { CborMap } from '../../fleet/codec.js';
import type { FleetNode } from '../../fleet/fleet-node.js';
import { readBoardImage } from '../../fleet/board-files.js';
import { writeFileAtomicRaw } from '../../store/atomic-file.js';
import { moduleLogger, type Logger } from '../../util/logger.js';
import { H3LIX_VERSION } from '../../util/version.js';
import type { Feature, FeatureFactory } from '../feature.js';

/** `<dataDir>/updates/result.json`: the last update this node was ordered, as the installer left it. */
export interface UpdateResult {
  outcome: 'installing' | 'installed' | 'rolled-back' | 'refused';
  id?: string;
  version?: string;
  reason?: string;
  at: number;
  [k: string]: unknown;
}

/**
 * The update feature (docs/bundle.md, "Updates by fleet command"), fleet mode only: the fleet-signed
 * command `update {source, sha256?, force?}` stages the bundle (a path on the board or an http(s)
 * URL), checks it completely (fleet signature, this board's architecture, every file hash, the
 * A/B root's refusals) and only then starts `bundle install` outside the daemon's service — the
 * health check restarts the daemon — and replies `accepted`. Anything wrong is the reply's error, and
 * nothing under `update.root` has changed. The installer writes its outcome to `updates/result.json`;
 * `update-status` replies with it, and the daemon logs it at its next start.
 */
export function updateFeature(fn: FleetNode, config: H3lixConfig): FeatureFactory {
  return (ctx): Feature => {
    const log = moduleLogger(ctx.logger, 'update');
    const u = config.update;
    const dir = join(config.node.dataDir, 'updates');
    const resultFile = join(dir, 'result.json');
    const offs: Array<() => void> = [];
    const fleetKeyFile = join(config.fleet.imageDir, 'fleet.json');
    const read = (): UpdateResult | undefined => readResult(resultFile);
    const inProgress = (r: UpdateResult | undefined): boolean => r?.outcome === 'installing' && ctx.clock.now() - r.at < (u.healthTimeoutSeconds * 2 + 120) * 1000;

    const update = async (args: CborMap, cmd: { id: string }): Promise<CborMap> => {
      const source = args.source;
      if (typeof source !== 'string' || source.length === 0 || source.length > 2048) throw new H3lixError('DATA_INVALID', 'update: args.source must be a path on the board or an http(s) URL');
      const sha256 = args.sha256;
      if (sha256 !== undefined && (typeof sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(sha256))) throw new H3lixError('DATA_INVALID', 'update: args.sha256 must be 64 hex digits');
      const force = args.force === true;
      const last = read();
      if (inProgress(last)) throw new H3lixError('UPDATE_FAILED', `update ${last!.id ?? '?'} (version ${last!.version ?? '?'}) is still installing`);
      const file = join(dir, `${cmd.id}.tar.gz`);
      try {
        const staged = await stageBundle({ source, dest: file, maxBytes: u.maxBytes, timeoutMs: u.downloadTimeoutSeconds * 1000, ...(sha256 ? { sha256 } : {}) });
        const target = hostTarget();
        const manifest = await scanBundle(file, { fleetPublicKey: readBoardImage(config.fleet.imageDir).fleetPublicKey, ...(target ? { target } : {}) });
        const running = checkInstallable({ root: u.root, clock: ctx.clock }, manifest, force);
        const argv = [
          ...(u.installer ?? [join(u.root, 'current', 'bin', 'h3lix')]),
          'bundle', 'install', file,
          '--root', u.root,
          '--fleet-key', fleetKeyFile,
          '--health-cmd', u.healthCmd,
          '--health-timeout', String(u.healthTimeoutSeconds),
          '--wait-healthy', config.node.dataDir,
          '--result', resultFile,
          ...(force ? ['--force'] : []),
        ];
        writeResult(resultFile, { outcome: 'installing', id: cmd.id, version: manifest.version, from: running?.version ?? H3LIX_VERSION, at: ctx.clock.now() });
        const how = launch(argv, u.launcher, join(dir, `${cmd.id}.log`), cmd.id, log, (reason) => writeResult(resultFile, { outcome: 'refused', id: cmd.id, version: manifest.version, reason, at: ctx.clock.now() }));
        log.info({ id: cmd.id, version: manifest.version, from: running?.version, launcher: how, bytes: staged.bytes }, 'update accepted: installer started');
        return { accepted: true, version: manifest.version, target: manifest.target, bytes: staged.bytes, sha256: staged.sha256, launcher: how };
      } catch (err) {
        rmSync(file, { force: true });
        log.warn({ id: cmd.id, source, error: describeError(err) }, 'update refused');
        throw err;
      }
    };

    return {
      name: 'update',
      start: async () => {
        mkdirSync(dir, { recursive: true });
        const last = read();
        if (last && last.outcome !== 'installing') {
          (last.outcome === 'installed' ? log.info.bind(log) : log.warn.bind(log))({ ...last, running: H3LIX_VERSION }, `last update: ${last.outcome}`);
          // Staged tarballs of finished updates are not needed any more.
          for (const f of readdirSync(dir)) if (f.endsWith('.tar.gz')) rmSync(join(dir, f), { force: true });
        }
        offs.push(fn.commands.register('update', (args, cmd) => update(args, cmd)));
        offs.push(fn.commands.register('update-status', () => ({ running: H3LIX_VERSION, ...(read() ?? { outcome: 'none' }) }) as CborMap));
      },
      stop: async () => {
        for (const off of offs.splice(0)) off();
      },
    };
  };
}

function readResult(path: string): UpdateResult | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as UpdateResult;
  } catch {
    return undefined;
  }
}

function writeResult(path: string, r: UpdateResult): void {
  writeFileAtomicRaw(path, Buffer.from(JSON.stringify(r)), 0o644);
}

/** Start the installer where a restart of the daemon's service cannot kill it. */
function launch(argv: string[], launcher: H3lixConfig['update']['launcher'], logFile: string, id: string, log: Logger, failed: (reason: string) => void): 'systemd-run' | 'detached' {
  const how = launcher === 'auto' ? (process.env.INVOCATION_ID && spawnSync('systemd-run', ['--version'], { stdio: 'ignore' }).status === 0 ? 'systemd-run' : 'detached') : launcher;
  const cmd = how === 'systemd-run' ? ['systemd-run', '--quiet', '--collect', `--unit=h3lix-update-${id}`, ...argv] : argv;
  const out = openSync(logFile, 'a', 0o644);
  try {
    const child = spawn(cmd[0]!, cmd.slice(1), { detached: true, stdio: ['ignore', out, out] });
    child.on('error', (err) => {
      log.error({ id, error: err.message }, 'update installer did not start');
      failed(`the installer ${cmd[0]} did not start: ${err.message}`);
    });
    child.unref();
  } finally {
    closeSync(out);
  }
  return how;
}
