import t from 'tap';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock } from '../../src/util/clock.js';
import { createSigner } from '../../src/crypto/ed25519.js';
import { FleetDir } from '../../src/fleet/fleet-dir.js';
import { serialLink } from '../../firmware-bridge/src/link/link.js';
import { cobsDecode } from '../../firmware-bridge/src/mcu/cobs.js';
import { decodeFwState, encodeFwBegin, encodeFwChunk, encodeFwState } from '../../firmware-bridge/src/mcu/fw-messages.js';
import { McuFirmwareClient } from '../../firmware-bridge/src/mcu/fw-client.js';
import { McuPowerClient } from '../../firmware-bridge/src/mcu/power-client.js';
import { encodeFrame, MsgType } from '../../firmware-bridge/src/mcu/protocol.js';
import { buildImage, compareVersions, parseImage, parseVersion, verifyImage } from '../../firmware-bridge/src/firmware/image.js';
import { provisionNvFlash } from '../../firmware-bridge/src/firmware/nv-flash.js';
import { updateFirmware } from '../../firmware-bridge/src/firmware/update.js';
import { cli } from '../helpers/cli.js';
import { firmwareSkipReason } from './firmware-helpers.js';
import { until } from './helpers.js';
import { BOARD, bootQemu, buildVariant, connector, fleetKey, otherKey, probe, signedImage } from './fw-update-helpers.js';

const hex = (s: string) => Buffer.from(s.replace(/ /g, ''), 'hex');
const show = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');

// README "Firmware updates" test vectors; packets and wires computed by an independent Python script
// (binascii.crc_hqx with init 0xFFFF for CRC-16/CCITT-FALSE, and a COBS of its own).
const V = {
  begin32: { type: MsgType.FW_BEGIN, seq: 32, payload: encodeFwBegin({ size: 23052, sha256: Uint8Array.from({ length: 32 }, (_, i) => i), version: [1, 2, 0], allowDowngrade: false, board: 'h3lix-ref-mps2' }), wire: '04 01 40 20 03 0c 5a 01 01 22 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f 01 02 01 11 68 33 6c 69 78 2d 72 65 66 2d 6d 70 73 32 ab 97 00' },
  state32: { type: MsgType.FW_STATE, seq: 32, payload: encodeFwState({ state: 'receiving', runningSlot: 0, runningVersion: '1.1.0', next: 0, size: 23052 }), wire: '04 01 46 20 02 01 03 01 01 01 01 01 01 03 0c 5a 01 03 22 db 00' },
  chunk33: { type: MsgType.FW_CHUNK, seq: 33, payload: encodeFwChunk(0, hex('4833465701008000')), wire: '04 01 41 21 01 01 01 01 06 48 33 46 57 01 02 80 03 31 4b 00' },
  state33: { type: MsgType.FW_STATE, seq: 33, payload: encodeFwState({ state: 'receiving', runningSlot: 0, runningVersion: '1.1.0', next: 8, size: 23052 }), wire: '04 01 46 21 02 01 03 01 01 02 08 01 01 03 0c 5a 01 03 92 fd 00' },
  finish34: { type: MsgType.FW_FINISH, seq: 34, payload: Buffer.alloc(0), wire: '04 01 42 22 03 e1 3d 00' },
  nackDigest34: { type: MsgType.NACK, seq: 34, payload: Buffer.from([0x42, 8]), wire: '04 01 03 22 05 42 08 95 e2 00' },
  reset35: { type: MsgType.FW_RESET, seq: 35, payload: Buffer.alloc(0), wire: '04 01 44 23 03 60 ac 00' },
  confirm36: { type: MsgType.FW_CONFIRM, seq: 36, payload: Buffer.alloc(0), wire: '04 01 43 24 03 7c ab 00' },
  ack36: { type: MsgType.ACK, seq: 36, payload: Buffer.from([0x43]), wire: '04 01 02 24 04 43 74 94 00' },
  getState37: { type: MsgType.FW_GET_STATE, seq: 37, payload: Buffer.alloc(0), wire: '04 01 45 25 03 fd 3a 00' },
  state37: { type: MsgType.FW_STATE, seq: 37, payload: encodeFwState({ state: 'trial', runningSlot: 1, runningVersion: '1.2.0', next: 23052, size: 23052 }), wire: '04 01 46 25 05 03 01 01 02 03 0c 5a 01 03 0c 5a 01 03 27 87 00' },
  nackBoard38: { type: MsgType.NACK, seq: 38, payload: Buffer.from([0x40, 6]), wire: '04 01 03 26 05 40 06 d8 bf 00' },
  nackState39: { type: MsgType.NACK, seq: 39, payload: Buffer.from([0x42, 10]), wire: '04 01 03 27 05 42 0a 09 e5 00' },
};

