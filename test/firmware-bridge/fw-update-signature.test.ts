import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock } from '../../src/util/clock.js';
import { serialLink } from '../../firmware-bridge/src/link/link.js';
import { cobsDecode } from '../../firmware-bridge/src/mcu/cobs.js';
import { McuFirmwareClient } from '../../firmware-bridge/src/mcu/fw-client.js';
import { encodeFrame, MsgType, NackReason } from '../../firmware-bridge/src/mcu/protocol.js';
import { parseImage, type FirmwareImage } from '../../firmware-bridge/src/firmware/image.js';
import { provisionNvFlash } from '../../firmware-bridge/src/firmware/nv-flash.js';
import { updateFirmware } from '../../firmware-bridge/src/firmware/update.js';
import { firmwareSkipReason } from './firmware-helpers.js';
import { until } from './helpers.js';
import { BOARD, bootQemu, buildVariant, connector, otherKey, probe, signedImage } from './fw-update-helpers.js';

// The MCU's own signature check (README "Firmware updates", NACK 11): images sent straight over the serial
// protocol with the low-level client, bypassing the host-side verifyImage, to the real firmware under QEMU.
// Negative control: a firmware built with -DH3LIX_TEST_NO_SIGCHECK takes the forged image and boots it.
const skip = firmwareSkipReason('qemu');
const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The image with one byte of its signature (the last 64 bytes) flipped. */
function flippedSignature(img: FirmwareImage): FirmwareImage {
  const b = Buffer.from(img.bytes);
  b[b.length - 40]! ^= 0x01;
  return parseImage(b);
}

const show = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');
// README "Firmware updates" vector, computed by an independent Python script (binascii.crc_hqx, init 0xFFFF)
const NACK_SIGNATURE_34 = { packet: '01 03 22 00 42 0b a5 81', wire: '04 01 03 22 05 42 0b a5 81 00' };

t.test('the NACK 11 vector of the README', async (t) => {
  t.equal(show(encodeFrame(MsgType.NACK, 34, Buffer.from([MsgType.FW_FINISH, NackReason.FW_SIGNATURE]))), NACK_SIGNATURE_34.wire);
});

/** FW_BEGIN and every FW_CHUNK of the image over the low-level client (no host-side checks at all). */
async function transfer(pty: string, img: FirmwareImage): Promise<void> {
  const c = await connector(pty, 3000, 0)();
  try {
    const fwc = new McuFirmwareClient(c.client);
    let st = await fwc.begin({ size: img.bytes.length, sha256: img.sha256, version: img.version, allowDowngrade: false, board: BOARD });
    while (st.next < img.bytes.length) st = await fwc.chunk(st.next, img.bytes.subarray(st.next, Math.min(st.next + 60, img.bytes.length)));
  } finally {
    await c.close();
  }
}

/** FW_FINISH seq 34 written as raw bytes; the MCU's answer frame byte for byte (READINGs skipped). */
async function finishWire(pty: string): Promise<string> {
  const link = await serialLink({ path: pty, baudRate: 115200 }).open();
  try {
    let buf = Buffer.alloc(0);
    let answer: Buffer | undefined;
    link.stream.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (let i = buf.indexOf(0); i >= 0 && !answer; i = buf.indexOf(0)) {
        const f = buf.subarray(0, i + 1);
        buf = buf.subarray(i + 1);
        if (f.length > 1 && cobsDecode(f.subarray(0, -1))[1] !== MsgType.READING) answer = Buffer.from(f);
      }
    });
    link.stream.write(encodeFrame(MsgType.FW_FINISH, 34));
    await until(() => answer !== undefined, 5000, 'an answer to FW_FINISH');
    return show(answer!);
  } finally {
    await link.close();
  }
}

interface Sent { finish: number | undefined; finishMs: number }
/** FW_BEGIN, every FW_CHUNK, FW_FINISH over the low-level client; the NACK reason of FW_FINISH, if any. */
async function sendRaw(pty: string, img: FirmwareImage): Promise<Sent> {
  await transfer(pty, img);
  const c = await connector(pty, 3000, 0)();
  try {
    const fwc = new McuFirmwareClient(c.client);
    const t0 = performance.now();
    const nack = await fwc.finish().then(
      () => undefined,
      (e: { detail?: { nack?: number } }) => e.detail?.nack ?? -1,
    );
    return { finish: nack, finishMs: performance.now() - t0 };
  } finally {
    await c.close();
  }
}

async function reset(pty: string): Promise<void> {
  const c = await connector(pty, 3000, 0)();
  try {
    await new McuFirmwareClient(c.client).reset();
  } finally {
    await c.close();
  }
}

