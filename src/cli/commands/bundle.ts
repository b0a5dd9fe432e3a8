import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle } from '../../bundle/build.js';
import { fetchRegistryPackage } from '../../bundle/registry-package.js';
import { bundleTarget, hostTarget } from '../../bundle/targets.js';
import { loadFleetPublicKey } from '../../bundle/trust.js';
import { confirmSlot, installBundle, rollbackSlots, recoverSlots, shellHealthCheck } from '../../bundle/slots.js';
import { scanBundle } from '../../bundle/verify.js';
import { FleetDir } from '../../fleet/fleet-dir.js';
import { systemClock } from '../../util/clock.js';
import { createLogger } from '../../util/logger.js';
import { waitHealthy } from '../../daemon/health-file.js';
import { describeError } from '../../errors.js';
import { writeFileAtomicRaw } from '../../store/atomic-file.js';
import { ExitCode } from '../exit-codes.js';
import { parsePositiveInt, writeLine, type CliContext } from '../context.js';

/** The project root this CLI runs from (package.json of h3lix-edge), from src/ or dist/src/. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'h3lix-edge') return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

interface BuildOpts {
  target: string;
  out: string;
  fleetDir: string;
  node: string;
  nodeDir?: string;
  sqliteDir?: string;
  dist?: string;
  project?: string;
  json?: boolean;
}

/**
 * `h3lix bundle --target T --out DIR --fleet-dir F`: the offline board bundle (docs/bundle.md);
 * `bundle verify FILE --fleet-key fleet.json`, `bundle install FILE --root R --fleet-key F`,
 * `bundle recover --root R`, `bundle rollback --root R`.
 */