t.test('firmware-update messages match the README vectors', async (t) => {
  for (const [name, v] of Object.entries(V)) t.equal(show(encodeFrame(v.type, v.seq, v.payload)), v.wire, name);
  t.same(decodeFwState(V.state37.payload), { state: 'trial', runningSlot: 1, runningVersion: '1.2.0', next: 23052, size: 23052 });
  t.throws(() => decodeFwState(Buffer.alloc(12)), { code: 'FRAME_MALFORMED' });
  t.throws(() => decodeFwState(Buffer.from([9, ...Buffer.alloc(12)])), { code: 'FRAME_MALFORMED' });
  t.throws(() => encodeFwChunk(0, Buffer.alloc(61)), { code: 'WIRE_OVERSIZE' });
  t.throws(() => encodeFwBegin({ size: 1, sha256: Buffer.alloc(32), version: [1, 0, 0], allowDowngrade: false, board: 'x'.repeat(25) }), { code: 'WIRE_OVERSIZE' });
});

t.test('images: signed header over the payload digest; every defect refused with its reason', async (t) => {
  const payload = Buffer.from('not really ARM code, but any bytes will do here');
  const img = buildImage({ payload, board: BOARD, version: [1, 2, 3], loadAddress: 0x10000, signer: createSigner(fleetKey) });
  t.equal(img.bytes.length, 128 + payload.length + 64);
  t.same(parseImage(img.bytes).version, [1, 2, 3]);
  t.equal(parseImage(img.bytes).board, BOARD);
  t.equal(img.sha256.toString('hex'), createHash('sha256').update(payload).digest('hex'));
  t.doesNotThrow(() => verifyImage(img, fleetKey.publicKey));
  t.throws(() => verifyImage(img, otherKey.publicKey), { code: 'FIRMWARE_SIGNATURE', message: /another key/ });
  const header = Buffer.from(img.bytes);
  header[16] = 9; // version byte: signed, so the signature breaks
  t.throws(() => verifyImage(parseImage(header), fleetKey.publicKey), { code: 'FIRMWARE_SIGNATURE', message: /altered/ });
  const body = Buffer.from(img.bytes);
  body[130] ^= 1;
  t.throws(() => verifyImage(parseImage(body), fleetKey.publicKey), { code: 'FIRMWARE_IMAGE', message: /SHA-256/ });
  t.throws(() => parseImage(img.bytes.subarray(0, img.bytes.length - 1)), { code: 'FIRMWARE_IMAGE', message: /truncated/ });
  t.throws(() => parseImage(img.bytes.subarray(0, 100)), { code: 'FIRMWARE_IMAGE', message: /truncated/ });
  t.throws(() => parseImage(Buffer.concat([img.bytes, Buffer.from([0])])), { code: 'FIRMWARE_IMAGE', message: /after its signature/ });
  t.throws(() => parseImage(Buffer.alloc(300)), { code: 'FIRMWARE_IMAGE', message: /magic/ });
  const fmt = Buffer.from(img.bytes);
  fmt[4] = 2;
  t.throws(() => parseImage(fmt), { code: 'FIRMWARE_IMAGE', message: /format/ });
  t.throws(() => buildImage({ payload, board: 'x'.repeat(25), version: [1, 0, 0], loadAddress: 0, signer: createSigner(fleetKey) }), { code: 'DATA_INVALID' });
  t.throws(() => buildImage({ payload: Buffer.alloc(0), board: BOARD, version: [1, 0, 0], loadAddress: 0, signer: createSigner(fleetKey) }), { code: 'DATA_INVALID' });
  t.same(parseVersion('1.20.255'), [1, 20, 255]);
  t.throws(() => parseVersion('1.2'), { code: 'DATA_INVALID' });
  t.throws(() => parseVersion('1.2.256'), { code: 'DATA_INVALID' });
  t.equal(compareVersions([1, 2, 0], [1, 10, 0]), -1);
  t.equal(compareVersions([2, 0, 0], [1, 10, 0]), 1);
  t.equal(compareVersions([1, 2, 3], [1, 2, 3]), 0);
});