/** An MCU running `runDir`'s 1.1.0 from slot 0 on a fresh update flash. */
async function mcu(t: Test, runDir: string): Promise<{ pty: string; nv: string }> {
  const dir = t.testdir();
  const nv = join(dir, 'nv.bin');
  provisionNvFlash(nv, signedImage(runDir, [1, 1, 0]).bytes);
  const pty = join(dir, 'tty');
  const fw = await bootQemu(pty, nv, runDir);
  if (!fw) throw new Error('QEMU firmware did not boot');
  t.teardown(() => fw.kill());
  return { pty, nv };
}

t.test('forged images sent directly over the serial protocol: the MCU refuses them with NACK 11, the running image stays', { skip, timeout: 120_000 }, async (t) => {
  const runDir = buildVariant('upd-v1.1.0');
  const newDir = buildVariant('upd-v1.2.0', { fw: '-DFW_MINOR=2' });
  const good = signedImage(newDir, [1, 2, 0]);
  const forged = { 'one signature byte flipped': flippedSignature(good), 'signed by another key': signedImage(newDir, [1, 2, 0], otherKey) };
  const { pty, nv } = await mcu(t, runDir);
  for (const [what, img] of Object.entries(forged)) {
    const r = await sendRaw(pty, img);
    t.equal(r.finish, NackReason.FW_SIGNATURE, `${what}: FW_FINISH → NACK 11 (${r.finishMs.toFixed(0)} ms)`);
    t.same(await probe(pty), { version: '1.1.0', state: 'idle', slot: 0 }, `${what}: still 1.1.0 from slot 0, nothing pending`);
    const before = sha(nv);
    await reset(pty);
    t.same(await probe(pty), { version: '1.1.0', state: 'idle', slot: 0 }, `${what}: after FW_RESET the boot stage runs 1.1.0 again`);
    t.equal(sha(nv), before, `${what}: the boot found nothing to try (no boot record written)`);
  }
  await transfer(pty, forged['one signature byte flipped']);
  t.equal(await finishWire(pty), NACK_SIGNATURE_34.wire, 'the NACK frame byte for byte as in the README');
  // the genuine image, same route: accepted, boots on trial
  const r = await sendRaw(pty, good);
  t.equal(r.finish, undefined, `correctly signed: FW_FINISH → FW_STATE complete (${r.finishMs.toFixed(0)} ms, SHA-256 of the slot + Ed25519 verify)`);
  await reset(pty);
  t.match(await probe(pty), { version: '1.2.0', state: 'trial', slot: 1 }, 'the signed image boots on trial');
});

t.test('the host trusting another key does not help: updateFirmware maps NACK 11 to FIRMWARE_SIGNATURE', { skip, timeout: 60_000 }, async (t) => {
  const runDir = buildVariant('upd-v1.1.0');
  const newDir = buildVariant('upd-v1.2.0', { fw: '-DFW_MINOR=2' });
  const { pty } = await mcu(t, runDir);
  // a compromised host: its own key as "the fleet key", so its own check passes
  const err = await updateFirmware({ image: signedImage(newDir, [1, 2, 0], otherKey), fleetPublicKey: otherKey.publicKey, connect: connector(pty, 3000, 1), clock: systemClock }).then(
    () => undefined,
    (e: Error) => e,
  );
  t.match(err, { code: 'FIRMWARE_SIGNATURE', message: /fleet key built into the MCU firmware/ });
  t.same(await probe(pty), { version: '1.1.0', state: 'idle', slot: 0 });
});

t.test('a firmware built without a fleet key refuses even a correctly signed image (NACK 11)', { skip, timeout: 60_000 }, async (t) => {
  const runDir = buildVariant('upd-v1.1.0-nokey', { key: null });
  const newDir = buildVariant('upd-v1.2.0', { fw: '-DFW_MINOR=2' });
  const { pty } = await mcu(t, runDir);
  t.equal((await sendRaw(pty, signedImage(newDir, [1, 2, 0]))).finish, NackReason.FW_SIGNATURE);
  t.same(await probe(pty), { version: '1.1.0', state: 'idle', slot: 0 });
});

t.test('negative control: built with -DH3LIX_TEST_NO_SIGCHECK the MCU takes the forged image and boots it', { skip, timeout: 60_000 }, async (t) => {
  const runDir = buildVariant('upd-v1.1.0-nosig', { test: '-DH3LIX_TEST_NO_SIGCHECK' });
  const newDir = buildVariant('upd-v1.2.0', { fw: '-DFW_MINOR=2' });
  const { pty } = await mcu(t, runDir);
  const r = await sendRaw(pty, flippedSignature(signedImage(newDir, [1, 2, 0])));
  t.equal(r.finish, undefined, `forged image accepted (${r.finishMs.toFixed(0)} ms: SHA-256 only)`);
  await reset(pty);
  t.match(await probe(pty), { version: '1.2.0', state: 'trial', slot: 1 }, 'and it boots: the NACK 11 test above would fail on this firmware');
});
