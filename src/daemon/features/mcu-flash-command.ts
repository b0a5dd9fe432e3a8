import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { H3lixError } from '../../errors.js';
import type { FleetNode } from '../../fleet/fleet-node.js';
import { moduleLogger } from '../../util/logger.js';
import { parseImage } from '../../../firmware-bridge/src/firmware/image.js';
import { updateFirmware } from '../../../firmware-bridge/src/firmware/update.js';
import type { Feature, FeatureFactory } from '../feature.js';
import type { FeatureHandles } from './handles.js';

/** Largest image the command fetches (a slot is 124 KiB). */
export const MAX_MCU_IMAGE_BYTES = 256 * 1024;

/** Fetch the image bytes: `file:` URLs and absolute paths from disk, `http(s):` with a size cap. */
async function fetchImage(url: string): Promise<Buffer> {
  if (url.startsWith('/') || url.startsWith('file:')) {
    const bytes = await readFile(url.startsWith('file:') ? fileURLToPath(url) : url);
    if (bytes.length > MAX_MCU_IMAGE_BYTES) throw new H3lixError('FIRMWARE_IMAGE', `image ${url} is ${bytes.length} bytes, more than ${MAX_MCU_IMAGE_BYTES}`);
    return bytes;
  }
  if (!/^https?:\/\//.test(url)) throw new H3lixError('DATA_INVALID', `mcu-flash: args.url must be http(s)://, file: or an absolute path, got "${url.slice(0, 100)}"`);
  const res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
  if (!res.ok) throw new H3lixError('FIRMWARE_UPDATE', `mcu-flash: GET ${url}: HTTP ${res.status}`, { retryable: true });
  const bytes = Buffer.from(await res.arrayBuffer());
  if (bytes.length > MAX_MCU_IMAGE_BYTES) throw new H3lixError('FIRMWARE_IMAGE', `image ${url} is ${bytes.length} bytes, more than ${MAX_MCU_IMAGE_BYTES}`);
  return bytes;
}

/**
 * The fleet command `mcu-flash {url, sha256, allowDowngrade?}` (docs/fleet.md "Commands"): fleet-wide
 * rollout of companion-MCU firmware. Fleet messages are capped at 16 KiB, so the signed command pins the
 * image by the SHA-256 of its bytes and names where to fetch it; the node refuses bytes with another
 * digest, then runs the same checks and update as `h3lix mcu flash` (signature against the board's
 * trusted fleet key, board, version, resumable transfer, trial, health check, confirm) over the energy
 * source's MCU link. One update at a time.
 */
export function mcuFlashCommandFeature(fn: FleetNode, handles: FeatureHandles): FeatureFactory {
  return (ctx): Feature => {
    const log = moduleLogger(ctx.logger, 'mcu-flash');
    let off: (() => void) | undefined;
    let busy = false;
    return {
      name: 'mcu-flash-command',
      start: async () => {
        off = fn.commands.register('mcu-flash', async (args) => {
          const url = args.url;
          const sha = args.sha256;
          if (typeof url !== 'string' || url.length > 2048) throw new H3lixError('DATA_INVALID', 'mcu-flash: args.url must be a string (http(s)://, file: or an absolute path)');
          if (typeof sha !== 'string' || !/^[0-9a-f]{64}$/.test(sha)) throw new H3lixError('DATA_INVALID', 'mcu-flash: args.sha256 must be the image\'s SHA-256, 64 lowercase hex digits');
          if (args.allowDowngrade !== undefined && typeof args.allowDowngrade !== 'boolean') throw new H3lixError('DATA_INVALID', 'mcu-flash: args.allowDowngrade must be a boolean');
          if (!handles.energy?.mcu()) throw new H3lixError('COMMAND_REFUSED', 'mcu-flash: no companion MCU is connected on this node (energySource mcu:...)');
          if (busy) throw new H3lixError('COMMAND_REFUSED', 'mcu-flash: an update is already running');
          busy = true;
          try {
            const bytes = await fetchImage(url);
            const got = createHash('sha256').update(bytes).digest('hex');
            if (got !== sha) throw new H3lixError('FIRMWARE_IMAGE', `mcu-flash: ${url} has SHA-256 ${got}, the signed command names ${sha}`);
            const image = parseImage(bytes);
            log.info({ url, board: image.board, version: image.version.join('.') }, 'MCU firmware update by fleet command');
            const r = await updateFirmware({
              image, fleetPublicKey: fn.fleetPublicKey, allowDowngrade: args.allowDowngrade === true, clock: ctx.clock,
              // the energy source's own client (its reconnects replace it; the queue keeps one request at a time)
              connect: () => {
                const client = handles.energy?.mcu();
                if (!client) return Promise.reject(new H3lixError('SERIAL_UNAVAILABLE', 'the MCU link is not open', { retryable: true }));
                return Promise.resolve({ client, close: () => Promise.resolve() });
              },
              onProgress: (p) => log.debug(p, 'mcu-flash progress'),
            });
            log.info(r, 'MCU firmware update done');
            return { from: r.from, to: r.to, slot: r.slot, alreadyRunning: r.alreadyRunning, bytesSent: r.bytesSent, resumes: r.resumes };
          } finally {
            busy = false;
          }
        });
      },
      stop: async () => {
        off?.();
        off = undefined;
      },
    };
  };
}