const skip = firmwareSkipReason('qemu');
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

t.test('bad images are refused before anything is written (real firmware under QEMU)', { skip, timeout: 60_000 }, async (t) => {
  const dir = t.testdir();
  const oldDir = buildVariant('upd-v1.1.0');
  const nv = join(dir, 'nv.bin');
  provisionNvFlash(nv, signedImage(oldDir, [1, 1, 0]).bytes);
  const pty = join(dir, 'tty');
  const fw = await bootQemu(pty, nv);
  t.ok(fw, 'boots');
  t.teardown(() => fw?.kill());
  const before = sha(nv);
  const good = signedImage(oldDir, [1, 2, 0]);
  const run = (image: typeof good, allowDowngrade = false) => updateFirmware({ image, fleetPublicKey: fleetKey.publicKey, connect: connector(pty, 300, 2), clock: systemClock, allowDowngrade }).then(() => undefined, (e: Error) => e);
  t.match(await run(signedImage(oldDir, [1, 2, 0], otherKey)), { code: 'FIRMWARE_SIGNATURE' }, 'signed by another key');
  const rp = buildImage({ payload: good.payload, board: 'h3lix-ref-rp2040', version: [1, 2, 0], loadAddress: 0x10000, signer: createSigner(fleetKey) });
  t.match(await run(rp), { code: 'FIRMWARE_BOARD', message: /h3lix-ref-rp2040.*h3lix-ref-mps2/ }, "another board's image");
  t.match(await run(signedImage(oldDir, [1, 0, 9])), { code: 'FIRMWARE_DOWNGRADE', message: /--allow-downgrade/ }, 'a downgrade');
  t.throws(() => parseImage(good.bytes.subarray(0, good.bytes.length - 30)), { code: 'FIRMWARE_IMAGE' }, 'a truncated image');
  t.equal(sha(nv), before, 'the update flash is byte for byte what it was');
  t.same(await probe(pty), { version: '1.1.0', state: 'idle', slot: 0 }, 'the MCU runs its image, idle');

  // the MCU refuses on its own too (defence in depth: a host that skipped its checks)
  const c = await connector(pty, 300, 2)();
  t.teardown(() => c.close());
  const fwc = new McuFirmwareClient(c.client);
  const begin = { size: good.bytes.length, sha256: good.sha256, version: good.version, allowDowngrade: false, board: BOARD };
  t.match(await fwc.begin({ ...begin, board: 'h3lix-ref-rp2040' }).catch((e: Error) => e), { code: 'COMMAND_REFUSED', detail: { nack: 6 } }, 'FW_BEGIN for another board: NACK 6');
  t.match(await fwc.begin({ ...begin, version: [1, 0, 0] }).catch((e: Error) => e), { code: 'COMMAND_REFUSED', detail: { nack: 7 } }, 'a downgrade: NACK 7');
  t.match(await fwc.begin({ ...begin, size: 0x1f001 }).catch((e: Error) => e), { code: 'COMMAND_REFUSED', detail: { nack: 3 } }, 'larger than a slot: NACK 3');
  t.match(await fwc.chunk(0, Buffer.from([1])).catch((e: Error) => e), { code: 'COMMAND_REFUSED', detail: { nack: 10 } }, 'a chunk without FW_BEGIN: NACK 10');
  t.equal(sha(nv), before, 'still nothing written');
});

