import { H3lixError } from '../../../src/errors.js';

/**
 * Checks of an RP2040 flash image as the reference firmware's `make rp2040` writes it
 * (firmware/targets/rp2040): the boot2 block the bootrom CRC-checks, the vector table boot2 jumps
 * through, the flash budget, and the UF2 file the bootrom's USB drive takes. An independent reading of
 * the same formats the C tools write (tools/boot2pad.c, tools/uf2conv.c), so each checks the other.
 */

/** RP2040 XIP flash base: boot2 sits here, the application's vector table at +0x100. */
export const RP2040_FLASH_BASE = 0x1000_0000;
/** UF2 family ID of the RP2040 (UF2 spec, `utils/uf2families.json`). */
export const RP2040_FAMILY_ID = 0xe48b_ff56;
const RAM_BASE = 0x2000_0000;
const RAM_BYTES = 264 * 1024;
const BOOT2_BYTES = 256;
const UF2_BLOCK = 512;
const UF2_MAGIC0 = 0x0a32_4655; // "UF2\n"
const UF2_MAGIC1 = 0x9e5d_5157;
const UF2_MAGIC_END = 0x0ab1_6f30;
const UF2_FLAG_FAMILY = 0x0000_2000;
const UF2_FLAG_NOT_MAIN_FLASH = 0x0000_0001;

/** Which check an image failed (the `check` in the error's detail). */
export type Rp2040Check = 'boot2-size' | 'boot2-crc' | 'vectors' | 'budget' | 'uf2-size' | 'uf2-magic' | 'uf2-family' | 'uf2-sequence' | 'uf2-payload' | 'uf2-content';

function fail(check: Rp2040Check, message: string, detail: Record<string, unknown> = {}): never {
  throw new H3lixError('FIRMWARE_IMAGE', `RP2040 image: ${message}`, { detail: { check, ...detail } });
}

/**
 * CRC-32/MPEG-2: poly 0x04C11DB7, init 0xFFFFFFFF, not reflected, no final xor; check("123456789") =
 * 0x0376E6E7. The RP2040 bootrom checks boot2 with it (datasheet 2.8.1.3.1).
 */
export function crc32Mpeg2(bytes: Uint8Array): number {
  let c = 0xffff_ffff;
  for (const b of bytes) {
    c ^= b << 24;
    for (let k = 0; k < 8; k++) c = c & 0x8000_0000 ? (c << 1) ^ 0x04c1_1db7 : c << 1;
  }
  return c >>> 0;
}

/** The boot2 CRC stored in bytes 252..255 of the image; throws FIRMWARE_IMAGE when it is wrong. */
export function checkBoot2(flat: Uint8Array): number {
  if (flat.length < BOOT2_BYTES) fail('boot2-size', `${flat.length} bytes, shorter than the 256-byte boot2`);
  const view = Buffer.from(flat.buffer, flat.byteOffset, flat.length);
  const stored = view.readUInt32LE(252);
  const computed = crc32Mpeg2(flat.subarray(0, 252));
  if (stored !== computed) fail('boot2-crc', `boot2 CRC 0x${stored.toString(16)} stored, 0x${computed.toString(16)} computed: the bootrom would not boot it`, { stored, computed });
  return stored;
}

/** The initial stack pointer and reset handler from the vector table at 0x10000100. */
export function checkVectors(flat: Uint8Array): { sp: number; reset: number } {
  if (flat.length < BOOT2_BYTES + 8) fail('vectors', 'no vector table after boot2');
  const view = Buffer.from(flat.buffer, flat.byteOffset, flat.length);
  const sp = view.readUInt32LE(BOOT2_BYTES);
  const reset = view.readUInt32LE(BOOT2_BYTES + 4);
  if (sp <= RAM_BASE || sp > RAM_BASE + RAM_BYTES) fail('vectors', `initial SP 0x${sp.toString(16)} is not in SRAM`, { sp });
  const entry = reset & ~1;
  if (!(reset & 1) || entry < RP2040_FLASH_BASE + BOOT2_BYTES || entry >= RP2040_FLASH_BASE + flat.length) {
    fail('vectors', `reset vector 0x${reset.toString(16)} is not a Thumb address inside the image`, { reset });
  }
  return { sp, reset };
}