export function registerBundleCommands(program: Command, ctx: CliContext): void {
  const bundle = program
    .command('bundle')
    .description('build an offline, fleet-signed board bundle (Node runtime, built JS, native modules for the target, models, profiles, systemd unit)')
    .option('--target <target>', 'linux-arm64 or linux-x64')
    .option('--out <dir>', 'directory for the tarball')
    .option('--fleet-dir <dir>', 'fleet directory whose key signs the manifest (private/fleet.key)')
    .option('--node <major>', 'Node.js major version of the bundled runtime', '24')
    .option('--node-dir <dir>', 'an unpacked node-linux-<arch> package instead of fetching it')
    .option('--sqlite-dir <dir>', 'an unpacked better-sqlite3 >= 13 package instead of fetching it')
    .option('--dist <dir>', 'compiled JavaScript (default: <project>/dist)')
    .option('--project <dir>', 'project root (default: this installation)')
    .option('--json', 'print the result as one JSON line')
    .action(async (opts: BuildOpts) => {
      if (!opts.target || !opts.out || !opts.fleetDir) {
        writeLine(ctx.stderr, 'h3lix bundle: --target, --out and --fleet-dir are required');
        ctx.setExitCode(ExitCode.USAGE);
        return;
      }
      const target = bundleTarget(opts.target);
      const fleet = FleetDir.open(opts.fleetDir);
      const logger = createLogger('info', ctx.stderr);
      const node = opts.nodeDir ? { dir: resolve(opts.nodeDir) } : await fetchRegistryPackage(target.nodePackage, opts.node);
      const sqlite = opts.sqliteDir ? { dir: resolve(opts.sqliteDir) } : await fetchRegistryPackage('better-sqlite3', '13');
      const project = opts.project ? resolve(opts.project) : projectRoot();
      const built = await buildBundle({
        projectRoot: project,
        ...(opts.dist ? { distDir: resolve(opts.dist) } : {}),
        target,
        nodeDir: node.dir,
        sqliteDir: sqlite.dir,
        signer: fleet.fleetSigner(),
        fleet: fleet.info.fleet,
        outDir: resolve(opts.out),
        clock: systemClock,
        logger,
      });
      const summary = { file: built.file, bytes: built.bytes, files: built.manifest.files.length, target: target.name, node: built.manifest.node, version: built.manifest.version };
      writeLine(ctx.stdout, opts.json ? JSON.stringify(summary) : `${built.file}: ${built.manifest.files.length} files, ${(built.bytes / 1e6).toFixed(1)} MB, ${target.name}, node ${built.manifest.node}`);
    });

  bundle
    .command('verify <file>')
    .description('check a bundle (signature, manifest, every file hash, native architecture) without writing anything')
    .requiredOption('--fleet-key <fleet.json>', 'the fleet.json holding the trusted fleet public key')
    .option('--expect <target>', 'refuse a bundle for another platform (linux-arm64, linux-x64)')
    .action(async (file: string, opts: { fleetKey: string; expect?: string }) => {
      const { publicKey } = loadFleetPublicKey(opts.fleetKey);
      const m = await scanBundle(file, { fleetPublicKey: publicKey, ...(opts.expect ? { target: bundleTarget(opts.expect) } : {}) });
      writeLine(ctx.stdout, `${file}: OK (${m.name} ${m.version}, ${m.target}, node ${m.node}, ${m.files.length} files, fleet ${m.fleet})`);
    });

  bundle
    .command('install <file>')
    .description('install a bundle into the inactive A/B slot, switch atomically, health-check, roll back on failure')
    .requiredOption('--root <dir>', 'install root (e.g. /opt/h3lix)')
    .requiredOption('--fleet-key <fleet.json>', 'the fleet.json holding the trusted fleet public key')
    .option('--health-cmd <cmd>', 'health check run after the switch; exit 0 = healthy', 'systemctl restart h3lix.service')
    .option('--health-timeout <s>', 'seconds the health check may take', parsePositiveInt('--health-timeout', 1, 3600), 90)
    .option('--force', 'install a version that failed its health check before')
    .option('--wait-healthy <dataDir>', 'after --health-cmd, also wait until the daemon of this data dir reports broker connected + field loaded (health.json)')
    .option('--result <file>', 'also write the JSON result (or the refusal) to this file, atomically')
    .action(async (file: string, opts: { root: string; fleetKey: string; healthCmd: string; healthTimeout: number; force?: boolean; waitHealthy?: string; result?: string }) => {
      const report = (r: Record<string, unknown>): void => {
        if (opts.result) writeFileAtomicRaw(opts.result, Buffer.from(JSON.stringify({ ...r, file, at: Date.now() })), 0o644);
      };
      try {
        const { publicKey } = loadFleetPublicKey(opts.fleetKey);
        const host = hostTarget();
        const timeoutMs = opts.healthTimeout * 1000;
        const shell = shellHealthCheck(opts.healthCmd, timeoutMs);
        const switchedAt = { t: 0 };
        const health = async (): Promise<boolean> => {
          switchedAt.t = Date.now();
          if (!(await shell())) return false;
          if (!opts.waitHealthy) return true;
          const v = await waitHealthy(opts.waitHealthy, timeoutMs, systemClock, { startedAfter: switchedAt.t });
          writeLine(ctx.stderr, `h3lix bundle install: health: ${v.reason}`);
          return v.healthy;
        };
        const r = await installBundle({ file, root: resolve(opts.root), fleetPublicKey: publicKey, ...(host ? { target: host } : {}), health, clock: systemClock, force: opts.force === true });
        report({ ...r });
        writeLine(ctx.stdout, JSON.stringify(r));
        if (r.outcome !== 'installed') ctx.setExitCode(ExitCode.FAILED);
      } catch (err) {
        report({ outcome: 'refused', reason: describeError(err) });
        throw err;
      }
    });

  bundle
    .command('recover')
    .description('boot-time repair of an interrupted update (ExecStartPre): clean partial slots, end an unconfirmed trial boot')
    .requiredOption('--root <dir>', 'install root')
    .action((opts: { root: string }) => {
      writeLine(ctx.stdout, JSON.stringify(recoverSlots({ root: resolve(opts.root), clock: systemClock })));
    });

  bundle
    .command('confirm')
    .description('end the trial of the running slot (ExecStartPost: runs once the daemon sent READY=1)')
    .requiredOption('--root <dir>', 'install root')
    .action((opts: { root: string }) => {
      writeLine(ctx.stdout, JSON.stringify(confirmSlot({ root: resolve(opts.root), clock: systemClock })));
    });

  bundle
    .command('rollback')
    .description('switch back to the previous slot')
    .requiredOption('--root <dir>', 'install root')
    .action((opts: { root: string }) => {
      writeLine(ctx.stdout, JSON.stringify(rollbackSlots({ root: resolve(opts.root), clock: systemClock }, 'operator rollback')));
    });
}
