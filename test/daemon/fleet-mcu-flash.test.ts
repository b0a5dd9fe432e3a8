import t from 'tap';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { cli } from '../helpers/cli.js';
import { capturedLogger, startProvisioner, startSecureBroker } from '../fleet/fixtures.js';
import { buildRunDaemon } from '../../src/cli/commands/run.js';
import { validateConfig } from '../../src/config/load.js';
import { FleetDir } from '../../src/fleet/fleet-dir.js';
import { buildImage } from '../../firmware-bridge/src/firmware/image.js';
import { provisionNvFlash } from '../../firmware-bridge/src/firmware/nv-flash.js';
import { firmwareSkipReason } from '../firmware-bridge/firmware-helpers.js';
import { BOARD, bootQemu, buildVariant, otherKey, probe, signedImage } from '../firmware-bridge/fw-update-helpers.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { until } from './helpers.js';

// Fleet-wide rollout: the operator sends the fleet-signed `mcu-flash` command; the board's daemon fetches
// the image, checks it against the command's digest and the fleet key, and updates its companion MCU
// (the real firmware under QEMU, on the daemon's own energy source link).
const skip = firmwareSkipReason('qemu');

async function command(fd: FleetDir, url: string, node: string, args: object): Promise<{ code: number; reply: { ok: boolean; result?: Record<string, unknown>; error?: string } | undefined }> {
  const r = await cli(['fleet', 'cmd', node, 'mcu-flash', '--fleet-dir', fd.dir, '--broker', url, '--args', JSON.stringify(args), '--wait', '60', '--ttl', '120', '--json']);
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  return { code: r.code, reply: last.startsWith('{') ? (JSON.parse(last) as { ok: boolean }) : undefined };
}

t.test('fleet command mcu-flash updates a board\'s companion MCU (daemon in fleet mode, QEMU firmware)', { skip, timeout: 120_000 }, async (t) => {
  const dir = t.testdir();
  const { logger } = capturedLogger();
  const init = await cli(['fleet', 'init', '--fleet', 'f1', '--out', join(dir, 'fleet'), '--batch', 'b1', '--uses', '10', '--json']);
  t.equal(init.code, 0, init.stderr);
  const fd = FleetDir.open(join(dir, 'fleet'));
  const sb = await startSecureBroker(fd, logger);
  t.teardown(() => sb.broker.stop());
  const prov = await startProvisioner(fd, sb.broker.url, logger);
  t.teardown(() => prov.stop());

  // the running MCU firmware carries this fleet's key: it checks the image's signature itself (NACK 11)
  const oldDir = buildVariant('upd-v1.1.0-fleetcmd', { key: fd.fleetPublicKey });
  const newDir = buildVariant('upd-v1.2.0', { fw: '-DFW_MINOR=2' });
  const nv = join(dir, 'nv.bin');
  provisionNvFlash(nv, signedImage(oldDir, [1, 1, 0]).bytes);
  const pty = join(dir, 'ttyMCU');
  const fw = await bootQemu(pty, nv);
  t.ok(fw, 'MCU boots');
  t.teardown(() => fw?.kill());

  const config = validateConfig({
    node: { dataDir: join(dir, 'a'), fleet: fd.fleet, board: 'rpi-4' },
    broker: { embedded: { enabled: false }, url: sb.broker.url, reconnectMs: 100 },
    energySource: { uri: `mcu:${pty}` },
    log: { level: 'silent' },
    fleet: { enabled: true, imageDir: fd.path('image', 'b1'), attemptTimeoutMs: 2000, maxAttempts: 3, backoffMs: 50 },
  });
  const { daemon, fleetNode } = await buildRunDaemon({ config, logger, jitterMs: 100, drainTimeoutMs: 300 });
  await daemon.start();
  let stopped = false;
  t.teardown(() => (stopped ? undefined : daemon.stop('test end')));
  const node = fleetNode!.nodeId;

  const image = buildImage({ payload: readFileSync(join(newDir, 'h3lix-app-mps2.bin')), board: BOARD, version: [1, 2, 0], loadAddress: 0x10000, signer: fd.fleetSigner() });
  const file = join(dir, 'mcu-1.2.0.h3fw');
  writeFileSync(file, image.bytes);
  const digest = createHash('sha256').update(image.bytes).digest('hex');
  await until(() => fw!.log.length > 0, 5000, 'the MCU boot log');

  const wrong = await command(fd, sb.broker.url, node, { url: file, sha256: '0'.repeat(64) });
  t.equal(wrong.reply?.ok, false, 'bytes with another digest than the signed command: refused');
  t.match(wrong.reply?.error, /FIRMWARE_IMAGE.*the signed command names/);
  const bad = await command(fd, sb.broker.url, node, { url: file });
  t.match(bad.reply?.error, /DATA_INVALID.*sha256/, 'no digest: refused');
  const foreign = signedImage(newDir, [1, 2, 0], otherKey);
  writeFileSync(join(dir, 'foreign.h3fw'), foreign.bytes);
  const notOurs = await command(fd, sb.broker.url, node, { url: join(dir, 'foreign.h3fw'), sha256: createHash('sha256').update(foreign.bytes).digest('hex') });
  t.match(notOurs.reply?.error, /FIRMWARE_SIGNATURE: image is signed by another key/, 'an image not signed by this fleet: refused even in a fleet-signed command');
  t.same(fw!.log, ['h3lix-mcu: boot slot 0 version 1.1.0'], 'no reset, nothing booted but the factory image');

  const ok = await command(fd, sb.broker.url, node, { url: `file://${file}`, sha256: digest });
  t.equal(ok.code, 0);
  t.equal(ok.reply?.ok, true, ok.reply?.error ?? 'updated');
  t.match(ok.reply?.result, { from: '1.1.0', to: '1.2.0', slot: 1 });
  t.match(fw!.log.at(-1), /boot slot 1 \(trial\) version 1\.2\.0/, 'the MCU reset into the new image on trial');
  stopped = true;
  await daemon.stop('test end'); // releases the port
  t.match(await probe(pty), { version: '1.2.0', state: 'idle', slot: 1 }, 'the MCU runs 1.2.0, confirmed');
});