/** One UF2 block's target and payload. */
export interface Uf2Block {
  address: number;
  data: Buffer;
}

/** Parse a UF2 file (all checks of the UF2 spec the RP2040 bootrom relies on); throws FIRMWARE_IMAGE. */
export function parseUf2(uf2: Buffer, familyId = RP2040_FAMILY_ID): Uf2Block[] {
  if (uf2.length === 0 || uf2.length % UF2_BLOCK !== 0) fail('uf2-size', `${uf2.length} bytes is not a whole number of 512-byte blocks`);
  const count = uf2.length / UF2_BLOCK;
  const blocks: Uf2Block[] = [];
  for (let i = 0; i < count; i++) {
    const b = uf2.subarray(i * UF2_BLOCK, (i + 1) * UF2_BLOCK);
    if (b.readUInt32LE(0) !== UF2_MAGIC0 || b.readUInt32LE(4) !== UF2_MAGIC1 || b.readUInt32LE(508) !== UF2_MAGIC_END) fail('uf2-magic', `block ${i}: bad magic`, { block: i });
    const flags = b.readUInt32LE(8);
    if (!(flags & UF2_FLAG_FAMILY) || b.readUInt32LE(28) !== familyId) fail('uf2-family', `block ${i}: family 0x${b.readUInt32LE(28).toString(16)} (flags 0x${flags.toString(16)}), want 0x${familyId.toString(16)}`, { block: i });
    if (flags & UF2_FLAG_NOT_MAIN_FLASH) fail('uf2-family', `block ${i}: flagged not-main-flash`, { block: i });
    if (b.readUInt32LE(20) !== i || b.readUInt32LE(24) !== count) fail('uf2-sequence', `block ${i}: numbered ${b.readUInt32LE(20)} of ${b.readUInt32LE(24)}, file has ${count}`, { block: i });
    const size = b.readUInt32LE(16);
    // The RP2040 bootrom takes only 256-byte payloads at 256-byte aligned addresses (datasheet 2.8.4.2).
    const address = b.readUInt32LE(12);
    if (size !== 256 || address % 256 !== 0) fail('uf2-payload', `block ${i}: ${size} bytes at 0x${address.toString(16)}; the RP2040 wants 256 at a 256-byte boundary`, { block: i });
    const prev = blocks[i - 1];
    if (prev && address !== prev.address + prev.data.length) fail('uf2-sequence', `block ${i} at 0x${address.toString(16)} does not follow 0x${prev.address.toString(16)}`, { block: i });
    blocks.push({ address, data: Buffer.from(b.subarray(32, 32 + size)) });
  }
  return blocks;
}

/** What {@link checkRp2040Image} measured. */
export interface Rp2040ImageReport {
  flashBytes: number;
  uf2Blocks: number;
  boot2Crc: number;
  resetVector: number;
}

/**
 * All checks of a built image: boot2 CRC, vector table, `flat.length` ≤ `budgetBytes`, and the UF2
 * holding exactly the flat image from 0x10000000 (zero padding after it in the last block).
 */
export function checkRp2040Image(flat: Buffer, uf2: Buffer, budgetBytes: number): Rp2040ImageReport {
  const boot2Crc = checkBoot2(flat);
  const { reset } = checkVectors(flat);
  if (flat.length > budgetBytes) fail('budget', `${flat.length} bytes of flash, over the ${budgetBytes}-byte budget`, { bytes: flat.length, budget: budgetBytes });
  const blocks = parseUf2(uf2);
  if (blocks[0]!.address !== RP2040_FLASH_BASE) fail('uf2-sequence', `first block at 0x${blocks[0]!.address.toString(16)}, not the flash base`);
  const joined = Buffer.concat(blocks.map((b) => b.data));
  const tail = joined.subarray(flat.length);
  if (joined.length < flat.length || !joined.subarray(0, flat.length).equals(flat) || tail.length >= 256 || tail.some((x) => x !== 0)) {
    fail('uf2-content', `the UF2's ${joined.length} bytes are not the ${flat.length}-byte image`);
  }
  return { flashBytes: flat.length, uf2Blocks: blocks.length, boot2Crc, resetVector: reset };
}
