import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { H3lixError } from '../../errors.js';
import { systemClock } from '../../util/clock.js';
import { loadFleetPublicKey } from '../../bundle/trust.js';
import { FleetDir } from '../../fleet/fleet-dir.js';
import { serialLink, tcpLink, type Link } from '../../../firmware-bridge/src/link/link.js';
import { McuClient } from '../../../firmware-bridge/src/mcu/client.js';
import { parseSourceUri } from '../../../firmware-bridge/src/source/uri.js';
import { buildImage, parseImage, parseVersion, versionString } from '../../../firmware-bridge/src/firmware/image.js';
import { updateFirmware, type UpdaterConnection, type UpdateProgress } from '../../../firmware-bridge/src/firmware/update.js';
import { ExitCode } from '../exit-codes.js';
import { parsePositiveInt, UsageError, writeLine, type CliContext } from '../context.js';

interface FlashOpts {
  port?: string;
  source?: string;
  fleetKey: string;
  allowDowngrade?: boolean;
  bootTimeout: number;
  json?: boolean;
}

/** The link named by --port PATH or --source URI (mcu:PATH, tcp://HOST:PORT?protocol=mcu). */
export function mcuLink(o: { port?: string; source?: string }): Link {
  if ((o.port === undefined) === (o.source === undefined)) throw new UsageError('give exactly one of --port PATH or --source URI');
  if (o.port !== undefined) return serialLink({ path: o.port, baudRate: 115200 });
  const spec = parseSourceUri(o.source!);
  if (spec.protocol !== 'mcu') throw new H3lixError('SOURCE_URI', `--source must name the companion MCU (mcu:PATH or tcp://HOST:PORT?protocol=mcu), got protocol ${spec.protocol}`);
  return spec.transport.kind === 'tcp' ? tcpLink({ host: spec.transport.host, port: spec.transport.port }) : serialLink({ path: spec.transport.path, baudRate: spec.transport.baudRate });
}

function connector(link: Link): () => Promise<UpdaterConnection> {
  return async () => {
    const open = await link.open();
    const client = new McuClient({ stream: open.stream, clock: systemClock });
    client.start();
    open.stream.on('error', () => client.stop()); // a vanished device fails the pending request at once (then: reconnect)
    return {
      client,
      close: async () => {
        client.stop();
        await open.close();
      },
    };
  };
}

function describe(p: UpdateProgress): string {
  if (p.phase === 'transfer') return `sent ${p.offset}/${p.size} bytes (${Math.floor((100 * p.offset!) / p.size!)} %)`;
  if (p.phase === 'resume') return `resuming: ${p.detail ?? ''}`;
  return { verify: 'MCU checks the SHA-256 of what it received', reboot: 'resetting into the new image (on trial)', health: 'health check of the new image', confirmed: 'confirmed' }[p.phase];
}

/** `h3lix mcu image` (sign a built binary) and `h3lix mcu flash` (update over the serial link). */
export function registerMcuFlashCommands(mcu: Command, ctx: CliContext): void {
  mcu
    .command('image <binary>')
    .description('make a signed companion-MCU firmware image from a built binary (e.g. firmware-bridge/firmware/build/h3lix-app-mps2.bin)')
    .requiredOption('--board <name>', 'board the image is for, as the MCU names itself in INFO (e.g. h3lix-ref-mps2)')
    .requiredOption('--fw-version <x.y.z>', 'firmware version (what the binary reports in INFO)')
    .requiredOption('--fleet-dir <dir>', 'fleet directory whose key signs the image (private/fleet.key)')
    .requiredOption('--out <file>', 'image file to write')
    .option('--load-address <addr>', 'where the boot stage copies the payload', '0x10000')
    .option('--json', 'print one JSON object')
    .action((binary: string, o: { board: string; fwVersion: string; fleetDir: string; out: string; loadAddress: string; json?: boolean }) => {
      const load = Number(o.loadAddress);
      if (!Number.isInteger(load) || load < 0 || load > 0xffffffff) throw new UsageError(`--load-address must be an address, got "${o.loadAddress}"`);
      const img = buildImage({ payload: readFileSync(binary), board: o.board, version: parseVersion(o.fwVersion), loadAddress: load, signer: FleetDir.open(o.fleetDir).fleetSigner() });
      writeFileSync(o.out, img.bytes);
      const out = { image: o.out, board: img.board, version: versionString(img.version), bytes: img.bytes.length, sha256: img.sha256.toString('hex'), imageSha256: createHash('sha256').update(img.bytes).digest('hex'), keyId: img.keyId.toString('hex') };
      writeLine(ctx.stdout, o.json ? JSON.stringify(out) : `${o.out}: ${out.board} ${out.version}, ${out.bytes} bytes, payload sha256 ${out.sha256}, signed by key ${out.keyId}; image sha256 ${out.imageSha256} (the mcu-flash fleet command's args.sha256)`);
      ctx.setExitCode(ExitCode.OK);
    });
  mcu
    .command('flash <image>')
    .description('update the companion MCU over its serial link: checks signature, board, version and size first, then transfers (resumable), resets into the image on trial, health-checks and confirms it')
    .option('--port <path>', 'serial device of the MCU')
    .option('--source <uri>', 'the MCU as a source URI (mcu:PATH, tcp://HOST:PORT?protocol=mcu)')
    .requiredOption('--fleet-key <fleet.json>', 'the fleet.json holding the trusted fleet public key')
    .option('--allow-downgrade', 'accept an image older than the running firmware')
    .option('--boot-timeout <ms>', 'how long the new image has to answer after the reset', parsePositiveInt('--boot-timeout', 100, 600_000), 10_000)
    .option('--json', 'print progress and the result as JSON lines')
    .action(async (file: string, o: FlashOpts) => {
      const link = mcuLink(o);
      const { publicKey } = loadFleetPublicKey(o.fleetKey);
      const image = parseImage(readFileSync(file));
      const abort = new AbortController();
      const onSignal = () => abort.abort();
      process.once('SIGINT', onSignal);
      try {
        const r = await updateFirmware({
          image, fleetPublicKey: publicKey, allowDowngrade: Boolean(o.allowDowngrade), connect: connector(link), clock: systemClock,
          bootTimeoutMs: o.bootTimeout, signal: abort.signal,
          onProgress: (p) => writeLine(ctx.stderr, o.json ? JSON.stringify(p) : `h3lix mcu flash: ${describe(p)}`),
        });
        writeLine(ctx.stdout, o.json ? JSON.stringify(r) : r.alreadyRunning ? `the MCU already runs ${r.to} (confirmed): nothing sent` : `MCU updated ${r.from} → ${r.to} (slot ${r.slot}, ${r.bytesSent} bytes sent, ${r.resumes} resumes), confirmed`);
        ctx.setExitCode(ExitCode.OK);
      } finally {
        process.removeListener('SIGINT', onSignal);
      }
    });
}
