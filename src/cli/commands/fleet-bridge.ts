import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { H3lixError } from '../../errors.js';
import { bridgeAclLines, mosquittoBridgeConf } from '../../fleet/bridge.js';
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
  out?: string;
}

/**
 * `h3lix fleet bridge --site NAME --remote HOST:PORT (--fleet NAME | --fleet-dir DIR)`: the Mosquitto
 * bridge configuration that joins a site broker to the fleet broker (docs/sync.md, "Site brokers").
 */
export function registerFleetBridgeCommands(program: Command, ctx: CliContext): void {
  const fleet = program.commands.find((c) => c.name() === 'fleet') ?? program.command('fleet');
  fleet
    .command('bridge')
    .description("Mosquitto bridge lines that join a site broker to the fleet broker (every fleet topic both ways, QoS 1, persistent session), and the fleet broker's ACL lines for it")
    .requiredOption('--site <name>', 'the site (bridge connection name, remote client id h3lix-bridge-<site>)')
    .requiredOption('--remote <host:port>', 'the fleet broker')
    .option('--fleet <name>', 'the fleet name (or --fleet-dir)')
    .option('--fleet-dir <dir>', 'fleet directory, for the fleet name')
    .option('--remote-username <user>', 'login on the fleet broker')
    .option('--remote-password-file <file>', "a file holding that login's password")
    .option('--out <file>', 'write the bridge lines to this file (0600) instead of stdout')
    .action((o: BridgeOpts) => {
      if ((o.fleet === undefined) === (o.fleetDir === undefined)) throw new UsageError('give exactly one of --fleet NAME or --fleet-dir DIR');
      const name = o.fleet ?? FleetDir.open(o.fleetDir!).fleet;
      const m = /^(.+):(\d{1,5})$/.exec(o.remote);
      if (!m) throw new UsageError(`--remote ${JSON.stringify(o.remote)}: expected HOST:PORT`);
      let password: string | undefined;
      if (o.remotePasswordFile !== undefined) {
        try {
          password = readFileSync(o.remotePasswordFile, 'utf8').trim();
        } catch (err) {
          throw new H3lixError('CONFIG_NOT_FOUND', `--remote-password-file ${o.remotePasswordFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
      }
      if (o.remoteUsername !== undefined && password === undefined) throw new UsageError('--remote-username needs --remote-password-file');
      const lines = mosquittoBridgeConf({ fleet: name, site: o.site, remoteHost: m[1]!, remotePort: Number(m[2]), ...(o.remoteUsername !== undefined ? { remoteUsername: o.remoteUsername, remotePassword: password! } : {}) });
      if (o.out) {
        writeFileSync(o.out, lines.join('\n'), { mode: 0o600 });
        writeLine(ctx.stderr, `wrote ${o.out}: include it in the site broker's mosquitto.conf and restart it`);
      } else ctx.stdout.write(lines.join('\n'));
      if (o.remoteUsername !== undefined) {
        writeLine(ctx.stderr, `on the fleet broker, give ${o.remoteUsername} a password and these acl_file lines:`);
        for (const l of bridgeAclLines(name, o.remoteUsername)) writeLine(ctx.stderr, `  ${l}`);
      }
      ctx.setExitCode(ExitCode.OK);
    });
}