t.test('the QEMU firmware answers the README vectors byte for byte', { skip, timeout: 60_000 }, async (t) => {
  const dir = t.testdir();
  const oldDir = buildVariant('upd-v1.1.0');
  const nv = join(dir, 'nv.bin');
  provisionNvFlash(nv, signedImage(oldDir, [1, 1, 0]).bytes);
  const pty = join(dir, 'tty');
  const fw = await bootQemu(pty, nv);
  t.teardown(() => fw?.kill());
  const link = await serialLink({ path: pty, baudRate: 115200 }).open();
  t.teardown(() => link.close());
  const frames: Buffer[] = [];
  let buf = Buffer.alloc(0);
  link.stream.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    for (let i = buf.indexOf(0); i >= 0; i = buf.indexOf(0)) {
      const f = buf.subarray(0, i + 1);
      buf = buf.subarray(i + 1);
      if (f.length > 1 && cobsDecode(f.subarray(0, -1))[1] !== MsgType.READING) frames.push(Buffer.from(f));
    }
  });
  const exchange = async (wire: Buffer): Promise<string> => {
    const n = frames.length;
    link.stream.write(wire);
    await until(() => frames.length > n, 3000, `an answer to ${show(wire)}`);
    return show(frames[n]!);
  };
  t.equal(await exchange(encodeFrame(MsgType.FW_FINISH, 39)), V.nackState39.wire, 'FW_FINISH with nothing received → NACK 10');
  t.equal(await exchange(hex(V.confirm36.wire)), V.ack36.wire, 'FW_CONFIRM of a confirmed image → ACK (idempotent)');
  t.equal(await exchange(encodeFrame(MsgType.FW_BEGIN, 38, encodeFwBegin({ size: 23052, sha256: Buffer.alloc(32, 1), version: [1, 2, 0], allowDowngrade: false, board: 'h3lix-ref-rp2040' }))), V.nackBoard38.wire, 'FW_BEGIN for another board → NACK 6');
});

