import type { Command } from 'commander';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { sha256File } from '../../bundle/manifest.js';
import { firstBootFiles } from '../../bundle/first-boot.js';
import { loadFleetPublicKey } from '../../bundle/trust.js';
import { scanBundle } from '../../bundle/verify.js';
import { loadConfigFile } from '../../config/load.js';
import { writeLine, UsageError, type CliContext } from '../context.js';

interface ImageConfigOpts {
  bundle: string;
  config: string;
  claim?: string;
  fleetKey?: string;
  out: string;
  hostname: string;
  wifiSsid?: string;
  wifiPassword?: string;
  wifiCountry: string;
}

/** `h3lix image config`: cloud-init seed + firstrun.sh that install a verified bundle at first boot. */
export function registerImageCommands(program: Command, ctx: CliContext): void {
  const image = program.command('image').description('prepare a freshly flashed board image (first boot)');
  image
    .command('config')
    .description('write cloud-init user-data/meta-data/network-config and firstrun.sh that install the bundle, service user, config and claim at first boot')
    .requiredOption('--bundle <file>', 'the board bundle (h3lix bundle); verified here against the fleet key')
    .requiredOption('--config <h3lix.yaml>', 'the board config (validated)')
    .option('--claim <claim.json>', 'the fleet claim of the board image (fleet image/<batch>/claim.json)')
    .option('--fleet-key <fleet.json>', 'fleet.json with the fleet key (default: beside --claim)')
    .requiredOption('--out <dir>', 'directory to copy onto the boot partition')
    .option('--hostname <name>', 'board hostname', 'h3lix')
    .option('--wifi-ssid <ssid>', 'Wi-Fi network (default: wired DHCP only)')
    .option('--wifi-password <pw>', 'Wi-Fi passphrase')
    .option('--wifi-country <cc>', 'Wi-Fi regulatory domain', 'GB')
    .action(async (o: ImageConfigOpts) => {
      const fleetKeyPath = o.fleetKey ?? (o.claim ? join(dirname(o.claim), 'fleet.json') : undefined);
      if (!fleetKeyPath) throw new UsageError('--fleet-key (or --claim with fleet.json beside it) is required: the board checks the bundle against it');
      if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(o.hostname)) throw new UsageError(`--hostname must be a DNS label, got "${o.hostname}"`);
      if ((o.wifiSsid === undefined) !== (o.wifiPassword === undefined)) throw new UsageError('--wifi-ssid and --wifi-password go together');
      const config = loadConfigFile(o.config);
      const { publicKey } = loadFleetPublicKey(fleetKeyPath);
      const manifest = await scanBundle(o.bundle, { fleetPublicKey: publicKey });
      const imageFiles: Record<string, Uint8Array> = { 'fleet.json': readFileSync(fleetKeyPath) };
      if (o.claim) imageFiles['claim.json'] = readFileSync(o.claim);
      const files = firstBootFiles({
        bundleName: basename(o.bundle),
        bundleSha256: await sha256File(o.bundle),
        configYaml: readFileSync(o.config, 'utf8'),
        board: config.node.board,
        imageDir: config.fleet.imageDir,
        imageFiles,
        hostname: o.hostname,
        ...(o.wifiSsid !== undefined && o.wifiPassword !== undefined ? { wifi: { ssid: o.wifiSsid, password: o.wifiPassword, country: o.wifiCountry } } : {}),
      });
      mkdirSync(join(o.out, 'h3lix'), { recursive: true });
      for (const [name, text] of Object.entries(files)) writeFileSync(join(o.out, name), text, { mode: name === 'firstrun.sh' ? 0o755 : 0o600 });
      copyFileSync(o.bundle, join(o.out, 'h3lix', basename(o.bundle)));
      writeLine(ctx.stdout, `${o.out}: user-data, meta-data, network-config, firstrun.sh, h3lix/${basename(o.bundle)} (${manifest.version}, ${manifest.target}); copy them onto the boot partition`);
    });
}
