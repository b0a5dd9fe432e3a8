import type { Command } from 'commander';
import { FleetDir } from '../../fleet/fleet-dir.js';
import { issueServerCertificate } from '../../fleet/tls-files.js';
import { ExitCode } from '../exit-codes.js';
import { parsePositiveNumber, UsageError, writeLine, type CliContext } from '../context.js';

const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter(Boolean);

/**
 * `h3lix fleet tls-server`: a broker server certificate from the fleet CA (docs/fleet.md "TLS"), for a
 * gateway's embedded broker (`broker.embedded.tls`) or any broker the boards reach by those names.
 */
export function registerFleetTlsCommands(fleet: Command, ctx: CliContext): void {
  const out = (line: string) => writeLine(ctx.stdout, line);
  fleet
    .command('tls-server')
    .description('issue a broker server certificate from the fleet CA (tls/server-<name>.pem and .key) for broker.embedded.tls')
    .requiredOption('--fleet-dir <dir>', 'fleet directory (needs private/fleet.key)')
    .requiredOption('--names <list>', 'comma-separated host names / addresses the boards use for this broker (localhost, 127.0.0.1 and ::1 are added)', list)
    .option('--days <days>', 'certificate lifetime in days', parsePositiveNumber('--days', 1, 3650), 825)
    .option('--json', 'print a JSON summary as the last line')
    .action(async (o: { fleetDir: string; names: string[]; days: number; json?: boolean }) => {
      if (o.names.length === 0) throw new UsageError('--names needs at least one host name');
      const fd = FleetDir.open(o.fleetDir);
      const r = await issueServerCertificate(fd, o.names, Date.now(), o.days);
      out(`server certificate for ${o.names.join(', ')}: ${r.certFile} (key ${r.keyFile}, 0600), CA ${r.caFile}`);
      out('copy both onto the gateway and set broker.embedded.tls: { enabled: true, certFile, keyFile } (the CA comes from the board image)');
      if (o.json) out(JSON.stringify(r));
      ctx.setExitCode(ExitCode.OK);
    });
}
