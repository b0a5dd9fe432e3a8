import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { H3lixError } from '../../errors.js';
import { aggregateBridgeAclLines, bridgeAclLines, mosquittoBridgeConf, type BridgeOptions } from '../../fleet/bridge.js';
import { issueBridgeIdentity } from '../../fleet/bridge-identity.js';
import { FleetDir } from '../../fleet/fleet-dir.js';
import { ExitCode } from '../exit-codes.js';
import { UsageError, writeLine, type CliContext } from '../context.js';

interface BridgeOpts {
  site: string;
  remote: string;
  fleet?: string;
  fleetDir?: string;
  remoteUsername?: string;
  remotePasswordFile?: string;
  tls?: boolean;
  filesDir?: string;
  out?: string;
  aggregate?: boolean;
  zoneOrigin?: string[];
}

function readPassword(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new H3lixError('CONFIG_NOT_FOUND', `--remote-password-file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** `--fleet NAME`: a fleet broker configured by hand (optional login given here). */
function handBridge(o: BridgeOpts, fleet: string, host: string, port: number): { lines: string[]; aclHint?: string[] } {
  if (o.tls) throw new UsageError('--tls needs --fleet-dir (it issues a certificate from the fleet CA)');
  const password = o.remotePasswordFile !== undefined ? readPassword(o.remotePasswordFile) : undefined;
  if (o.remoteUsername !== undefined && password === undefined) throw new UsageError('--remote-username needs --remote-password-file');
  const login = o.remoteUsername !== undefined ? { remoteUsername: o.remoteUsername, remotePassword: password! } : {};
  const aggregate = o.aggregate === true;
  const zoneOrigins = o.zoneOrigin ?? [];
  const lines = mosquittoBridgeConf({ fleet, site: o.site, remoteHost: host, remotePort: port, aggregate, zoneOrigins, ...login });
  if (o.remoteUsername === undefined) return { lines };
  return { lines, aclHint: aggregate ? aggregateBridgeAclLines(fleet, o.site, o.remoteUsername, zoneOrigins) : bridgeAclLines(fleet, o.remoteUsername) };
}

/** `--fleet-dir DIR`: record the bridge user in the fleet directory, so `fleet acl` emits it. */
async function recordedBridge(o: BridgeOpts, fd: FleetDir, host: string, port: number): Promise<string[]> {
  if (o.remoteUsername !== undefined || o.remotePasswordFile !== undefined) throw new UsageError('with --fleet-dir the bridge user h3lix-bridge-<site> and its password are generated; --remote-username/--remote-password-file are for --fleet NAME');
  if (o.tls && !o.out) throw new UsageError('--tls needs --out (the certificate and key are written next to it)');
  const base: BridgeOptions = { fleet: fd.fleet, site: o.site, remoteHost: host, remotePort: port, aggregate: o.aggregate === true, zoneOrigins: o.zoneOrigin ?? [] };
  mosquittoBridgeConf(base); // refuse a bad site or port before anything is recorded
  if (!o.tls) {
    const c = await issueBridgeIdentity(fd, { site: o.site, now: Date.now() });
    if (!('password' in c)) throw new Error('unreachable: a password bridge has a password');
    return mosquittoBridgeConf({ ...base, remoteUsername: c.username, remotePassword: c.password });
  }
  const dir = dirname(resolve(o.out!));
  const c = await issueBridgeIdentity(fd, { site: o.site, now: Date.now(), tls: { dir } });
  if (!('certfile' in c)) throw new Error('unreachable: a TLS bridge has a certificate');
  // Paths as the site broker will see them: --files-dir when the files are copied elsewhere.
  const at = (p: string) => (o.filesDir !== undefined ? join(o.filesDir, p.slice(dir.length + 1)) : p);
  return mosquittoBridgeConf({ ...base, tls: { cafile: at(c.cafile), certfile: at(c.certfile), keyfile: at(c.keyfile) } });
}

/**
 * `h3lix fleet bridge --site NAME --remote HOST:PORT (--fleet NAME | --fleet-dir DIR)`: the Mosquitto
 * bridge configuration that joins a site broker to the fleet broker (docs/sync.md, "Site brokers").
 * With `--fleet-dir` the bridge's login (`h3lix-bridge-<site>`, a password or with `--tls` a client
 * certificate) is recorded in the fleet directory and `h3lix fleet acl` emits its user and ACL.
 */
export function registerFleetBridgeCommands(program: Command, ctx: CliContext): void {
  const fleet = program.commands.find((c) => c.name() === 'fleet') ?? program.command('fleet');
  fleet
    .command('bridge')
    .description("Mosquitto bridge lines that join a site broker to the fleet broker (every fleet topic both ways, QoS 1, persistent session); with --fleet-dir also the bridge's login, which `fleet acl` then emits")
    .requiredOption('--site <name>', 'the site (bridge connection name; remote client id and username h3lix-bridge-<site>)')
    .requiredOption('--remote <host:port>', 'the fleet broker (with --tls its mutual-TLS listener)')
    .option('--fleet <name>', 'the fleet name, for a fleet broker configured by hand (or --fleet-dir)')
    .option('--fleet-dir <dir>', 'fleet directory: generate and record the bridge user h3lix-bridge-<site> (re-run `fleet acl` and reload the fleet broker)')
    .option('--tls', 'with --fleet-dir: a client certificate from the fleet CA instead of a password (needs --out)')
    .option('--files-dir <dir>', 'with --tls: where the CA, certificate and key will be on the site broker (default: the directory of --out)')
    .option('--remote-username <user>', 'with --fleet: login on the fleet broker')
    .option('--remote-password-file <file>', "with --fleet: a file holding that login's password")
    .option('--aggregate', 'site aggregates (docs/sync.md "Site aggregates"): bridge ccf/+/+ and state/+ in only, and out only the site origin site-<site> (its gateway runs site.gateway)')
    .option('--zone-origin <zone>', 'with --aggregate, zones of zones (docs/sync.md "Zones of zones"): also carry out the zone origin site-<zone>, whose gateway board is below this broker (repeatable); on a zone broker, --site is the zone', (v: string, prev: string[] = []) => [...prev, v])
    .option('--out <file>', 'write the bridge lines to this file (0600) instead of stdout')
    .action(async (o: BridgeOpts) => {
      if ((o.fleet === undefined) === (o.fleetDir === undefined)) throw new UsageError('give exactly one of --fleet NAME or --fleet-dir DIR');
      if (o.filesDir !== undefined && !o.tls) throw new UsageError('--files-dir goes with --tls');
      const m = /^(.+):(\d{1,5})$/.exec(o.remote);
      if (!m) throw new UsageError(`--remote ${JSON.stringify(o.remote)}: expected HOST:PORT`);
      const host = m[1]!;
      const port = Number(m[2]);
      let lines: string[];
      let aclHint: string[] | undefined;
      if (o.fleetDir !== undefined) lines = await recordedBridge(o, FleetDir.open(o.fleetDir), host, port);
      else ({ lines, aclHint } = handBridge(o, o.fleet!, host, port));
      if (o.out) {
        writeFileSync(o.out, lines.join('\n'), { mode: 0o600 });
        writeLine(ctx.stderr, `wrote ${o.out}: include it in the site broker's mosquitto.conf and restart it`);
      } else ctx.stdout.write(lines.join('\n'));
      if (o.fleetDir !== undefined) writeLine(ctx.stderr, `recorded bridge user h3lix-bridge-${o.site}: on the fleet broker re-run \`h3lix fleet acl\` and send SIGHUP to mosquitto`);
      if (aclHint) {
        writeLine(ctx.stderr, `on the fleet broker, give ${o.remoteUsername} a password and these acl_file lines:`);
        for (const l of aclHint) writeLine(ctx.stderr, `  ${l}`);
      }
      ctx.setExitCode(ExitCode.OK);
    });
}
