import t from 'tap';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { H3lixError } from '../../src/errors.js';
import { firmwareDir } from '../../firmware-bridge/src/firmware/run.js';
import { checkBoot2, checkRp2040Image, crc32Mpeg2, parseUf2, RP2040_FAMILY_ID } from '../../firmware-bridge/src/firmware/rp2040-image.js';
import { RP2040_OUTPUTS, rp2040SkipReason } from './firmware-helpers.js';

// The RP2040 image of the reference firmware (firmware/targets/rp2040): built by `make rp2040` (part of
// `npm run firmware`), checked against the 64 KB flash budget of issue 13, its boot2 CRC as the bootrom
// checks it and its UF2 as the bootrom's USB drive reads it; every check has a corrupted-input control.
const BUDGET = 64 * 1024;
const skip = rp2040SkipReason();

function check(fn: () => unknown): string {
  try {
    fn();
    return 'passed';
  } catch (err) {
    return err instanceof H3lixError ? `${err.code}:${String(err.detail?.['check'])}` : String(err);
  }
}

t.test('CRC-32/MPEG-2 (the bootrom\'s boot2 check) has its catalogue check value', async (t) => {
  t.equal(crc32Mpeg2(Buffer.from('123456789')), 0x0376e6e7);
});

t.test('RP2040 image', { skip }, async (t) => {
  const dir = firmwareDir();
  const bin = readFileSync(join(dir, RP2040_OUTPUTS.bin));
  const uf2 = readFileSync(join(dir, RP2040_OUTPUTS.uf2));

  t.test('within the 64 KB flash budget, boot2 CRC right, UF2 well-formed', async (t) => {
    const report = checkRp2040Image(bin, uf2, BUDGET);
    t.ok(report.flashBytes <= BUDGET, `flash image ${report.flashBytes} bytes <= ${BUDGET}`);
    t.equal(report.uf2Blocks, Math.ceil(bin.length / 256), 'one UF2 block per 256 bytes');
    const blocks = parseUf2(uf2);
    t.equal(blocks[0]!.address, 0x10000000, 'starts at the XIP flash base');
    t.ok(blocks.every((b, i) => b.address === 0x10000000 + 256 * i), 'blocks contiguous');
    t.equal(uf2.readUInt32LE(28), RP2040_FAMILY_ID, 'family id 0xe48bff56');
    const size = readFileSync(join(dir, RP2040_OUTPUTS.size), 'utf8');
    const m = /flash (\d+) bytes .*static RAM (\d+) bytes/.exec(size);
    t.ok(m, `make wrote the sizes: ${size.trim()}`);
    t.equal(Number(m![1]), bin.length, 'the flash size make reports is the .bin the UF2 carries');
    t.ok(Number(m![2]) < 16 * 1024, `static RAM ${m![2]} bytes (no heap)`);
    t.comment(`rp2040: flash ${bin.length} bytes, static RAM ${m![2]} bytes, ${report.uf2Blocks} UF2 blocks, boot2 CRC 0x${report.boot2Crc.toString(16)}`);
  });

  t.test('negative controls: the same checker catches a corrupted image', async (t) => {
    const crcFlipped = Buffer.from(bin);
    crcFlipped[252]! ^= 0x01;
    t.equal(check(() => checkBoot2(crcFlipped)), 'FIRMWARE_IMAGE:boot2-crc', 'a flipped bit in the stored CRC');
    const codeFlipped = Buffer.from(bin);
    codeFlipped[8]! ^= 0x40;
    t.equal(check(() => checkBoot2(codeFlipped)), 'FIRMWARE_IMAGE:boot2-crc', 'a flipped bit in boot2\'s code');
    const oversized = Buffer.concat([bin, Buffer.alloc(BUDGET + 1 - bin.length, 0xff)]);
    t.equal(check(() => checkRp2040Image(oversized, uf2, BUDGET)), 'FIRMWARE_IMAGE:budget', `an image of ${BUDGET + 1} bytes`);
    t.equal(check(() => checkRp2040Image(bin, uf2, bin.length - 1)), 'FIRMWARE_IMAGE:budget', 'the real image against a budget one byte short');
    const family = Buffer.from(uf2);
    family.writeUInt32LE(0xada52840, 512 + 28); // nRF52840's family in block 1
    t.equal(check(() => parseUf2(family)), 'FIRMWARE_IMAGE:uf2-family', 'another family id');
    const gap = Buffer.concat([uf2.subarray(0, 512), uf2.subarray(1024)]);
    t.equal(check(() => parseUf2(gap)), 'FIRMWARE_IMAGE:uf2-sequence', 'a block missing');
    const moved = Buffer.from(uf2);
    moved.writeUInt32LE(moved.readUInt32LE(512 + 12) + 256, 512 + 12);
    t.equal(check(() => parseUf2(moved)), 'FIRMWARE_IMAGE:uf2-sequence', 'a block at the wrong address');
    const magic = Buffer.from(uf2);
    magic[508]! ^= 0xff;
    t.equal(check(() => parseUf2(magic)), 'FIRMWARE_IMAGE:uf2-magic', 'a broken end magic');
    t.equal(check(() => parseUf2(uf2.subarray(0, 700))), 'FIRMWARE_IMAGE:uf2-size', 'a truncated UF2');
    const content = Buffer.from(uf2);
    content[512 + 32 + 10]! ^= 0xff; // inside block 1's payload: a well-formed UF2 of another image
    t.equal(check(() => checkRp2040Image(bin, content, BUDGET)), 'FIRMWARE_IMAGE:uf2-content', 'a UF2 that is not this image');
  });

  t.test('make itself fails an image over the budget (RP2040_FLASH_BUDGET)', { timeout: 120_000 }, async (t) => {
    const out = join(t.testdir(), 'b');
    const run = promisify(execFile)('make', ['-s', '-C', dir, `B=${out}`, 'RP2040_FLASH_BUDGET=4096', `${out}/h3lix-mcu-rp2040.size`]);
    const err = await run.then(() => undefined, (e: unknown) => e as { code: number; stderr: string });
    t.ok(err && err.code !== 0, 'make exits non-zero');
    t.match(err?.stderr ?? '', /over the flash budget/);
  });
});