t.test('h3lix mcu image + h3lix mcu flash (in-process CLI, real QEMU firmware)', { skip, timeout: 90_000 }, async (t) => {
  const dir = t.testdir();
  const oldDir = buildVariant('upd-v1.1.0');
  const newDir = buildVariant('upd-v1.2.0', { fw: '-DFW_MINOR=2' });
  FleetDir.create(join(dir, 'fleet'), { format: 'h3lix-fleet', v: 1, fleet: 'mcu', fleetPublicKey: Buffer.from(fleetKey.publicKey).toString('base64'), brokerUrl: 'mqtt://127.0.0.1:1883', createdAt: 0 }, fleetKey.seed);
  const fleetJson = join(dir, 'fleet', 'fleet.json');
  const made = await cli(['mcu', 'image', join(newDir, 'h3lix-app-mps2.bin'), '--board', BOARD, '--fw-version', '1.2.0', '--fleet-dir', join(dir, 'fleet'), '--out', join(dir, 'v1.2.0.h3fw'), '--json']);
  t.equal(made.code, 0, made.stderr);
  t.match(JSON.parse(made.stdout), { board: BOARD, version: '1.2.0', keyId: Buffer.from(fleetKey.publicKey.subarray(0, 8)).toString('hex') });
  const nv = join(dir, 'nv.bin');
  provisionNvFlash(nv, signedImage(oldDir, [1, 1, 0]).bytes);
  const pty = join(dir, 'tty');
  const fw = await bootQemu(pty, nv);
  t.teardown(() => fw?.kill());
  writeFileSync(join(dir, 'cut.h3fw'), readFileSync(join(dir, 'v1.2.0.h3fw')).subarray(0, 5000));
  const cut = await cli(['mcu', 'flash', join(dir, 'cut.h3fw'), '--port', pty, '--fleet-key', fleetJson]);
  t.equal(cut.code, 65, 'a truncated image: data error');
  t.match(cut.stderr, /FIRMWARE_IMAGE: image is truncated/);
  const both = await cli(['mcu', 'flash', join(dir, 'v1.2.0.h3fw'), '--port', pty, '--source', `mcu:${pty}`, '--fleet-key', fleetJson]);
  t.equal(both.code, 64);
  const vd = await cli(['mcu', 'flash', join(dir, 'v1.2.0.h3fw'), '--source', `vedirect:${pty}`, '--fleet-key', fleetJson]);
  t.equal(vd.code, 64, 'a source that is not the MCU');
  const ok = await cli(['mcu', 'flash', join(dir, 'v1.2.0.h3fw'), '--source', `mcu:${pty}`, '--fleet-key', fleetJson, '--json']);
  t.equal(ok.code, 0, ok.stderr);
  t.match(JSON.parse(ok.stdout), { from: '1.1.0', to: '1.2.0', slot: 1, alreadyRunning: false });
  const phases = ok.stderr.trim().split('\n').map((l) => (JSON.parse(l) as { phase: string }).phase);
  t.ok(phases.includes('transfer') && phases.at(-1) === 'confirmed', `progress on stderr: ${[...new Set(phases)].join(', ')}`);
  const again = await cli(['mcu', 'flash', join(dir, 'v1.2.0.h3fw'), '--port', pty, '--fleet-key', fleetJson]);
  t.equal(again.code, 0);
  t.match(again.stdout, /already runs 1.2.0/);
  const down = await cli(['mcu', 'image', join(oldDir, 'h3lix-app-mps2.bin'), '--board', BOARD, '--fw-version', '1.1.0', '--fleet-dir', join(dir, 'fleet'), '--out', join(dir, 'v1.1.0.h3fw')]);
  t.equal(down.code, 0, down.stderr);
  const refused = await cli(['mcu', 'flash', join(dir, 'v1.1.0.h3fw'), '--port', pty, '--fleet-key', fleetJson]);
  t.equal(refused.code, 65);
  t.match(refused.stderr, /FIRMWARE_DOWNGRADE/);
  const allowed = await cli(['mcu', 'flash', join(dir, 'v1.1.0.h3fw'), '--port', pty, '--fleet-key', fleetJson, '--allow-downgrade']);
  t.equal(allowed.code, 0, allowed.stderr);
  t.match(allowed.stdout, /1\.2\.0 → 1\.1\.0 \(slot 0/);
});

t.test('an MCU that stops answering mid-transfer: the same h3lix mcu flash run reconnects and resumes (QEMU killed and restarted)', { skip, timeout: 60_000 }, async (t) => {
  const dir = t.testdir();
  const oldDir = buildVariant('upd-v1.1.0');
  const newDir = buildVariant('upd-v1.2.0', { fw: '-DFW_MINOR=2' });
  const nv = join(dir, 'nv.bin');
  provisionNvFlash(nv, signedImage(oldDir, [1, 1, 0]).bytes);
  const pty = join(dir, 'tty');
  let fw = await bootQemu(pty, nv);
  t.ok(fw, 'boots');
  const image = signedImage(newDir, [1, 2, 0]);
  let restarted: Promise<void> | undefined;
  const resumes: number[] = [];
  const r = await updateFirmware({
    image, fleetPublicKey: fleetKey.publicKey, connect: connector(pty), clock: systemClock, reconnects: 10, reconnectDelayMs: 300,
    beforeStep: (s) => {
      if (restarted || s.kind !== 'chunk' || s.offset < 12_000) return;
      const dead = fw!;
      restarted = dead.kill().then(async () => {
        fw = await bootQemu(pty, nv); // the power comes back while the updater is still trying
      });
    },
    onProgress: (p) => (p.phase === 'resume' && p.offset ? resumes.push(p.offset) : undefined),
  });
  await restarted;
  t.teardown(() => fw?.kill());
  t.match(r, { from: '1.1.0', to: '1.2.0', alreadyRunning: false });
  t.ok(r.resumes >= 1, `${r.resumes} reconnects`);
  t.ok(resumes.some((o) => o >= 11_000 && o <= 12_100), `resumed at the offset the MCU kept (${resumes.join(', ')}), not at 0`);
  t.ok(r.bytesSent < image.bytes.length + 1100, `${r.bytesSent} bytes sent for a ${image.bytes.length}-byte image`);
  t.same(await probe(pty), { version: '1.2.0', state: 'idle', slot: 1 });
});

t.test('an image on trial that nobody confirms resets itself and the boot stage reverts it (trial limit built at 1.5 s)', { skip, timeout: 60_000 }, async (t) => {
  const dir = t.testdir();
  const oldDir = buildVariant('upd-v1.1.0-trial', { fw: '-DFWU_TRIAL_MS=1500u' });
  const newDir = buildVariant('upd-v1.2.0-trial', { fw: '-DFW_MINOR=2 -DFWU_TRIAL_MS=1500u' });
  const nv = join(dir, 'nv.bin');
  provisionNvFlash(nv, signedImage(oldDir, [1, 1, 0]).bytes);
  const pty = join(dir, 'tty');
  const fw = await bootQemu(pty, nv, oldDir);
  t.teardown(() => fw?.kill());
  // the host goes away during the health check: no FW_CONFIRM ever comes
  const r = await updateFirmware({ image: signedImage(newDir, [1, 2, 0]), fleetPublicKey: fleetKey.publicKey, connect: connector(pty, 300, 2), clock: systemClock, beforeStep: (s) => { if (s.kind === 'health') throw new Error('host gone'); } }).catch((e: Error) => e);
  t.match(r, { message: 'host gone' });
  t.match(await probe(pty), { version: '1.2.0', state: 'trial' }, 'the new image runs on trial');
  await until(() => fw!.log.filter((l) => l.includes('boot slot 0 version 1.1.0')).length >= 2, 15_000, 'the trial to end and the boot stage to revert');
  t.same(await probe(pty), { version: '1.1.0', state: 'complete', slot: 0 }, 'back on the confirmed image (the received image is still in its slot: a new run resumes at FW_FINISH)');
  t.ok(fw!.log.some((l) => /boot slot 1 \(trial\) version 1\.2\.0/.test(l)) && fw!.log.at(-1)?.includes('boot slot 0 version 1.1.0'), `boot log: ${fw!.log.join(' | ')}`);
});

t.test('with the update flash, QEMU settings survive a power cut too', { skip, timeout: 30_000 }, async (t) => {
  const dir = t.testdir();
  const oldDir = buildVariant('upd-v1.1.0');
  const nv = join(dir, 'nv.bin');
  provisionNvFlash(nv, signedImage(oldDir, [1, 1, 0]).bytes);
  const pty = join(dir, 'tty');
  const statusOf = async () => {
    const c = await connector(pty, 300, 2)();
    try {
      return await new McuPowerClient(c.client).status();
    } finally {
      await c.close();
    }
  };
  const fw = await bootQemu(pty, nv);
  t.equal((await statusOf()).watchdogTimeoutSeconds, 0, 'watchdog off by default');
  const c = await connector(pty, 300, 2)();
  await new McuPowerClient(c.client).setWatchdog(600, 20);
  await c.close();
  await fw!.kill();
  const again = await bootQemu(pty, nv);
  t.teardown(() => again?.kill());
  t.match(await statusOf(), { watchdogTimeoutSeconds: 600, watchdogOffSeconds: 20 }, 'SET_WATCHDOG kept across the kill');
});
